{#- Contacts with readable custom fields (named from their aliases, with option labels
    beside dropdowns) and the names of their tags. -#}
with tags as (
    select
        account,
        contact_id,
        array_agg(coalesce(tag_name, tag_id::text) order by tag_name, tag_id) as tag_names,
        count(*) as tag_count
    from {{ ref('contact_tags') }}
    group by account, contact_id
)

select
    contacts.*,
    coalesce(tags.tag_names, array[]::text[]) as tag_names,
    coalesce(tags.tag_count, 0) as tag_count
from {{ ref('stg_ontraport__contacts') }} as contacts
left join tags
    on tags.account = contacts.account and tags.contact_id = contacts.id
