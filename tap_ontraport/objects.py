"""What we know about Ontraport's object types, as data.

One row per object type: its objectID, the name `/objects/meta` gives it, the stream name
we publish it under, its named endpoints, its key and the fields the API reference
documents for it (with their Ontraport field types). Adding an object is adding a row.

The account's own `/objects/meta` stays the authority: it decides which objects exist and
types every field it lists. The documented fields below fill the gaps where meta lists
fewer fields than the records carry (Transactions' meta, for one, lists only `date`).

Sources: ../shared/reference/ontraport-api.md, sections 3.2 and 3.3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tap_ontraport.fields import KNOWN_TEXT_TYPES, SCHEMA_BY_TYPE

#: Custom object types get objectIDs from 10000 up, different in every account.
FIRST_CUSTOM_OBJECT_ID = 10000


#: The Ontraport field types a row may name: those fields.py maps to a column type. A
#: misspelt type ("timstamp") fails at import instead of quietly becoming text.
FIELD_TYPES = frozenset(SCHEMA_BY_TYPE) | KNOWN_TEXT_TYPES


def _fields(spec: str) -> dict[str, str]:
    """Parse 'name:type name2 name3:type' into {name: ontraport_type}; bare names are text."""
    parsed: dict[str, str] = {}
    for token in spec.split():
        name, _, ontraport_type = token.partition(":")
        ontraport_type = ontraport_type or "text"
        if ontraport_type not in FIELD_TYPES:
            raise ValueError(f"field {name!r}: unknown Ontraport field type {ontraport_type!r} "
                             f"(known: {', '.join(sorted(FIELD_TYPES))})")
        parsed[name] = ontraport_type
    return parsed


@dataclass(frozen=True, kw_only=True)
class ObjectType:
    """The facts about one Ontraport object type."""

    object_id: int
    meta_name: str  # the "name" /objects/meta gives it
    stream_name: str  # the Singer stream we publish it as
    plural: str | None  # named collection endpoint, e.g. "Contacts"; None: use /objects
    singular: str | None  # named single-record endpoint, e.g. "Contact"
    primary_key: str = "id"
    documented_fields: dict[str, str] = field(default_factory=dict)
    notes: str = ""
    # Records are only ever added and removed, never edited, and new ones get keys above
    # the old: without a `dlm`, a run reads only keys above the highest seen and finds
    # removals by counting key ranges (deletions.py) instead of reading everything again.
    append_only: bool = False

    @property
    def collection_path(self) -> str:
        """Path of the collection endpoint (named when known, generic otherwise)."""
        return f"/{self.plural}" if self.plural else "/objects"

    @property
    def needs_object_id_param(self) -> bool:
        """The generic endpoints take `objectID`; the named ones must not."""
        return self.plural is None


# Fields most records carry; `dlm` is what incremental replication keys on.
_DATES = "date:timestamp dlm:timestamp"

# fmt: off
KNOWN_OBJECTS: tuple[ObjectType, ...] = (
    ObjectType(object_id=0, meta_name="Contact", stream_name="contacts", plural="Contacts", singular="Contact", documented_fields=_fields(
        "unique_id owner:parent firstname lastname email:email address address2 city"
        " state:state zip country:country birthday:fulldate priority:numeric status:drop"
        " home_phone:phone sms_number:sms office_phone:phone fax:phone company title"
        " website:url freferrer:parent lreferrer:parent n_lead_source:parent n_content:parent"
        " n_medium:parent n_campaign:parent n_term:parent n_media:parent l_lead_source:parent"
        " l_content:parent l_medium:parent l_campaign:parent l_term:parent referral_page:url"
        " aff_sales:numeric aff_amount:price program_id:parent aff_paypal:email fb_gender"
        " mrcAmount:price mrcUnpaid:price mriInvoiceNum:numeric mriInvoiceTotal:price"
        " ccType ccExpirationMonth:numeric ccExpirationYear:numeric ccExpirationDate:fulldate"
        " ccNumber mrcResult last_inbound_sms timezone spent:price grade:numeric"
        " num_purchased:numeric time_since_dla:numeric facebook_link:url twitter_link:url"
        " instagram_link:url linkedin_link:url profile_image:url unpaid_invoices:check"
        " has_membership:check emailHash " + _DATES + " dla:timestamp system_source"
        " source_location ip_addy ip_addy_display import_id:numeric bulk_mail:drop"
        " bulk_sms:drop contact_cat:subscription updateSequence:subscription"
        " updateCampaign:subscription bindex:numeric gclid gcid gsid gsn fbc fbp li_fat_id"
        " user_agent visit:numeric last_currency_used lead:numeric owed:price refund:price"
        " refundtotal:price commish:price")),
    ObjectType(object_id=1, meta_name="Task", stream_name="tasks", plural="Tasks", singular="Task", documented_fields=_fields(
        "owner:parent drip_id:parent contact_id:parent step_num:numeric subject"
        " date_assigned:timestamp date_due:timestamp date_complete:timestamp status:drop"
        " type:numeric details:longtext hidden:check call_outcome_id:parent item_id:parent"
        " notifications rules object_type_id:numeric object_name"),
        notes="Public sources disagree on its dlm: one record read at discovery decides. Its dates"
              " (assigned, due, complete) don't move on an edit: without dlm, read in full every run."),
    ObjectType(object_id=2, meta_name="User", stream_name="users", plural="Users", singular="User"),
    ObjectType(object_id=3, meta_name="Group", stream_name="groups", plural="Groups", singular="Group", notes="Saved contact filters."),
    ObjectType(object_id=5, meta_name="Sequence", stream_name="sequences", plural=None, singular=None,
               notes="No named endpoint is documented; read through /objects?objectID=5."),
    ObjectType(object_id=6, meta_name="Rule", stream_name="rules", plural="Rules", singular="Rule", documented_fields=_fields(
        "drip_id:parent events:longtext conditions:longtext actions:longtext name"
        " pause:drop last_action:timestamp object_type_id:numeric " + _DATES)),
    ObjectType(object_id=7, meta_name="Message", stream_name="messages", plural="Messages", singular="Message", documented_fields=_fields(
        "alias type subject " + _DATES + " last_save:timestamp last_auto:timestamp"
        " autosave:longtext date_last_published:timestamp is_published:check mcsent:numeric"
        " mcopened:numeric mcclicked:numeric mcnotopened:numeric mcnotclicked:numeric"
        " mcabuse:numeric mcunsub:numeric spam_score:numeric object_type_id:numeric"
        " owner:parent from send_out_name reply_to_email:email send_to site_id:parent"
        " message_body:longtext json_data:longtext plaintext:longtext width:numeric"
        " word_wrap_checkbox:check attach_ics:check old_resource:longtext")),
    ObjectType(object_id=12, meta_name="Note", stream_name="notes", plural="Notes", singular="Note"),
    ObjectType(object_id=14, meta_name="Tag", stream_name="tags", plural="Tags", singular="Tag"),
    ObjectType(object_id=16, meta_name="Product", stream_name="products", plural="Products", singular="Product", documented_fields=_fields(
        "name price:price " + _DATES + " deleted:check description:longtext"
        " external_id product_group:parent sku taxable:check total_income:price"
        " total_purchases:numeric internal_name product_code stripe_product_code")),
    ObjectType(object_id=17, meta_name="Purchase", stream_name="purchases", plural="Purchases", singular="Purchase", documented_fields=_fields(
        "contact_id:parent affiliate_id:parent product_id:parent owner:parent"
        " package_id:parent invoice_id:parent subscription_id:parent order_id:parent"
        " oprid:parent description:longtext " + _DATES + " price:price name quantity:numeric"
        " coupon_id:parent coupon_code_id:parent discount:price type:numeric status:numeric"
        " level1:price level2:price total_price:price affiliate coupon_name coupon_code")),
    ObjectType(object_id=20, meta_name="LandingPage", stream_name="landing_pages", plural="LandingPages", singular="LandingPage",
               documented_fields=_fields(
        "uri_id:parent resource:longtext design_type:numeric name rotation:numeric"
        " last_save:timestamp last_auto:timestamp autosave:longtext domain ssl_enabled:check "
        + _DATES + " seo_settings:longtext")),
    # An audit log: an entry is written once per purchase event and never changed.
    ObjectType(object_id=30, meta_name="PurchaseHistoryLog", stream_name="purchase_history_logs", plural="PurchaseHistoryLogs", singular="PurchaseHistoryLog", notes="Audit log of purchases.", append_only=True),
    ObjectType(object_id=38, meta_name="Commission", stream_name="commissions", plural="Commissions", singular="Commission"),
    ObjectType(object_id=44, meta_name="OpenOrder", stream_name="open_orders", plural="OpenOrders", singular="OpenOrder",
               notes="Active subscriptions and payment plans."),
    ObjectType(object_id=45, meta_name="CreditCard", stream_name="credit_cards", plural="CreditCards", singular="CreditCard",
               notes="No modification date documented (recent_sale is the card's last sale), and a"
                     " card is edited in place: without dlm, read in full every run.",
               documented_fields=_fields(
        "firstname lastname contact_id:parent last4 type:drop exp_month:numeric"
        " exp_year:numeric address address2 city state:state zip country:country status:drop"
        " recent_sale:timestamp invoice_id:parent")),
    ObjectType(object_id=46, meta_name="Invoice", stream_name="transactions", plural="Transactions", singular="Transaction",
               documented_fields=_fields(
        "hidden:check status:drop contact_id:parent contact_name order_id:parent"
        " form_id:parent lp_id:parent cc_id:parent gateway_id:parent " + _DATES +
        " template_id:parent subtotal:price tax:price tax_city:price tax_state:price"
        " tax_county:price shipping:price total:price total_paid:price balance:price zip city"
        " state:state county external_order_id oprid:parent offer_data:longtext"
        " last_recharge_date:timestamp recharge_attempts:numeric recharge:check owner:parent"
        " type:numeric currency invoice_date:timestamp due_date:timestamp"
        " closed_date:timestamp has_refunded:check orig_trans_amount:price"
        " customer_note:longtext internal_note:longtext unique_id bindex:numeric"
        " stripe_tax_calculation_id stripe_tax_transaction_id"),
        notes='Meta calls it "Invoice" and lists only a few of its fields; sources disagree on its dlm.'),
    ObjectType(object_id=52, meta_name="Order", stream_name="orders", plural="Orders", singular="Order"),
    ObjectType(object_id=65, meta_name="Offer", stream_name="offers", plural="Offers", singular="Offer", documented_fields=_fields(
        "owner:parent name public:check data:longtext referenced:numeric")),
    ObjectType(object_id=99, meta_name="CustomObject", stream_name="custom_objects", plural="CustomObjects", singular="CustomObject",
               documented_fields=_fields(
        "name date_created:timestamp table key external_key primary_nav:check"
        " singular plural possessive plural_possessive icon theme deletable:check"
        " object_label"),
        notes="The definitions of the account's custom object types."),
    ObjectType(object_id=122, meta_name="SmartFormFE", stream_name="forms", plural="Forms", singular="Form", primary_key="form_id",
               documented_fields=_fields(
        "formname type:drop tags:longtext sequences:longtext"
        " campaigns:longtext redirect:url owner:parent captcha:check notif fillouts:numeric"
        " unique_fillouts:numeric visits:numeric unique_visits:numeric revenue:price"
        " unique_convert:numeric json_raw_object:longtext deleted:check"
        " object_type_id:numeric responsive:check " + _DATES),
        notes="Keyed by form_id, not id."),
    ObjectType(object_id=123, meta_name="Coupon", stream_name="coupons", plural="Coupons", singular="Coupon", documented_fields=_fields(
        "date:timestamp valid_start_date:timestamp valid_end_date:timestamp")),
    # One row per (record, tag): tagging adds a row, untagging removes it, nothing edits one.
    ObjectType(object_id=138, meta_name="TagSubscriber", stream_name="tag_subscribers", plural="TagSubscribers", singular="TagSubscriber",
               notes="Joins contacts (and custom objects) to tags.", append_only=True),
    ObjectType(object_id=140, meta_name="CampaignBuilder", stream_name="campaign_builder_items", plural="CampaignBuilderItems", singular="CampaignBuilderItem", documented_fields=_fields(
        "name state:drop " + _DATES + " subs:numeric subs_ever:numeric"
        " element_num:numeric todos:numeric object_type_id:numeric pause:check"
        " deleted:check")),
    ObjectType(object_id=145, meta_name="Webhook", stream_name="webhooks", plural="Webhooks", singular="Webhook", documented_fields=_fields(
        "event data:longtext url:url last_hook:timestamp last_code:numeric"
        " last_payload:longtext owner:parent")),
    ObjectType(object_id=146, meta_name="DeletedOrder", stream_name="deleted_orders", plural="DeletedOrders", singular="DeletedOrder",
               notes='Deleted orders and open orders; meta may call it "Order".'),
    ObjectType(object_id=149, meta_name="Deal", stream_name="deals", plural="Deals", singular="Deal", documented_fields=_fields(
        "owner:parent name value:price " + _DATES + " dla:timestamp"
        " expected_close_date:fulldate expected_win_percent:numeric calc:price"
        " primary_contact:parent company:parent weighted_value:price sales_stage:drop"
        " actual_close_date:fulldate expected_close_timeframe:drop deal_size:drop"
        " recent_activity:timestamp")),
    ObjectType(object_id=150, meta_name="Company", stream_name="companies", plural="Companies", singular="Company", documented_fields=_fields(
        "owner:parent name " + _DATES + " dla:timestamp phone:phone industry"
        " description:longtext annual_revenue:price employee_count:numeric"
        " facebook_page:url instagram_name address city state:state zipcode"
        " country:country")),
    # Delivery records: written once per webhook call, dropped after a few days' retention.
    ObjectType(object_id=163, meta_name="WebhookLog", stream_name="webhook_logs", plural="WebhookLogs", singular="WebhookLog", append_only=True,
               notes="The API documents the endpoints but no objectID; 163 is assumed."),
)
# fmt: on

OBJECTS_BY_ID: dict[int, ObjectType] = {obj.object_id: obj for obj in KNOWN_OBJECTS}

#: The base fields real custom object records carry beside their own f#### fields, also
#: where their meta doesn't list them (real-account-evidence.md, "Meta"). Meta lists the
#: others it has (contact_cat, updateCampaign, profile_image, ...); fields records carry
#: beyond both are added to the schema when they first arrive.
CUSTOM_OBJECT_BASE_FIELDS = _fields(
    "owner:parent unique_id " + _DATES + " system_source source_location ip_addy_display"
    " import_id:numeric bulk_mail:drop bulk_sms:drop bindex:numeric"
)

#: Types of fields many objects share, for a field a record carries that neither meta nor
#: the object's documented fields describe (e.g. `dlm` on an account's Tasks).
COMMON_FIELD_TYPES = _fields(
    _DATES + " dla:timestamp owner:parent contact_id:parent object_type_id:numeric"
    " contact_cat:subscription updateSequence:subscription updateCampaign:subscription"
    " bulk_mail:drop bulk_sms:drop bindex:numeric import_id:numeric"
)


def documented_type(object_type: ObjectType, name: str) -> str:
    """The Ontraport type of a field a record carries: documented, shared, else text."""
    return object_type.documented_fields.get(name) or COMMON_FIELD_TYPES.get(name, "text")


def snake_case(name: str) -> str:
    """'LandingPage' -> 'landing_page', 'Pet Owner' -> 'pet_owner'."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    return re.sub(r"[^0-9a-zA-Z]+", "_", words).strip("_").lower() or "object"


