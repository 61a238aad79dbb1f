{{ ontraport_staging('transactions', deleted=true) }}
