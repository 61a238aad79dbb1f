{{ ontraport_staging('tasks', deleted=true) }}
