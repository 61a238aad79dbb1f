{#- Accepted values where meta gives options: every dropdown value of the model is one of its
    field's options in that account (`stg_ontraport__field_options`). Fields whose meta lists
    no options are not checked. The dropdown columns are found from the model's plan. -#}
{% test ontraport_options_accepted(model) %}
{%- set plan = ontraport_model_plan(model.identifier) if execute else none -%}
{%- set checks = [] -%}
{%- if plan is not none -%}
  {%- for column in plan.columns -%}
    {%- set drop_entries = [] -%}
    {%- for select in plan.selects -%}{%- for entry in select.entries if entry.name == column.name and entry.role == 'value' and entry.field_type == 'drop' -%}
      {%- do drop_entries.append(entry) -%}
    {%- endfor -%}{%- endfor -%}
    {%- if drop_entries -%}{%- do checks.append(column.name) -%}{%- endif -%}
  {%- endfor -%}
{%- endif -%}
{%- set custom = model.identifier == 'stg_ontraport__custom_object_records' -%}
with fields as (
    select account, stream, field, model, column_name from {{ ref('stg_ontraport__fields') }}
    where type = 'drop' and model = {{ ontraport_literal(model.identifier) }}
),
options as (
    select account, stream, field, option_id from {{ ref('stg_ontraport__field_options') }}
)
{%- for column in checks %}
{{ "union all" if not loop.first }}
select m.account, {{ ontraport_literal(column) }} as column_name, m.{{ ontraport_ident(column) }}::text as value
from {{ model }} as m
join fields as f
    on f.account = m.account and f.column_name = {{ ontraport_literal(column) }}
    {%- if custom %} and f.stream = m.object_stream{% endif %}
where m.{{ ontraport_ident(column) }} is not null
  and exists (select 1 from options as o where o.account = f.account and o.stream = f.stream and o.field = f.field)
  and not exists (select 1 from options as o where o.account = f.account and o.stream = f.stream
                  and o.field = f.field and o.option_id = m.{{ ontraport_ident(column) }}::text)
{%- endfor %}
{%- if not checks %}
select null::text as account, null::text as column_name, null::text as value where false
{%- endif %}
{% endtest %}
