{{ ontraport_staging('custom_objects', deleted=true) }}
