{{ ontraport_staging('open_orders', deleted=true) }}
