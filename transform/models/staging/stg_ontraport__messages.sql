{{ ontraport_staging('messages') }}
