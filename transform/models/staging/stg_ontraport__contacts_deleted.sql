{{ ontraport_staging('contacts', deleted=true) }}
