{#- The options of dropdown and list fields, as meta gives them: one row per option. -#}
with fields as (
    {{ ontraport_fields_union() }}
)

select
    fields.account,
    fields.object_id,
    fields.stream,
    fields.field,
    fields.type,
    fields.alias,
    option ->> 'id' as option_id,
    option ->> 'label' as option_label
from fields
cross join lateral unnest(fields.options) as option
where fields.options is not null
