{{ ontraport_staging('offers') }}
