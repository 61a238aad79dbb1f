{{ ontraport_staging('rules', deleted=true) }}
