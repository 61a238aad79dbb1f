{{ ontraport_staging('webhooks') }}
