{{ ontraport_staging('offers', deleted=true) }}
