{{ ontraport_staging('companies', deleted=true) }}
