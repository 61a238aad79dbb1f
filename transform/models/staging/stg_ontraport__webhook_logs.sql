{{ ontraport_staging('webhook_logs') }}
