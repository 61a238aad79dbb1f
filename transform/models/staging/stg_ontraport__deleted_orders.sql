{{ ontraport_staging('deleted_orders') }}
