{{ ontraport_staging('purchases', deleted=true) }}
