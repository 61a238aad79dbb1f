{{ ontraport_staging('tag_subscribers', deleted=true) }}
