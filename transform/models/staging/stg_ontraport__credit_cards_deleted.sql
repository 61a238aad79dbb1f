{{ ontraport_staging('credit_cards', deleted=true) }}
