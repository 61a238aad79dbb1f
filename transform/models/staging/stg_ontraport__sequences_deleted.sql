{{ ontraport_staging('sequences', deleted=true) }}
