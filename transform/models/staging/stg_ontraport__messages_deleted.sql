{{ ontraport_staging('messages', deleted=true) }}
