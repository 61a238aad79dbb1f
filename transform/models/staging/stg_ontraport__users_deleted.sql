{{ ontraport_staging('users', deleted=true) }}
