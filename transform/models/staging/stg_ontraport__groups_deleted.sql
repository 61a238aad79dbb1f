{{ ontraport_staging('groups', deleted=true) }}
