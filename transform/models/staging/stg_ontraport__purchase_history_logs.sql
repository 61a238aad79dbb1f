{{ ontraport_staging('purchase_history_logs') }}
