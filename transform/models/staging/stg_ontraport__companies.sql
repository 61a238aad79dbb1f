{{ ontraport_staging('companies') }}
