{{ ontraport_staging('notes', deleted=true) }}
