{#- One row per contact and tag, with the tag's name. From the contacts' `tag_ids` (the
    API's `contact_cat`: the tag ids on a contact, `*/*3*/*14*/*`): every account has it, whereas the Tag
    Subscribers object (138) is documented only recently and not readable everywhere. -#}
with tagged as (
    select distinct
        contacts.account,
        contacts.id as contact_id,
        tag.tag_id
    from {{ ref('stg_ontraport__contacts') }} as contacts
    cross join lateral unnest(contacts.tag_ids) as tag(tag_id)
    where tag.tag_id is not null
)

select
    tagged.account,
    tagged.contact_id,
    tagged.tag_id,
    tags.tag_name
from tagged
left join {{ ref('stg_ontraport__tags') }} as tags
    on tags.account = tagged.account and tags.id = tagged.tag_id
