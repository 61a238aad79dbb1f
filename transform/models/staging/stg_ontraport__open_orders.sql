{{ ontraport_staging('open_orders') }}
