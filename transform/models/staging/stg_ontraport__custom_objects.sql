{{ ontraport_staging('custom_objects') }}
