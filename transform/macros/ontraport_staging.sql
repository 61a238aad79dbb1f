{#- The SQL of the staging models: one union over the account schemas (and, for custom
    objects, over the objects), every row tagged with its `account`. Rows the tap marked
    deleted (`_sdc_deleted_at`) are left out; the `_deleted` views hold exactly those. -#}

{% macro ontraport_stream_key(stream) %}
  {%- set streams = var('ontraport_streams') -%}
  {%- if stream not in streams -%}
    {{ exceptions.raise_compiler_error("stream '" ~ stream ~ "' is not in var ontraport_streams (dbt_project.yml)") }}
  {%- endif -%}
  {{ return(streams[stream]) }}
{% endmacro %}


{% macro ontraport_staging(stream, deleted=false) %}
  {%- set plan = ontraport_union_plan(ontraport_parts(streams=[stream])) -%}
  {{ ontraport_union_sql(plan, ontraport_stream_key(stream), deleted=deleted, custom_objects=false) }}
{% endmacro %}


{% macro ontraport_custom_object_records(deleted=false) %}
  {%- set plan = ontraport_union_plan(ontraport_parts(custom_objects=true)) -%}
  {{ ontraport_union_sql(plan, 'id', deleted=deleted, custom_objects=true) }}
{% endmacro %}


{% macro ontraport_union_sql(plan, key, deleted, custom_objects) %}
  {%- if not plan.selects -%}
    {#- Nothing loaded yet (or the key may not read this object): an empty, typed view. -#}
    select null::text as account,
    {%- if custom_objects %} null::bigint as object_id, null::text as object_stream,{% endif %}
    null::bigint as {{ ontraport_ident(key) }}
    {%- if deleted %}, null::timestamp as deleted_at{% endif %}
    where false
  {%- endif -%}
  {%- for select in plan.selects %}
    {%- set part = select.part %}
    select
      {{ ontraport_literal(part.account) }}::text as account,
      {%- if custom_objects %}
      {{ part.object_id }}::bigint as object_id,
      {{ ontraport_literal(part.stream) }}::text as object_stream,
      {%- endif %}
      {%- for column in plan.columns %}
      {{ select.expressions.get(column.name, 'null::' ~ column.type) }} as {{ ontraport_ident(column.name) }}
      {{- "," if deleted or not loop.last }}
      {%- endfor %}
      {%- if deleted %}
      {{ '_sdc_deleted_at' if select.has_deleted_at else 'null::timestamp' }} as deleted_at
      {%- endif %}
    from {{ ontraport_ident(part.account) }}.{{ ontraport_ident(part.stream) }}
    {%- if select.has_deleted_at %}
    where _sdc_deleted_at is {{ 'not null' if deleted else 'null' }}
    {%- elif deleted %}
    where false
    {%- endif %}
    {% if not loop.last %}union all{% endif %}
  {%- endfor %}
{% endmacro %}
