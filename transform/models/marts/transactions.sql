{#- Transactions (invoices) with their contact and the products bought in them. -#}
with products as (
    select
        account,
        transaction_id,
        array_agg(product_name order by purchase_id) filter (where product_name is not null) as product_names,
        count(*) as purchase_count
    from {{ ref('purchases') }}
    where transaction_id is not null
    group by account, transaction_id
)

select
    transactions.account,
    transactions.id as transaction_id,
    transactions.date_created as transacted_at,
    transactions.status,  -- an option id: Transactions' meta gives no options, so no label
    transactions.status in ({{ ontraport_literals(var('ontraport_paid_statuses')) }}) as is_paid,
    transactions.contact_id,
    coalesce(contacts.first_name || ' ' || contacts.last_name, transactions.contact_name) as contact_name,
    contacts.email as contact_email,
    transactions.currency,
    transactions.subtotal,
    transactions.tax,
    transactions.shipping,
    transactions.total,
    transactions.total_paid,
    coalesce(products.product_names, array[]::text[]) as product_names,
    coalesce(products.purchase_count, 0) as purchase_count
from {{ ref('stg_ontraport__transactions') }} as transactions
left join {{ ref('stg_ontraport__contacts') }} as contacts
    on contacts.account = transactions.account and contacts.id = transactions.contact_id
left join products
    on products.account = transactions.account and products.transaction_id = transactions.id
