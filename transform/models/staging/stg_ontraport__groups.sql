{{ ontraport_staging('groups') }}
