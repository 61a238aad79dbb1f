{#- List fields (`*/*1*/*2*/*` in Ontraport, text[] once loaded) as one row per record and
    chosen option, for every list field of every standard stream and custom object. -#}

{% macro ontraport_list_field_values() %}
  {%- set streams = var('ontraport_streams') -%}
  {%- set plans = [[ontraport_union_plan(ontraport_parts(streams=streams.keys() | list)), none]] -%}
  {%- do plans.append([ontraport_union_plan(ontraport_parts(custom_objects=true)), 'id']) -%}
  {%- set selects = [] -%}
  {%- for plan, fixed_key in plans -%}{%- for select in plan.selects -%}
    {%- set part = select.part -%}
    {%- set sources = select.entries | map(attribute='source') | list -%}
    {%- for entry in select.entries if entry.role == 'value' and entry.field_type == 'list' -%}
      {%- set labels = entry.source ~ '_labels' -%}
      {%- set key = fixed_key or streams[part.stream] -%}
      {%- do selects.append(
          "select " ~ ontraport_literal(part.account) ~ "::text as account, "
          ~ ontraport_literal(part.stream) ~ "::text as stream, "
          ~ (part.object_id if part.object_id is not none else 'null') ~ "::bigint as object_id, "
          ~ "t." ~ ontraport_ident(key) ~ " as record_id, "
          ~ ontraport_literal(entry.field) ~ "::text as field, "
          ~ ontraport_literal(entry.name) ~ "::text as column_name, "
          ~ "u.option_id, u.option_label from " ~ ontraport_ident(part.account) ~ "." ~ ontraport_ident(part.stream)
          ~ " as t cross join lateral unnest(t." ~ ontraport_ident(entry.source)
          ~ (", t." ~ ontraport_ident(labels) if labels in sources else ", null::text[]")
          ~ ") as u(option_id, option_label)"
          ~ (" where t._sdc_deleted_at is null" if select.has_deleted_at else "")) -%}
    {%- endfor -%}
  {%- endfor -%}{%- endfor -%}
  {%- if not selects -%}
    select null::text as account, null::text as stream, null::bigint as object_id, null::bigint as record_id,
           null::text as field, null::text as column_name, null::text as option_id, null::text as option_label
    where false
  {%- endif -%}
  {{ selects | join('\nunion all\n') }}
{% endmacro %}
