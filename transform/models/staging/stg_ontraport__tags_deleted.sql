{{ ontraport_staging('tags', deleted=true) }}
