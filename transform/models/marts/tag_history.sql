{#- Tags added and removed, with when: from the `webhook_events` table the tap loads from the
    webhook receiver's store (`sub_tag` and `unsub_tag` deliveries). Polling sees only the tags a
    record has now; this is their history. An account without that table (no `webhook_store`
    setting) contributes no rows, and with none of them the model is an empty table. -#}
{%- set loaded = [] -%}
{%- if execute -%}
  {%- for schema in ontraport_account_schemas() -%}
    {%- set relation = adapter.get_relation(database=target.database, schema=schema, identifier='webhook_events') -%}
    {%- if relation is not none -%}{%- do loaded.append((schema, relation)) -%}{%- endif -%}
  {%- endfor -%}
{%- endif -%}

with tag_events as (
{%- for schema, relation in loaded %}
    select
        {{ ontraport_literal(schema) }}::text as account,
        seq::bigint as seq,
        event_type::text as event_type,
        object_type_id::bigint as object_type_id,
        record_id::bigint as record_id,
        tag_id::bigint as tag_id,
        event_timestamp::timestamptz as happened_at,
        received_at::timestamptz as received_at
    from {{ relation }}
    where event_type in ('sub_tag', 'unsub_tag') and tag_id is not null and record_id is not null
    {% if not loop.last %}union all{% endif %}
{%- else %}
    select
        null::text as account, null::bigint as seq, null::text as event_type, null::bigint as object_type_id,
        null::bigint as record_id, null::bigint as tag_id, null::timestamptz as happened_at,
        null::timestamptz as received_at
    where false
{%- endfor %}
)

select
    tag_events.account,
    tag_events.object_type_id,
    tag_events.record_id,
    tag_events.tag_id,
    tags.tag_name,
    case when tag_events.event_type = 'sub_tag' then 'added' else 'removed' end as action,
    -- Ontraport's own time of the event; the receiver's when a delivery carried none
    coalesce(tag_events.happened_at, tag_events.received_at) as happened_at,
    tag_events.received_at,
    tag_events.seq
from tag_events
left join {{ ref('stg_ontraport__tags') }} as tags
    on tags.account = tag_events.account and tags.id = tag_events.tag_id
