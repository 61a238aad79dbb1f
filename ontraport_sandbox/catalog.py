"""The sandbox account's objects and fields, as data.

Each row of ``ROWS`` (and ``CUSTOM_OBJECTS``) says what one object of the account holds: how many
records by default, which fields its records carry (beyond the fields documented in
``documented.py``), which of them its meta lists, and which wire field the
compact date/dlm columns are served as. Field values come from the generators in
``generate.py``; the tables below map field names to those generators where the
Ontraport type alone does not say enough (a ``text`` field called ``city`` holds a city).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .documented import DOCUMENTED_BY_ID

#: Every timestamp the account generates lies in this fixed past range (UTC), so the
#: data is the same whatever the day: 2019-01-01 .. 2026-06-30.
EPOCH_START = 1546300800
EPOCH_END = 1782777600


@dataclass(frozen=True)
class FieldSpec:
    """One field of an object: its meta description and how its values are made."""

    name: str
    type: str  # Ontraport field type, as meta reports it
    kind: str  # value generator in generate.py
    alias: str
    options: dict[str, str] | None = None  # drop/list: option id -> label
    parent_object: int | None = None  # parent: the object its value points at
    subscription_object: int | None = None  # subscription: whose ids the list holds
    extra_data: str | None = None  # meta "extra_data": a related_data path, a subscription's model
    in_meta: bool = True  # meta lists it (meta may list fewer fields than records carry)
    stored: bool = True  # mergefields exist in meta only, never in records
    empty: float = 0.08  # share of records where it is empty
    empty_as: str | None = ""  # "" / None (JSON null) / "0" for an empty value
    raw_number: float = 0.0  # share of records serving a numeric value as a JSON number
    word_booleans: bool = False  # check field served as "true"/"false", not "1"/"0"
    system: bool = True  # system field (meta: not deletable) vs custom f#### field


@dataclass(frozen=True)
class ObjectSpec:
    """One object type of the sandbox account."""

    object_id: int
    meta_name: str
    plural: str | None  # named endpoints; None: generic /objects only
    singular: str | None
    primary_key: str
    size: int  # default number of records at scale 1.0
    fields: tuple[FieldSpec, ...]  # wire order, primary key excluded
    date_field: str | None  # wire name of the compact "created" column, if served
    dlm_field: str | None  # wire name of the compact "last modified" column, if served
    list_fields: tuple[str, ...]  # getInfo listFields
    tie_share: float  # share of records in bulk-update groups sharing one dlm second
    meta_fields_empty: str | None  # "{}" / "[]": meta lists no fields and says so this way
    meta_flags_as_numbers: bool  # meta's required/unique/... flags as 0/1 numbers
    raw_number_fields: tuple[str, ...]  # fields always served as JSON numbers
    meta_lists_key: bool = True  # meta describes the primary key too
    fixed_records: tuple[dict, ...] = ()  # records given literally (CustomObjects)


# --- How field names map to generators and meta details -------------------------------

#: Generator for text-ish fields, by field name (default: by Ontraport type, see KIND_BY_TYPE).
KIND_BY_NAME = {
    "firstname": "first_name", "lastname": "last_name", "contact_name": "full_name",
    "address": "street", "address2": "address2", "city": "city", "zip": "zip",
    "zipcode": "zip", "county": "county", "company": "company", "title": "job_title",
    "name": "title_words", "tag_name": "tag", "subject": "sentence", "formname": "title_words",
    "internal_name": "title_words", "alias": "title_words", "object_name": "object_name",
    "unique_id": "unique_id", "ip_addy": "ip", "ip_addy_display": "ip", "timezone": "timezone",
    "user_agent": "user_agent", "emailHash": "hex32", "gclid": "token", "gcid": "token",
    "gsid": "token", "gsn": "token", "fbc": "token", "fbp": "token", "li_fat_id": "token",
    "system_source": "system_source", "source_location": "source_location",
    "currency": "currency", "last_currency_used": "currency", "sku": "sku",
    "product_code": "sku", "stripe_product_code": "stripe_id", "external_id": "sku",
    "external_order_id": "sku", "stripe_tax_calculation_id": "stripe_id",
    "stripe_tax_transaction_id": "stripe_id", "last4": "last4", "ccNumber": "last4",
    "ccType": "card_brand", "fb_gender": "gender", "mrcResult": "charge_result",
    "event": "webhook_event", "domain": "domain", "instagram_name": "handle",
    "industry": "industry", "from": "from_kind", "send_out_name": "full_name",
    "send_to": "email_field", "type": "message_type", "language": "language",
    "data": "json_blob", "offer_data": "json_blob", "json_raw_object": "json_blob",
    "json_data": "json_blob", "seo_settings": "json_blob", "rules": "json_blob",
    "notifications": "json_blob", "events": "json_blob", "conditions": "json_blob",
    "actions": "json_blob", "tags": "id_csv", "sequences": "id_csv", "campaigns": "id_csv",
    "notif": "email", "affiliate": "full_name", "coupon_name": "title_words",
    "coupon_code": "coupon_code", "table": "table_name", "key": "key_name",
    "external_key": "key_name", "icon": "icon", "theme": "theme", "aff_paypal": "email",
    "last_inbound_sms": "sentence", "last_payload": "json_blob", "payload": "json_blob",
    "response": "sentence", "last_note": "paragraph", "note": "paragraph",
    "description": "paragraph", "details": "paragraph",
}

KIND_BY_TYPE = {
    "text": "words", "longtext": "paragraph", "email": "email", "phone": "phone",
    "sms": "phone", "url": "url", "numeric": "number", "price": "price", "check": "check",
    "drop": "drop", "list": "list", "state": "state", "country": "country",
    "fulldate": "fulldate", "timestamp": "timestamp", "parent": "parent",
    "subscription": "subscription", "mergefield": "none", "rollup": "number",
}

#: Integer ranges for numeric fields whose values have a natural range.
NUMBER_RANGES = {
    "exp_month": (1, 12), "ccExpirationMonth": (1, 12), "exp_year": (2024, 2033),
    "ccExpirationYear": (2024, 2033), "priority": (0, 3), "grade": (0, 100),
    "step_num": (0, 12), "type": (0, 3), "object_type_id": (0, 0), "status": (0, 4),
    "quantity": (1, 5), "recharge_attempts": (0, 3), "expected_win_percent": (0, 100),
    "employee_count": (1, 5000), "rotation": (0, 1), "design_type": (0, 3),
    "referenced": (0, 9), "last_code": (200, 504), "response_code": (200, 504),
    "mriInvoiceNum": (1, 60), "time_since_dla": (0, 400), "visit": (0, 90),
    "lead": (0, 1), "bindex": (0, 9), "level": (1, 2), "width": (480, 800),
    "spam_score": (0, 10), "f1007": (0, 250), "f2004": (1, 60), "f2106": (1, 6),
}

#: Option lists of drop/list fields: "MetaName.field" first, then "field".
OPTIONS = {
    "Contact.status": {"1": "Closed - Lost", "2": "Closed - Won", "3": "Committed",
                       "4": "Consideration", "5": "First Call", "6": "Open", "7": "Qualified"},
    "bulk_mail": {"-5": "Hard bounce", "-2": "Spam complaint", "-1": "Unsubscribed",
                  "0": "Transactional only", "1": "Single opt-in", "2": "Double opt-in"},
    "bulk_sms": {"-2": "Hard bounce", "-1": "Unsubscribed", "0": "Unconfirmed",
                 "1": "Pending confirmation", "2": "Opted in"},
    "Task.status": {"0": "Pending", "1": "Complete", "2": "Cancelled"},
    "pause": {"0": "Live", "1": "Paused"},
    "CreditCard.type": {"1": "Visa", "2": "Mastercard", "3": "AMEX", "4": "Discover"},
    "CreditCard.status": {"0": "Hidden", "1": "Active", "2": "Expired", "3": "Active Default"},
    "Invoice.status": {"0": "Unpaid", "1": "Paid", "2": "Refunded", "3": "Partially refunded",
                       "4": "Void", "5": "Declined", "6": "Written off", "7": "Pending"},
    "Form.type": {"10": "SmartForm", "11": "ONTRAform"},
    "SmartFormFE.type": {"10": "SmartForm", "11": "ONTRAform"},
    "CampaignBuilder.state": {"0": "Draft", "1": "Live", "2": "Paused"},
    "sales_stage": {"1": "Lead", "2": "Qualified", "3": "Proposal", "4": "Negotiation",
                    "5": "Closed won", "6": "Closed lost"},
    "expected_close_timeframe": {"1": "This month", "2": "Next month", "3": "This quarter",
                                 "4": "This year"},
    "deal_size": {"1": "Small", "2": "Medium", "3": "Large", "4": "Enterprise"},
    "status": {"0": "Inactive", "1": "Active", "2": "Pending"},
    "type": {"0": "Standard", "1": "Automated", "2": "Manual"},
    "role": {"1": "Admin", "2": "Manager", "3": "Sales rep", "4": "Support"},
    "discount_type": {"0": "Percent", "1": "Flat"},
    "f1010": {"1": "Bronze", "2": "Silver", "3": "Gold", "4": "Platinum"},
    "f1011": {"1": "Yoga", "2": "Running", "3": "Cooking", "4": "Travel", "5": "Chess",
              "6": "Gardening"},
    "f2002": {"1": "Dog", "2": "Cat", "3": "Parrot", "4": "Rabbit", "5": "Tortoise"},
    "f2105": {"1": "Garden", "2": "Garage", "3": "Pool", "4": "Balcony", "5": "Solar panels"},
}

GENERIC_OPTIONS = {"0": "None", "1": "Option A", "2": "Option B", "3": "Option C"}

#: Where parent (lookup) fields point, by field name; "MetaName.field" wins.
PARENT_OBJECTS = {
    "owner": 2, "contact_id": 0, "primary_contact": 0, "freferrer": 0, "lreferrer": 0,
    "affiliate_id": 0, "product_id": 16, "offer_id": 65, "invoice_id": 46, "order_id": 52,
    "subscription_id": 44, "cc_id": 45, "purchase_id": 17, "tag_id": 14, "drip_id": 5,
    "form_id": 122, "lp_id": 20, "company": 150, "webhook_id": 145, "coupon_id": 123,
    "author": 2, "object_id": 0, "trans_id": 46, "Task.item_id": 7,
    "f1016": 10000, "f2005": 0, "f2103": 0, "f2104": 10000,
}

#: Subscription (multi-id) fields: whose ids they hold.
SUBSCRIPTION_OBJECTS = {"contact_cat": 14, "updateSequence": 5, "updateCampaign": 140,
                        "f1017": 5}

#: Check fields served as "true"/"false" instead of "1"/"0" (reference section 2.2).
WORD_BOOLEANS = {"Contact.unpaid_invoices", "Contact.has_membership", "Product.deleted",
                 "CampaignBuilder.deleted"}

#: Aliases meta gives; the rest are derived from the field name.
ALIASES = {
    "Contact.id": "Contact ID", "id": "ID", "firstname": "First Name", "lastname": "Last Name", "email": "Email",
    "date": "Date Added", "dlm": "Date Modified", "dla": "Date of Last Activity",
    "Invoice.date": "Date Created", "owner": "Owner", "Task.owner": "Assignee",
    "Task.contact_id": "Contact", "sms_number": "SMS Number", "zip": "Zip Code",
    "contact_cat": "Contact Tags", "bulk_mail": "Bulk Email Status", "bulk_sms": "Bulk SMS Status",
    "updateSequence": "Sequences", "updateCampaign": "Campaigns", "pause": "Status",
}

#: Meta entries as the reference samples show them, where they differ from the general rule
#: (None: the key is absent, e.g. the sample's Task contact_id has no parent_object).
META_QUIRKS: dict[str, dict[str, str | None]] = {
    "Task.owner": {"deletable": "1"},
    "Task.contact_id": {"editable": "0", "deletable": "1", "parent_object": None},
}

#: Empty values served as JSON null rather than "" (both occur, reference section 2.2).
NULL_WHEN_EMPTY = {"lp_id", "cc_id", "city", "state", "county", "recharge_attempts",
                   "recharge", "date_complete", "notifications", "rules", "last_hook",
                   "address2", "company", "title", "fax", "website", "gclid", "f1002",
                   "f1006", "f1014", "expected_close_date", "actual_close_date"}

#: Empty share per field name, where the default (8%) is wrong.
EMPTY_SHARE = {
    "address2": 0.7, "fax": 0.85, "company": 0.4, "title": 0.45, "website": 0.6,
    "birthday": 0.5, "date_complete": 0.6, "lp_id": 0.7, "cc_id": 0.3, "gclid": 0.8,
    "gcid": 0.85, "gsid": 0.85, "gsn": 0.85, "fbc": 0.8, "fbp": 0.6, "li_fat_id": 0.9,
    "last_inbound_sms": 0.85, "notifications": 0.8, "rules": 0.7, "recharge_attempts": 0.6,
    "recharge": 0.6, "closed_date": 0.4, "last_recharge_date": 0.5, "customer_note": 0.7,
    "internal_note": 0.7, "facebook_link": 0.8, "twitter_link": 0.85, "instagram_link": 0.85,
    "linkedin_link": 0.8, "profile_image": 0.7, "last_note": 0.4, "last_hook": 0.3,
    "date_last_published": 0.3, "actual_close_date": 0.6, "recent_sale": 0.3,
}

#: Fields that are never empty (beyond the primary key and the compact date columns).
NEVER_EMPTY = {"owner", "status", "name", "firstname", "email", "event", "url", "formname",
               "tag_name", "object_type_id", "type", "subject", "total", "subtotal",
               "contact_id", "tag_id", "object_id", "f2001", "f2101"}


def _resolve(table: dict, meta_name: str, name: str, default=None):
    return table.get(f"{meta_name}.{name}", table.get(name, default))


def _alias(meta_name: str, name: str) -> str:
    alias = _resolve(ALIASES, meta_name, name)
    if alias:
        return alias
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ")
    return words.strip().title()


def _spec_fields(spec: str) -> dict[str, str]:
    """'name:type name2' -> {name: type}; bare names are text (the syntax of documented.py)."""
    parsed = {}
    for token in spec.split():
        name, _, field_type = token.partition(":")
        parsed[name] = field_type or "text"
    return parsed


#: Share of numeric/price values served as JSON numbers instead of strings.
RAW_NUMBER_SHARE = 0.03


def _field(meta_name: str, name: str, field_type: str, *, in_meta: bool = True,
           alias: str | None = None) -> FieldSpec:
    custom = bool(re.fullmatch(r"f\d{4}", name))
    kind = KIND_BY_TYPE.get(field_type, "words")
    if field_type in ("text", "longtext"):
        kind = _resolve(KIND_BY_NAME, meta_name, name, kind)
    never_empty = name in NEVER_EMPTY or field_type == "mergefield" or (
        field_type == "check" and not custom)  # system checkboxes always hold "0"/"1"
    empty = 0.0 if never_empty else _resolve(EMPTY_SHARE, meta_name, name, 0.08)
    if field_type == "timestamp":
        empty_as = None if name in NULL_WHEN_EMPTY else "0"
    else:
        empty_as = None if name in NULL_WHEN_EMPTY else ""
    return FieldSpec(
        name=name, type=field_type, kind=kind,
        alias=alias or _alias(meta_name, name),
        options=(_resolve(OPTIONS, meta_name, name) or GENERIC_OPTIONS)
        if field_type in ("drop", "list") else None,
        parent_object=_resolve(PARENT_OBJECTS, meta_name, name) if field_type == "parent" else None,
        subscription_object=SUBSCRIPTION_OBJECTS.get(name),
        in_meta=in_meta, stored=field_type != "mergefield", empty=empty, empty_as=empty_as,
        raw_number=RAW_NUMBER_SHARE if field_type in ("numeric", "price") else 0.0,
        word_booleans=f"{meta_name}.{name}" in WORD_BOOLEANS, system=not custom,
    )


#: With odd_values=True, about one record in ODD_SHARE carries these malformed values
#: ("MetaName.field" -> value): things a careless client would choke on.
ODD_SHARE = 0.03
ODD_VALUES = {
    "Contact.f1007": "n/a",  # numeric
    "Contact.f1015": "yesterday",  # timestamp
    "Contact.f1009": "maybe",  # check
    "Contact.f1010": "99",  # drop: not one of its options
    "Contact.f1014": "2021-02-30",  # fulldate: not even a date
    "Contact.title": [],  # text: an empty PHP array where a string belongs
    "Invoice.total": "1,234.50",  # price with a thousands separator
    "oPets.f2004": "approx. 12",  # numeric on a custom object
}

# --- The objects -------------------------------------------------------------------------

#: Custom fields of Contacts: one of every field type of reference section 5.1, plus a
#: type the tap cannot know ("rollup"). (name, type, alias)
CONTACT_CUSTOM_FIELDS = (
    ("f1001", "text", "Favourite colour"), ("f1002", "longtext", "Background"),
    ("f1003", "email", "Work email"), ("f1004", "phone", "Mobile phone"),
    ("f1005", "sms", "SMS opt-in number"), ("f1006", "url", "Portfolio"),
    ("f1007", "numeric", "Lifetime orders"), ("f1008", "price", "Budget"),
    ("f1009", "check", "VIP"), ("f1010", "drop", "Membership level"),
    ("f1011", "list", "Interests"), ("f1012", "state", "Home state"),
    ("f1013", "country", "Citizenship"), ("f1014", "fulldate", "Anniversary"),
    ("f1015", "timestamp", "Last seminar"), ("f1016", "parent", "Pet"),
    ("f1017", "subscription", "Newsletters"), ("f1018", "mergefield", "Greeting"),
    ("f1019", "rollup", "Pets owned"),
)

#: Custom objects (objectID >= 10000), named as real accounts name them (an `o` prefix, a
#: plural): their own f#### fields, with related_data fields that show a field of a parent
#: record. Like real rows (e.g. an `oDispenses` list read), the records carry those values
#: under the path as key ("f2005//firstname"), and some paths no related_data field names.
#: (name, type, alias[, extra_data]); "path" fields are the record keys, not in meta.
CUSTOM_OBJECTS = (
    {"object_id": 10000, "name": "oPets", "singular": "Pet", "plural": "Pets", "size": 150,
     "icon": "paw",
     "fields": (("f2001", "text", "Name"), ("f2002", "drop", "Species"),
                ("f2003", "fulldate", "Birthday"), ("f2004", "numeric", "Weight (kg)"),
                ("f2005", "parent", "Owner"), ("f2006", "check", "Vaccinated"),
                ("f2007", "related_data", "Owner last name", "f2005//lastname")),
     "paths": ("f2005//lastname", "f2005//email")},
    {"object_id": 10001, "name": "oProperties", "singular": "Property", "plural": "Properties",
     "size": 100, "icon": "home",
     "fields": (("f2101", "text", "Address"), ("f2102", "price", "Value"),
                ("f2103", "parent", "Owner"), ("f2104", "parent", "Resident pet"),
                ("f2105", "list", "Features"), ("f2106", "numeric", "Bedrooms"),
                ("f2107", "related_data", "Resident pet name", "f2104//f2001")),
     "paths": ("f2104//f2001", "f2104//f2005//lastname")},
)
#: The base fields real custom object rows carry (real-account-evidence.md); meta lists
#: the first four, not the contact-like rest.
CUSTOM_BASE_FIELDS = "owner:parent unique_id date:timestamp dlm:timestamp"
CUSTOM_UNLISTED_BASE_FIELDS = ("system_source source_location ip_addy_display import_id:numeric"
                               " bulk_mail:drop bulk_sms:drop bindex:numeric")

#: The account's objects. Columns: objectID, default size, fields beyond the documented
#: ones, the getInfo listFields, and the quirks each object shows.
#: - date/dlm: wire fields the compact created/modified columns are served as
#:   (default "date"/"dlm" when the object has such fields)
#: - meta_only: meta lists exactly these fields; meta_omits: meta lists all but these
#: - unlisted: extra fields in records that neither meta nor objects.py know
#: - meta_empty: meta lists no fields and says so with this JSON ("{}" or "[]")
ROWS = (
    dict(id=0, size=1500, unlisted="last_note:longtext", meta_omits=("bindex", "gclid"),
         tie_share=0.15, list=("fn", "email", "office_phone", "date", "grade", "dla",
                               "contact_id")),
    dict(id=1, size=250, date="date_assigned",
         list=("", "owner", "subject", "status", "date_assigned", "date_due", "date_complete",
               "call_outcome_id", "contact_id")),
    dict(id=2, size=8, meta_name="User", plural="Users", singular="User",
         extra="firstname lastname email:email office_phone:phone cell_phone:phone role:drop"
               " status:drop timezone language reply_to_email:email"),
    dict(id=3, size=12, meta_name="Group", plural="Groups", singular="Group",
         extra="name object_type_id:numeric owner:parent conditions:longtext"),
    dict(id=5, size=15, meta_name="Sequence",
         extra="name owner:parent object_type_id:numeric type:drop pause:drop"
               " subscribers:numeric"),
    dict(id=6, size=40, tie_share=0.1),
    dict(id=7, size=60, tie_share=0.1),
    dict(id=12, size=150, tie_share=0.1, meta_name="Note", plural="Notes", singular="Note",
         extra="contact_id:parent note:longtext author:parent object_type_id:numeric"
               " type:numeric date:timestamp dlm:timestamp"),
    dict(id=14, size=30, meta_name="Tag", plural="Tags", singular="Tag",
         extra="tag_name group_id:numeric object_type_id:numeric"),
    dict(id=16, size=25),
    dict(id=17, size=300, tie_share=0.1),
    dict(id=20, size=12, raw_numbers=("date",),
         extra="visits_0:numeric visits_1:numeric unique_visits_0:numeric convert_0:numeric"),
    dict(id=30, size=100, meta_name="PurchaseHistoryLog", plural="PurchaseHistoryLogs",
         singular="PurchaseHistoryLog",
         extra="purchase_id:parent contact_id:parent product_id:parent type:drop"
               " description amount:price date:timestamp"),
    dict(id=38, size=40, meta_name="Commission", plural="Commissions", singular="Commission",
         extra="partner_id:parent contact_id:parent purchase_id:parent product_id:parent"
               " amount:price status:drop level:numeric date:timestamp dlm:timestamp"),
    dict(id=44, size=30, meta_name="OpenOrder", plural="OpenOrders", singular="OpenOrder",
         extra="contact_id:parent offer_id:parent product_id:parent gateway_id:parent"
               " cc_id:parent status:drop payment_next_date:timestamp amount:price"
               " trans_id:parent date:timestamp dlm:timestamp"),
    dict(id=45, size=60),
    dict(id=46, size=400, tie_share=0.1, meta_only=("date",),
         list=("status", "total", "contact_name", "date")),
    dict(id=52, size=50, meta_name="Order", plural="Orders", singular="Order",
         extra="contact_id:parent offer_id:parent product_id:parent status:drop"
               " gateway_id:parent cc_id:parent invoice_id:parent next_charge:timestamp"
               " total:price date:timestamp dlm:timestamp"),
    dict(id=65, size=20),
    dict(id=99, size=0),  # one record per custom object, see CUSTOM_OBJECTS
    dict(id=122, size=15, raw_numbers=("date", "object_type_id")),
    dict(id=123, size=10,
         extra="name description:longtext type:drop discount_type:drop discount_value:price"
               " status:drop deleted:check"),
    dict(id=138, size=300, meta_name="TagSubscriber", plural="TagSubscribers",
         singular="TagSubscriber",
         extra="object_id:parent tag_id:parent object_type_id:numeric date:timestamp"),
    dict(id=140, size=20),
    dict(id=145, size=5),
    dict(id=146, size=4, meta_empty="{}", meta_name="DeletedOrder", plural="DeletedOrders",
         singular="DeletedOrder",
         extra="contact_id:parent offer_id:parent order_id:parent status:drop total:price"
               " date:timestamp dlm:timestamp"),
    dict(id=149, size=60, flags_as_numbers=True, tie_share=0.1, extra="unique_id"),
    dict(id=150, size=45, flags_as_numbers=True, extra="unique_id"),
    # The Webhook Log exists (reference 8.2) but its objectID is documented nowhere:
    # 163 is this sandbox's assumption.
    dict(id=163, size=80, meta_empty="[]", meta_name="WebhookLog", plural="WebhookLogs",
         singular="WebhookLog",
         extra="webhook_id:parent url:url event status:drop response_code:numeric"
               " payload:longtext response date:timestamp"),
)

def _custom_object_definition(row: dict) -> dict:
    """The record of object 99 (custom object definitions) that describes one custom object."""
    name, object_id = row["name"], row["object_id"]
    return {
        "id": str(object_id), "name": name, "date_created": "1577836800",
        "table": f"custom_{object_id}", "key": row["singular"].lower(), "external_key": "",
        "primary_nav": "1", "singular": row["singular"], "plural": row["plural"],
        "possessive": f"{row['singular']}'s", "plural_possessive": f"{row['plural']}'",
        "icon": row["icon"], "theme": "blue", "deletable": "1", "object_label": row["singular"],
    }


def _build_object(row: dict) -> ObjectSpec:
    object_id = row["id"]
    known = DOCUMENTED_BY_ID.get(object_id)
    meta_name = known.meta_name if known else row["meta_name"]
    documented = _spec_fields(known.fields) if known else {}
    extra = _spec_fields(row.get("extra", ""))
    unlisted = _spec_fields(row.get("unlisted", ""))
    primary_key = known.primary_key if known else "id"
    names = {**documented, **extra}
    names.pop(primary_key, None)
    meta_only, meta_omits = row.get("meta_only"), set(row.get("meta_omits", ()))
    raw_numbers = row.get("raw_numbers", ())

    def listed(name: str) -> bool:
        if row.get("meta_empty"):
            return False
        return name in meta_only if meta_only is not None else name not in meta_omits

    fields = [_field(meta_name, n, t, in_meta=listed(n)) for n, t in names.items()]
    if object_id == 0:
        fields += [_field(meta_name, n, t, alias=a) for n, t, a in CONTACT_CUSTOM_FIELDS]
    fields += [_field(meta_name, n, t, in_meta=False) for n, t in unlisted.items()]
    date_field = row.get("date", "date" if "date" in names else None)
    dlm_field = "dlm" if "dlm" in names else None
    list_fields = row.get("list") or tuple(f.name for f in fields[:5] if f.in_meta)
    fixed = tuple(_custom_object_definition(c) for c in CUSTOM_OBJECTS) if object_id == 99 else ()
    return ObjectSpec(
        object_id=object_id, meta_name=meta_name,
        plural=known.plural if known else row.get("plural"),
        singular=known.singular if known else row.get("singular"),
        primary_key=primary_key, size=len(fixed) or row["size"], fields=tuple(fields),
        date_field=date_field if date_field in names else None, dlm_field=dlm_field,
        list_fields=tuple(list_fields), tie_share=row.get("tie_share", 0.0),
        meta_fields_empty=row.get("meta_empty"),
        meta_flags_as_numbers=row.get("flags_as_numbers", False),
        raw_number_fields=tuple(raw_numbers), fixed_records=fixed,
        meta_lists_key=meta_only is None and not row.get("meta_empty"),
    )


def _custom_field(meta_name: str, name: str, field_type: str, alias: str, extra_data: str | None = None) -> FieldSpec:
    spec = _field(meta_name, name, field_type, alias=alias)
    if field_type == "related_data":  # meta only: records carry the value under the path
        return replace(spec, stored=False, extra_data=extra_data)
    return spec


def _path_field(meta_name: str, path: str) -> FieldSpec:
    """A related-data value as list rows carry it, keyed by its path; not in meta."""
    last = path.rsplit("//", 1)[-1]
    kind = {"firstname": "first_name", "lastname": "last_name", "email": "email"}.get(last, "words")
    return replace(_field(meta_name, path, "text", in_meta=False), kind=kind, empty=0.1)


def _build_custom_object(row: dict) -> ObjectSpec:
    meta_name = row["name"]
    fields = [_field(meta_name, n, t) for n, t in _spec_fields(CUSTOM_BASE_FIELDS).items()]
    fields += [_field(meta_name, n, t, in_meta=False)
               for n, t in _spec_fields(CUSTOM_UNLISTED_BASE_FIELDS).items()]
    fields += [_custom_field(meta_name, *field) for field in row["fields"]]
    fields += [_path_field(meta_name, path) for path in row["paths"]]
    return ObjectSpec(
        object_id=row["object_id"], meta_name=row["name"], plural=None, singular=None,
        primary_key="id", size=row["size"], fields=tuple(fields), date_field="date",
        dlm_field="dlm", list_fields=tuple(f.name for f in fields if f.in_meta)[-4:], tie_share=0.1,
        meta_fields_empty=None, meta_flags_as_numbers=False, raw_number_fields=(),
    )


ACCOUNT_OBJECTS: dict[int, ObjectSpec] = {
    spec.object_id: spec
    for spec in [*(_build_object(r) for r in ROWS), *(_build_custom_object(c) for c in CUSTOM_OBJECTS)]
}
