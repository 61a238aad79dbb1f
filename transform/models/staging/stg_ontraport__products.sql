{{ ontraport_staging('products') }}
