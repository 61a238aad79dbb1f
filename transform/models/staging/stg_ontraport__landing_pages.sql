{{ ontraport_staging('landing_pages') }}
