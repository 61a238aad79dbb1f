{{ ontraport_staging('coupons', deleted=true) }}
