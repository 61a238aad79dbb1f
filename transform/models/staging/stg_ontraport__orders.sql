{{ ontraport_staging('orders') }}
