{{ ontraport_staging('tags') }}
