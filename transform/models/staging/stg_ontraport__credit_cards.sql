{{ ontraport_staging('credit_cards') }}
