{{ ontraport_staging('deleted_orders', deleted=true) }}
