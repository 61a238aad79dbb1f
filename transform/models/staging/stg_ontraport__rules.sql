{{ ontraport_staging('rules') }}
