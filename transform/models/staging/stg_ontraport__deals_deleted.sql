{{ ontraport_staging('deals', deleted=true) }}
