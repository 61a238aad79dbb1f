{{ ontraport_staging('products', deleted=true) }}
