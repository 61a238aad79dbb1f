{#- Bridge of every list field: one row per record and chosen option, with its label. -#}
{{ ontraport_list_field_values() }}
