{{ ontraport_staging('sequences') }}
