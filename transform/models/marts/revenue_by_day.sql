{#- Revenue per account and day (UTC): paid transactions, and refunds, by transaction date. -#}
select
    account,
    transacted_at::date as day,
    count(*) as transactions,
    count(*) filter (where is_paid) as paid_transactions,
    coalesce(sum(total) filter (where is_paid), 0) as revenue,
    count(*) filter (where status in ({{ ontraport_literals(var('ontraport_refunded_statuses')) }})) as refunded_transactions,
    coalesce(sum(total) filter (where status in ({{ ontraport_literals(var('ontraport_refunded_statuses')) }})), 0) as refunded_total
from {{ ref('transactions') }}
where transacted_at is not null
group by account, transacted_at::date
