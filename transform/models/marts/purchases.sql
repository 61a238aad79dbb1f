{#- Purchases with their contact and product. -#}
select
    purchases.account,
    purchases.id as purchase_id,
    purchases.date_added as purchased_at,
    purchases.contact_id,
    contacts.first_name as contact_first_name,
    contacts.last_name as contact_last_name,
    contacts.email as contact_email,
    purchases.product_id,
    coalesce(products.name, purchases.name) as product_name,
    products.price as product_price,
    purchases.quantity,
    purchases.price,
    purchases.discount,
    purchases.total_price,
    purchases.invoice_id as transaction_id,
    purchases.coupon_code
from {{ ref('stg_ontraport__purchases') }} as purchases
left join {{ ref('stg_ontraport__contacts') }} as contacts
    on contacts.account = purchases.account and contacts.id = purchases.contact_id
left join {{ ref('stg_ontraport__products') }} as products
    on products.account = purchases.account and products.id = purchases.product_id
