{#- One row per field of every object of every account, with the staging column it became
    (`column_name`, and `label_column` for dropdowns and lists) and the model that has it. -#}
{%- set columns = ontraport_field_columns() %}
with fields as (
    {{ ontraport_fields_union() }}
),

staging_columns (account, stream, field, role, column_name, model) as (
    {%- if columns %}
    values
    {%- for row in columns %}
        ({{ ontraport_literals([row.account, row.stream, row.field, row.role, row.column_name, row.model]) }})
        {{- "," if not loop.last }}
    {%- endfor %}
    {%- else %}
    select null::text, null::text, null::text, null::text, null::text, null::text where false
    {%- endif %}
)

select
    fields.account,
    fields.object_id,
    fields.object_name,
    fields.stream,
    fields.field,
    nullif(fields.alias, '') as alias,
    fields.type,
    fields.json_type,
    fields.parent_object,
    fields.in_meta,
    value_column.model,
    value_column.column_name,
    label_column.column_name as label_column
from fields
left join staging_columns as value_column
    on value_column.account = fields.account and value_column.stream = fields.stream
    and value_column.field = fields.field and value_column.role = 'value'
left join staging_columns as label_column
    on label_column.account = fields.account and label_column.stream = fields.stream
    and label_column.field = fields.field and label_column.role in ('label', 'labels')
