{{ ontraport_custom_object_records(deleted=true) }}
