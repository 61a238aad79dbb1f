{{ ontraport_staging('users') }}
