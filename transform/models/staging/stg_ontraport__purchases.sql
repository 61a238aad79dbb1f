{{ ontraport_staging('purchases') }}
