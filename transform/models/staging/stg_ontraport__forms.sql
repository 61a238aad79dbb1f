{{ ontraport_staging('forms') }}
