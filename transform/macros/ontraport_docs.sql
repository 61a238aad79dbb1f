{#- Descriptions from the field aliases. Staging columns are known only when a model
    compiles, so they are not listed in YAML: a post-hook writes them as column comments,
    which `dbt docs generate` reads into the catalog. The same plan feeds
    `stg_ontraport__fields` (which column each field became). -#}

{% macro ontraport_model_plan(model_name) %}
  {#- The plan of a staging model, from its name; none for models that are not unions of a stream. -#}
  {%- set match = modules.re.fullmatch('stg_ontraport__(.+?)(_deleted)?', model_name) -%}
  {%- if not match -%}{{ return(none) }}{%- endif -%}
  {%- set stream = match.group(1) -%}
  {%- if stream == 'custom_object_records' -%}
    {{ return(ontraport_union_plan(ontraport_parts(custom_objects=true))) }}
  {%- elif stream in var('ontraport_streams') -%}
    {{ return(ontraport_union_plan(ontraport_parts(streams=[stream]))) }}
  {%- endif -%}
  {{ return(none) }}
{% endmacro %}


{% macro ontraport_comment_columns() %}
  {%- if not execute -%}{{ return('') }}{%- endif -%}
  {%- set plan = ontraport_model_plan(this.identifier) -%}
  {%- if plan is none -%}{{ return('') }}{%- endif -%}
  {%- set statements = ["comment on column " ~ this ~ ".account is 'The account it came from: the schema the tap loaded it into.'"] -%}
  {%- for column in plan.columns -%}
    {%- do statements.append("comment on column " ~ this ~ "." ~ ontraport_ident(column.name) ~ " is "
                             ~ ontraport_literal(column.description)) -%}
  {%- endfor -%}
  {{ return(statements | join(';\n')) }}
{% endmacro %}


{% macro ontraport_field_columns() %}
  {#- [{account, stream, field, role, column_name, model}] for every staging model. -#}
  {%- set rows = [] -%}
  {%- if not execute -%}{{ return(rows) }}{%- endif -%}
  {%- set by_stream = {} -%}
  {%- for part in ontraport_parts(streams=var('ontraport_streams').keys() | list) -%}
    {%- if part.stream not in by_stream -%}{%- do by_stream.update({part.stream: []}) -%}{%- endif -%}
    {%- do by_stream[part.stream].append(part) -%}
  {%- endfor -%}
  {%- set plans = [] -%}
  {%- for stream, parts in by_stream.items() -%}
    {%- do plans.append(['stg_ontraport__' ~ stream, ontraport_union_plan(parts)]) -%}
  {%- endfor -%}
  {%- do plans.append(['stg_ontraport__custom_object_records', ontraport_union_plan(ontraport_parts(custom_objects=true))]) -%}
  {%- for model, plan in plans -%}
    {%- for select in plan.selects -%}{%- for entry in select.entries -%}
      {%- do rows.append({'account': select.part.account, 'stream': select.part.stream, 'field': entry.field,
                          'role': entry.role, 'column_name': entry.name, 'model': model}) -%}
    {%- endfor -%}{%- endfor -%}
  {%- endfor -%}
  {{ return(rows) }}
{% endmacro %}


{% macro ontraport_fields_union() %}
  {#- Every account's `fields` table, with its `account`. -#}
  {%- set loaded = ontraport_columns(['fields']) -%}
  {%- set schemas = [] -%}
  {%- for schema in ontraport_account_schemas() if (schema ~ '.fields') in loaded -%}{%- do schemas.append(schema) -%}{%- endfor -%}
  {%- if not schemas -%}
    select null::text as account, null::bigint as object_id, null::text as object_name, null::text as stream,
           null::text as field, null::text as alias, null::text as type, null::text as json_type,
           null::jsonb[] as options, null::bigint as parent_object, null::boolean as in_meta
    where false
  {%- endif -%}
  {%- for schema in schemas %}
    select {{ ontraport_literal(schema) }}::text as account, object_id, object_name, stream, field, alias,
           type, json_type, options, parent_object, in_meta
    from {{ ontraport_ident(schema) }}.fields
    {% if not loop.last %}union all{% endif %}
  {%- endfor %}
{% endmacro %}
