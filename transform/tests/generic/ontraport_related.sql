{#- Every non-null `column_name` points at a row of `to` (its `field`) in the same account:
    relationships, one account at a time (ids repeat across accounts). -#}
{% test ontraport_related(model, column_name, to, field='id') %}
select child.account, child.{{ column_name }} as missing_{{ field }}
from {{ model }} as child
where child.{{ column_name }} is not null
  and not exists (
    select 1 from {{ to }} as parent
    where parent.account = child.account and parent.{{ field }} = child.{{ column_name }}
  )
{% endtest %}
