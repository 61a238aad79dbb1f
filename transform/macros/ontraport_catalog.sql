{#- What the warehouse holds, read when a model compiles (run_query): the columns of the
    loaded tables, and each account's `fields` table. Both are the account's own facts, so
    one package serves every account without editing SQL. -#}

{% macro ontraport_columns(tables) %}
  {#- {"schema.table": [{name, type}]} for the given tables in every account schema, in
      column order; `type` as PostgreSQL spells it (format_type: text[], numeric, ...). -#}
  {%- set found = {} -%}
  {%- if not execute or not tables -%}{{ return(found) }}{%- endif -%}
  {%- set sql -%}
    select n.nspname as schema_name, c.relname as table_name, a.attname as column_name,
           format_type(a.atttypid, a.atttypmod) as data_type
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_class c on c.oid = a.attrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ({{ ontraport_literals(ontraport_account_schemas()) }})
      and c.relname in ({{ ontraport_literals(tables) }})
      and c.relkind in ('r', 'p', 'v', 'm', 'f')
      and a.attnum > 0 and not a.attisdropped
    order by n.nspname, c.relname, a.attnum
  {%- endset -%}
  {%- for row in run_query(sql) -%}
    {%- set key = row['schema_name'] ~ '.' ~ row['table_name'] -%}
    {%- if key not in found -%}{%- do found.update({key: []}) -%}{%- endif -%}
    {%- do found[key].append({'name': row['column_name'], 'type': row['data_type']}) -%}
  {%- endfor -%}
  {{ return(found) }}
{% endmacro %}


{% macro ontraport_field_rows(where) %}
  {#- Rows of every account's `fields` table matching `where`:
      [{account, object_id, stream, field, alias, type}]. -#}
  {%- set rows = [] -%}
  {%- if not execute -%}{{ return(rows) }}{%- endif -%}
  {%- set loaded = ontraport_columns(['fields']) -%}
  {%- set selects = [] -%}
  {%- for schema in ontraport_account_schemas() if (schema ~ '.fields') in loaded -%}
    {%- do selects.append(
        "select " ~ ontraport_literal(schema) ~ " as account, object_id, stream, field, "
        ~ "coalesce(alias, '') as alias, coalesce(type, '') as type from "
        ~ ontraport_ident(schema) ~ ".fields where " ~ where) -%}
  {%- endfor -%}
  {%- if not selects -%}{{ return(rows) }}{%- endif -%}
  {%- for row in run_query(selects | join(' union all ') ~ ' order by account, object_id, field') -%}
    {%- do rows.append({'account': row['account'], 'object_id': row['object_id'], 'stream': row['stream'],
                        'field': row['field'], 'alias': row['alias'], 'type': row['type']}) -%}
  {%- endfor -%}
  {{ return(rows) }}
{% endmacro %}


{% macro ontraport_parts(streams=none, custom_objects=false) %}
  {#- One "part" per account and loaded table: what a staging model unions. Either the
      standard `streams`, or (custom_objects) every object with object_id >= 10000 that an
      account's `fields` table lists, whatever its name. -#}
  {%- if custom_objects -%}
    {%- set field_rows = ontraport_field_rows('object_id >= 10000') -%}
  {%- else -%}
    {%- set field_rows = ontraport_field_rows('stream in (' ~ ontraport_literals(streams) ~ ')') -%}
  {%- endif -%}
  {%- set wanted = [] -%}
  {%- set fields_by_table = {} -%}
  {%- for row in field_rows -%}
    {%- set key = row.account ~ '.' ~ row.stream -%}
    {%- if key not in fields_by_table -%}
      {%- do fields_by_table.update({key: {}}) -%}
      {%- do wanted.append({'account': row.account, 'stream': row.stream, 'object_id': row.object_id}) -%}
    {%- endif -%}
    {%- do fields_by_table[key].update({row.field: row}) -%}
  {%- endfor -%}
  {%- if not custom_objects -%}
    {#- A standard table loaded without a `fields` table (or before it) still counts. -#}
    {%- for schema in ontraport_account_schemas() -%}{%- for stream in streams -%}
      {%- if (schema ~ '.' ~ stream) not in fields_by_table -%}
        {%- do fields_by_table.update({schema ~ '.' ~ stream: {}}) -%}
        {%- do wanted.append({'account': schema, 'stream': stream, 'object_id': none}) -%}
      {%- endif -%}
    {%- endfor -%}{%- endfor -%}
  {%- endif -%}
  {%- set streams_wanted = [] -%}
  {%- for part in wanted if part.stream not in streams_wanted -%}{%- do streams_wanted.append(part.stream) -%}{%- endfor -%}
  {%- set columns = ontraport_columns(streams_wanted) -%}
  {%- set parts = [] -%}
  {%- for part in wanted | sort(attribute='account') -%}
    {%- set key = part.account ~ '.' ~ part.stream -%}
    {%- if key in columns -%}
      {%- do parts.append({'account': part.account, 'stream': part.stream, 'object_id': part.object_id,
                           'columns': columns[key], 'fields': fields_by_table[key]}) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(parts) }}
{% endmacro %}
