{{ ontraport_staging('tasks') }}
