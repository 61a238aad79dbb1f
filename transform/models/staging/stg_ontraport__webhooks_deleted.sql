{{ ontraport_staging('webhooks', deleted=true) }}
