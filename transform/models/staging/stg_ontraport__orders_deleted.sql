{{ ontraport_staging('orders', deleted=true) }}
