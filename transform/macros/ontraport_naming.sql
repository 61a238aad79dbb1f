{#- How a loaded column becomes a staging column.

    * System fields are the same in every account, so their names come from a fixed table,
      var `ontraport_system_columns` (dbt_project.yml: `firstname` -> `first_name`, `dlm` ->
      `date_modified`, `contact_cat` -> `tag_ids`), never from an account's alias text; keys
      not listed keep their name (`email`). Their alias becomes the description.
    * Custom fields (`f1234`) are named from their alias in snake_case (`Membership level` ->
      `membership_level`), and their label columns follow (`membership_level_label`). An
      alias that gives no name keeps the raw key; a name already taken gets `_<raw key>`
      (`owner_f2005`). Fields are named in the order of their key, so adding a field never
      renames an older one.
    * `_sdc_*` columns of target-postgres are not carried (the deleted views keep
      `_sdc_deleted_at` as `deleted_at`).
    * An empty dropdown ("") is null, like its label.
    * price/numeric columns are numeric and timestamp/fulldate ones timestamps (cast when
      the loader made them something else). -#}

{% macro ontraport_snake(text) %}
  {%- set snake = modules.re.sub('[^a-z0-9]+', '_', (text or '') | lower) | trim('_') -%}
  {{ return(snake[:48] | trim('_')) }}
{% endmacro %}


{% macro ontraport_system_name(stream, column, present) %}
  {#- The staging name of a system column: var ontraport_system_columns (the stream's entry,
      else "*"), else the loaded name. A name that is already a loaded column of the table
      is not taken (that column has it), so two columns never meet under one name. -#}
  {%- set table = var('ontraport_system_columns', {}) -%}
  {%- set own = table.get(stream) or {} -%}
  {%- set name = own.get(column) or (table.get('*') or {}).get(column) -%}
  {%- if not name or name in present -%}{{ return(column) }}{%- endif -%}
  {{ return(name) }}
{% endmacro %}


{% macro ontraport_is_custom_column(name) %}
  {{ return(modules.re.fullmatch('f[0-9]+(_labels?)?', name) is not none) }}
{% endmacro %}


{% macro ontraport_custom_name(field, alias, taken) %}
  {%- set name = ontraport_snake(alias) -%}
  {%- if not name -%}
    {%- set name = field -%}
  {%- elif not modules.re.match('[a-z]', name) -%}
    {%- set name = field ~ '_' ~ name -%}
  {%- endif -%}
  {%- if name in taken and name != field -%}
    {%- set name = name ~ '_' ~ field -%}
  {%- endif -%}
  {{ return(name) }}
{% endmacro %}


{% macro ontraport_describe(field, spec, role) %}
  {%- set alias = spec.alias if spec else '' -%}
  {%- set kind = (' Ontraport type ' ~ spec.type) if spec and spec.type else '' -%}
  {%- if role == 'label' -%}
    {{ return('Label of the option chosen in ' ~ (alias or field) ~ ' (' ~ field ~ ').') }}
  {%- elif role == 'labels' -%}
    {{ return('Labels of the options chosen in ' ~ (alias or field) ~ ' (' ~ field ~ ').') }}
  {%- endif -%}
  {{ return((alias ~ ' (' if alias else '') ~ field ~ (',' ~ kind if alias and kind else kind) ~ (')' if alias else '') ~ '.') }}
{% endmacro %}


{% macro ontraport_cast(source, spec, data_type) %}
  {#- (expression, type) of one loaded column in a staging model: money and numbers as
      numeric, dates as timestamps, whatever the loader made of them (target-postgres already
      makes these types: then the column passes as it is; keys stay bigint). -#}
  {%- set kind = spec.type if spec else '' -%}
  {%- if kind in ('price', 'numeric') and data_type not in ('numeric', 'bigint', 'integer', 'smallint') and not data_type.endswith('[]') -%}
    {{ return(['nullif(btrim(' ~ ontraport_ident(source) ~ "::text), '')::numeric", 'numeric']) }}
  {%- elif kind in ('timestamp', 'fulldate') and not data_type.startswith('timestamp') and not data_type.endswith('[]') -%}
    {{ return(['nullif(btrim(' ~ ontraport_ident(source) ~ "::text), '')::timestamp", 'timestamp without time zone']) }}
  {%- elif kind == 'drop' and data_type == 'text' -%}
    {#- An empty dropdown is sent as "": no option chosen, like its (null) label. -#}
    {{ return(['nullif(' ~ ontraport_ident(source) ~ ", '')", 'text']) }}
  {%- endif -%}
  {{ return([ontraport_ident(source), data_type]) }}
{% endmacro %}


{% macro ontraport_part_columns(part) %}
  {#- The staging columns of one part: [{name, source, field, role, expression, type, description}]. -#}
  {#- Names the package adds itself; a loaded column that has one is renamed `ontraport_<name>`. -#}
  {%- set reserved = ['account', 'object_id', 'object_stream', 'deleted_at'] if part.object_id is not none
                     and part.object_id >= 10000 else ['account', 'deleted_at'] -%}
  {%- set taken = ['account', 'object_id', 'object_stream', 'deleted_at'] -%}
  {%- set names = {} -%}
  {%- set present = [] -%}
  {%- set customs = [] -%}
  {%- for column in part.columns -%}
    {%- do present.append(column.name) -%}
    {%- if column.name.startswith('_sdc_') -%}
    {%- elif not ontraport_is_custom_column(column.name) -%}
      {%- set name = ontraport_system_name(part.stream, column.name, part.columns | map(attribute='name') | list) -%}
      {%- set name = 'ontraport_' ~ name if name in reserved else name -%}
      {%- do names.update({column.name: name}) -%}{%- do taken.append(name) -%}
    {%- elif modules.re.fullmatch('f[0-9]+', column.name) -%}
      {%- do customs.append([column.name[1:] | int, column.name]) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- for _, field in customs | sort -%}
    {%- set spec = part.fields.get(field) -%}
    {%- set name = ontraport_custom_name(field, spec.alias if spec else '', taken) -%}
    {%- do names.update({field: name}) -%}{%- do taken.append(name) -%}
    {%- for suffix in ('_label', '_labels') if (field ~ suffix) in present -%}
      {%- set label = name ~ suffix if (name ~ suffix) not in taken else field ~ suffix -%}
      {%- do names.update({field ~ suffix: label}) -%}{%- do taken.append(label) -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- set entries = [] -%}
  {%- for column in part.columns if column.name in names -%}
    {%- set match = modules.re.fullmatch('(.+?)(_labels?)?', column.name) -%}
    {%- set base = match.group(1) if match.group(2) and match.group(1) in present else column.name -%}
    {%- set role = (match.group(2) | trim('_')) if base != column.name else 'value' -%}
    {%- set spec = part.fields.get(base) -%}
    {%- set cast = ontraport_cast(column.name, spec if role == 'value' else none, column.type) -%}
    {%- do entries.append({'name': names[column.name], 'source': column.name, 'field': base, 'role': role,
                           'field_type': spec.type if spec else '', 'alias': spec.alias if spec else '',
                           'expression': cast[0], 'type': cast[1],
                           'description': ontraport_describe(base, spec, role)}) -%}
  {%- endfor -%}
  {{ return(entries) }}
{% endmacro %}


{% macro ontraport_union_plan(parts) %}
  {#- The columns of a model that unions `parts` (accounts, and custom objects), and what
      each part selects for them. A name that two parts give different types is split:
      the later part's column gets `_<raw key>`. -#}
  {%- set columns = [] -%}
  {%- set types = {} -%}
  {%- set selects = [] -%}
  {%- for part in parts -%}
    {%- set chosen = {} -%}
    {%- set entries = [] -%}
    {%- for entry in ontraport_part_columns(part) -%}
      {%- set name = entry.name -%}
      {%- if name in types and types[name] != entry.type -%}{%- set name = name ~ '_' ~ entry.source -%}{%- endif -%}
      {%- if name not in types -%}
        {%- do types.update({name: entry.type}) -%}
        {%- do columns.append({'name': name, 'type': entry.type, 'description': entry.description}) -%}
      {%- endif -%}
      {%- do chosen.update({name: entry.expression}) -%}
      {%- do entries.append({'name': name, 'field': entry.field, 'role': entry.role, 'alias': entry.alias,
                             'field_type': entry.field_type, 'source': entry.source}) -%}
    {%- endfor -%}
    {%- do selects.append({'part': part, 'expressions': chosen, 'entries': entries,
                           'has_deleted_at': '_sdc_deleted_at' in (part.columns | map(attribute='name') | list)}) -%}
  {%- endfor -%}
  {{ return({'columns': columns, 'selects': selects}) }}
{% endmacro %}
