{{ ontraport_staging('contacts') }}
