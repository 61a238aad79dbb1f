{{ ontraport_staging('coupons') }}
