{#- Which account schemas the package reads, and SQL literals for names that come from data. -#}

{% macro ontraport_account_schemas() %}
  {#- The schemas the tap loaded, one per account: var `ontraport_schemas` (a list or a
      comma-separated string), else DBT_POSTGRES_ACCOUNT_SCHEMAS, else `ontraport`. -#}
  {%- set configured = var('ontraport_schemas', none) -%}
  {%- if configured is none or configured == '' -%}
    {%- set configured = env_var('DBT_POSTGRES_ACCOUNT_SCHEMAS', 'ontraport') -%}
  {%- endif -%}
  {%- if configured is string -%}
    {%- set configured = configured.split(',') -%}
  {%- endif -%}
  {%- set schemas = [] -%}
  {%- for schema in configured -%}
    {%- set schema = (schema | string) | trim -%}
    {%- if not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_$]{0,62}', schema) -%}
      {{ exceptions.raise_compiler_error(
          "ontraport_schemas: " ~ (schema | tojson) ~ " is not a schema name (letters, digits, _; "
          ~ "e.g. --vars '{ontraport_schemas: [ontraport_acme, ontraport_globex]}')") }}
    {%- endif -%}
    {%- if schema not in schemas -%}{%- do schemas.append(schema) -%}{%- endif -%}
  {%- endfor -%}
  {%- if not schemas -%}
    {{ exceptions.raise_compiler_error("ontraport_schemas is empty: list the schemas the tap loaded, one per account") }}
  {%- endif -%}
  {{ return(schemas) }}
{% endmacro %}


{% macro ontraport_literal(text) -%}
  '{{ (text | string) | replace("'", "''") }}'
{%- endmacro %}


{% macro ontraport_literals(texts) -%}
  {%- for text in texts -%}{{ ontraport_literal(text) }}{{ ", " if not loop.last }}{%- endfor -%}
{%- endmacro %}


{% macro ontraport_ident(name) -%}
  "{{ (name | string) | replace('"', '""') }}"
{%- endmacro %}


{% macro ontraport_warn_missing_schemas() %}
  {#- on-run-start: a listed schema that does not exist contributes no rows; say so once per
      run (a typo, or an account whose first load has not run yet). -#}
  {%- if execute -%}
    {%- set schemas = ontraport_account_schemas() -%}
    {%- set found = run_query("select nspname from pg_catalog.pg_namespace where nspname in ("
                              ~ ontraport_literals(schemas) ~ ")").columns[0].values() -%}
    {%- for schema in schemas if schema not in found -%}
      {%- do exceptions.warn("ontraport_schemas: schema " ~ schema ~ " does not exist: its account contributes "
                             ~ "no rows. Check the name, or that the account's first load ran.") -%}
    {%- endfor -%}
  {%- endif -%}
  select 1
{% endmacro %}
