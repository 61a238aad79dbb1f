{{ ontraport_staging('commissions') }}
