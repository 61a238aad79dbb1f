{{ ontraport_staging('notes') }}
