-- Accepted values of list fields: every chosen option of a list field is one of the options
-- meta gives for it in that account (fields whose meta lists no options are not checked).
with options as (
    select account, stream, field, option_id from {{ ref('stg_ontraport__field_options') }}
)

select values_.account, values_.stream, values_.field, values_.option_id
from {{ ref('list_field_values') }} as values_
where exists (select 1 from options as o
              where o.account = values_.account and o.stream = values_.stream and o.field = values_.field)
  and not exists (select 1 from options as o
                  where o.account = values_.account and o.stream = values_.stream and o.field = values_.field
                    and o.option_id = values_.option_id)