def pluralize(word: str) -> str:
    """Naive English plural, good enough for stream names ('property' -> 'properties').

    A word that already looks plural ('dispenses', 'pets') is kept as it is.
    """
    if re.search(r"[^su]s$", word):
        return word
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def custom_stream_name(meta_name: str) -> str:
    """'oDispenses' -> 'dispenses', 'oPets' -> 'pets', 'Pet' -> 'pets', 'Property' -> 'properties'.

    Ontraport prefixes custom object names with `o` (a lowercase o before a capital).
    """
    bare = re.sub(r"^o(?=[A-Z])", "", meta_name.strip())
    return pluralize(snake_case(bare))


def describe_object(object_id: int, meta_name: str) -> ObjectType:
    """The facts for an objectID the account's meta lists.

    Known objects come from the table; custom objects and objects we do not know yet
    get a generic description (stream named after their meta name, read through the
    generic /objects endpoint) instead of being dropped.
    """
    known = OBJECTS_BY_ID.get(object_id)
    if known is not None:
        return known
    is_custom = object_id >= FIRST_CUSTOM_OBJECT_ID
    kind = "Custom object" if is_custom else "Object not in our table"
    return ObjectType(
        object_id=object_id,
        meta_name=meta_name,
        stream_name=custom_stream_name(meta_name),
        plural=None,
        singular=None,
        documented_fields=dict(CUSTOM_OBJECT_BASE_FIELDS) if is_custom else {},
        notes=f"{kind}; read through /objects?objectID={object_id}.",
    )
