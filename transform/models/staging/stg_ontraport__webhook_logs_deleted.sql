{{ ontraport_staging('webhook_logs', deleted=true) }}
