{#- No two rows share these columns (a key within an account: account + id). -#}
{% test ontraport_unique_key(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_this_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
