"""The standard objects the sandbox account offers, as the API reference documents them.

The sandbox keeps its own copy of these facts (objectID, meta name, named endpoints, key,
documented fields with their Ontraport types) rather than importing the tap's table: the
two sides are written separately, so a mistake in one is caught by the tests of the other.

Source: the Ontraport API reference (objects and their fields, sections 3.2 and 3.3).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentedObject:
    """One standard object: how the API names it and which fields its records carry."""

    object_id: int
    meta_name: str
    plural: str | None  # named collection endpoint; None: only /objects?objectID=
    singular: str | None
    primary_key: str = "id"
    fields: str = ""  # "name:type name2 ..." (a bare name is text)


# fmt: off
DOCUMENTED_OBJECTS: tuple[DocumentedObject, ...] = (
    DocumentedObject(0, 'Contact', 'Contacts', 'Contact', fields=(
        'unique_id owner:parent firstname lastname email:email address address2 city '
        'state:state zip country:country birthday:fulldate priority:numeric status:drop '
        'home_phone:phone sms_number:sms office_phone:phone fax:phone company title '
        'website:url freferrer:parent lreferrer:parent n_lead_source:parent n_content:parent '
        'n_medium:parent n_campaign:parent n_term:parent n_media:parent l_lead_source:parent '
        'l_content:parent l_medium:parent l_campaign:parent l_term:parent referral_page:url '
        'aff_sales:numeric aff_amount:price program_id:parent aff_paypal:email fb_gender '
        'mrcAmount:price mrcUnpaid:price mriInvoiceNum:numeric mriInvoiceTotal:price ccType '
        'ccExpirationMonth:numeric ccExpirationYear:numeric ccExpirationDate:fulldate '
        'ccNumber mrcResult last_inbound_sms timezone spent:price grade:numeric '
        'num_purchased:numeric time_since_dla:numeric facebook_link:url twitter_link:url '
        'instagram_link:url linkedin_link:url profile_image:url unpaid_invoices:check '
        'has_membership:check emailHash date:timestamp dlm:timestamp dla:timestamp '
        'system_source source_location ip_addy ip_addy_display import_id:numeric '
        'bulk_mail:drop bulk_sms:drop contact_cat:subscription updateSequence:subscription '
        'updateCampaign:subscription bindex:numeric gclid gcid gsid gsn fbc fbp li_fat_id '
        'user_agent visit:numeric last_currency_used lead:numeric owed:price refund:price '
        'refundtotal:price commish:price')),
    DocumentedObject(1, 'Task', 'Tasks', 'Task', fields=(
        'owner:parent drip_id:parent contact_id:parent step_num:numeric subject '
        'date_assigned:timestamp date_due:timestamp date_complete:timestamp status:drop '
        'type:numeric details:longtext hidden:check call_outcome_id:parent item_id:parent '
        'notifications rules object_type_id:numeric object_name')),
    DocumentedObject(2, 'User', 'Users', 'User'),
    DocumentedObject(3, 'Group', 'Groups', 'Group'),
    DocumentedObject(5, 'Sequence', None, None),
    DocumentedObject(6, 'Rule', 'Rules', 'Rule', fields=(
        'drip_id:parent events:longtext conditions:longtext actions:longtext name pause:drop '
        'last_action:timestamp object_type_id:numeric date:timestamp dlm:timestamp')),
    DocumentedObject(7, 'Message', 'Messages', 'Message', fields=(
        'alias type subject date:timestamp dlm:timestamp last_save:timestamp '
        'last_auto:timestamp autosave:longtext date_last_published:timestamp '
        'is_published:check mcsent:numeric mcopened:numeric mcclicked:numeric '
        'mcnotopened:numeric mcnotclicked:numeric mcabuse:numeric mcunsub:numeric '
        'spam_score:numeric object_type_id:numeric owner:parent from send_out_name '
        'reply_to_email:email send_to site_id:parent message_body:longtext json_data:longtext '
        'plaintext:longtext width:numeric word_wrap_checkbox:check attach_ics:check '
        'old_resource:longtext')),
    DocumentedObject(12, 'Note', 'Notes', 'Note'),
    DocumentedObject(14, 'Tag', 'Tags', 'Tag'),
    DocumentedObject(16, 'Product', 'Products', 'Product', fields=(
        'name price:price date:timestamp dlm:timestamp deleted:check description:longtext '
        'external_id product_group:parent sku taxable:check total_income:price '
        'total_purchases:numeric internal_name product_code stripe_product_code')),
    DocumentedObject(17, 'Purchase', 'Purchases', 'Purchase', fields=(
        'contact_id:parent affiliate_id:parent product_id:parent owner:parent '
        'package_id:parent invoice_id:parent subscription_id:parent order_id:parent '
        'oprid:parent description:longtext date:timestamp dlm:timestamp price:price name '
        'quantity:numeric coupon_id:parent coupon_code_id:parent discount:price type:numeric '
        'status:numeric level1:price level2:price total_price:price affiliate coupon_name '
        'coupon_code')),
    DocumentedObject(20, 'LandingPage', 'LandingPages', 'LandingPage', fields=(
        'uri_id:parent resource:longtext design_type:numeric name rotation:numeric '
        'last_save:timestamp last_auto:timestamp autosave:longtext domain ssl_enabled:check '
        'date:timestamp dlm:timestamp seo_settings:longtext')),
    DocumentedObject(30, 'PurchaseHistoryLog', 'PurchaseHistoryLogs', 'PurchaseHistoryLog'),
    DocumentedObject(38, 'Commission', 'Commissions', 'Commission'),
    DocumentedObject(44, 'OpenOrder', 'OpenOrders', 'OpenOrder'),
    DocumentedObject(45, 'CreditCard', 'CreditCards', 'CreditCard', fields=(
        'firstname lastname contact_id:parent last4 type:drop exp_month:numeric '
        'exp_year:numeric address address2 city state:state zip country:country status:drop '
        'recent_sale:timestamp invoice_id:parent')),
    DocumentedObject(46, 'Invoice', 'Transactions', 'Transaction', fields=(
        'hidden:check status:drop contact_id:parent contact_name order_id:parent '
        'form_id:parent lp_id:parent cc_id:parent gateway_id:parent date:timestamp '
        'dlm:timestamp template_id:parent subtotal:price tax:price tax_city:price '
        'tax_state:price tax_county:price shipping:price total:price total_paid:price '
        'balance:price zip city state:state county external_order_id oprid:parent '
        'offer_data:longtext last_recharge_date:timestamp recharge_attempts:numeric '
        'recharge:check owner:parent type:numeric currency invoice_date:timestamp '
        'due_date:timestamp closed_date:timestamp has_refunded:check orig_trans_amount:price '
        'customer_note:longtext internal_note:longtext unique_id bindex:numeric '
        'stripe_tax_calculation_id stripe_tax_transaction_id')),
    DocumentedObject(52, 'Order', 'Orders', 'Order'),
    DocumentedObject(65, 'Offer', 'Offers', 'Offer', fields=(
        'owner:parent name public:check data:longtext referenced:numeric')),
    DocumentedObject(99, 'CustomObject', 'CustomObjects', 'CustomObject', fields=(
        'name date_created:timestamp table key external_key primary_nav:check singular plural '
        'possessive plural_possessive icon theme deletable:check object_label')),
    DocumentedObject(122, 'SmartFormFE', 'Forms', 'Form', primary_key='form_id', fields=(
        'formname type:drop tags:longtext sequences:longtext campaigns:longtext redirect:url '
        'owner:parent captcha:check notif fillouts:numeric unique_fillouts:numeric '
        'visits:numeric unique_visits:numeric revenue:price unique_convert:numeric '
        'json_raw_object:longtext deleted:check object_type_id:numeric responsive:check '
        'date:timestamp dlm:timestamp')),
    DocumentedObject(123, 'Coupon', 'Coupons', 'Coupon', fields=(
        'date:timestamp valid_start_date:timestamp valid_end_date:timestamp')),
    DocumentedObject(138, 'TagSubscriber', 'TagSubscribers', 'TagSubscriber'),
    DocumentedObject(140, 'CampaignBuilder', 'CampaignBuilderItems', 'CampaignBuilderItem', fields=(
        'name state:drop date:timestamp dlm:timestamp subs:numeric subs_ever:numeric '
        'element_num:numeric todos:numeric object_type_id:numeric pause:check deleted:check')),
    DocumentedObject(145, 'Webhook', 'Webhooks', 'Webhook', fields=(
        'event data:longtext url:url last_hook:timestamp last_code:numeric '
        'last_payload:longtext owner:parent')),
    DocumentedObject(146, 'DeletedOrder', 'DeletedOrders', 'DeletedOrder'),
    DocumentedObject(149, 'Deal', 'Deals', 'Deal', fields=(
        'owner:parent name value:price date:timestamp dlm:timestamp dla:timestamp '
        'expected_close_date:fulldate expected_win_percent:numeric calc:price '
        'primary_contact:parent company:parent weighted_value:price sales_stage:drop '
        'actual_close_date:fulldate expected_close_timeframe:drop deal_size:drop '
        'recent_activity:timestamp')),
    DocumentedObject(150, 'Company', 'Companies', 'Company', fields=(
        'owner:parent name date:timestamp dlm:timestamp dla:timestamp phone:phone industry '
        'description:longtext annual_revenue:price employee_count:numeric facebook_page:url '
        'instagram_name address city state:state zipcode country:country')),
)
# fmt: on

DOCUMENTED_BY_ID: dict[int, DocumentedObject] = {obj.object_id: obj for obj in DOCUMENTED_OBJECTS}
