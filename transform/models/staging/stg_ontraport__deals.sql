{{ ontraport_staging('deals') }}
