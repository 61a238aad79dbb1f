{{ ontraport_staging('forms', deleted=true) }}
