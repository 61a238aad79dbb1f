{{ ontraport_staging('transactions') }}
