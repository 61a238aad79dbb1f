{{ ontraport_staging('tag_subscribers') }}
