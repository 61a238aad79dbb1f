{{ ontraport_staging('landing_pages', deleted=true) }}
