{{ ontraport_staging('commissions', deleted=true) }}
