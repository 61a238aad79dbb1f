"""Delivery bodies: PHP bracket keys to nested objects, JSON, and what is refused."""

from __future__ import annotations

import pytest

from ontraport_webhooks.parse import MalformedBody, columns, parse_body, parse_form
from tests.webhooks.conftest import FORM_BODY


def test_ontraports_documented_delivery_becomes_a_nested_object():
    body = parse_body(FORM_BODY.encode(), "application/x-www-form-urlencoded")
    assert body == {
        "webhook_id": "3", "object_type_id": "0", "event": {"type": "sub_tag", "tag_id": "4"},
        "data": {"id": "8", "firstname": "Mary", "lastname": "Smith"}, "timestamp": "1514940140",
    }
    parsed = columns(body)
    assert (parsed.event_type, parsed.webhook_id, parsed.object_type_id, parsed.record_id, parsed.tag_id,
            parsed.event_timestamp) == ("sub_tag", 3, 0, 8, 4, 1514940140)
    assert parsed.form_id is None and parsed.product_id is None


def test_lists_deep_keys_and_escapes():
    assert parse_form("a[]=1&a[]=2&b[c][d]=x%20y&e=") == {"a": ["1", "2"], "b": {"c": {"d": "x y"}}, "e": ""}
    assert parse_form("rows[][id]=1&rows[][id]=2") == {"rows": [{"id": "1"}, {"id": "2"}]}
    assert parse_form("data%5Bid%5D=5") == {"data": {"id": "5"}}
    assert parse_form("name=Ren%C3%A9e+O%27Hara&&x=a%2Bb") == {"name": "Renée O'Hara", "x": "a+b"}  # brackets percent-encoded, as PHP clients send


def test_json_bodies_by_content_type_or_first_byte():
    text = b'{"webhook_id": 3, "event": {"type": "unsub_tag", "tag_id": 9}, "data": {"id": 12}, "timestamp": 5}'
    for content_type in ("application/json", "text/plain", ""):
        parsed = columns(parse_body(text, content_type))
        assert (parsed.event_type, parsed.tag_id, parsed.record_id, parsed.event_timestamp) == ("unsub_tag", 9, 12, 5)


@pytest.mark.parametrize("body, content_type, reason", [
    (b"", "application/x-www-form-urlencoded", "empty"),
    (b"   ", "", "empty"),
    (b"\xff\xfe", "", "UTF-8"),
    (b"just words", "application/x-www-form-urlencoded", "without '='"),
    (b"{not json", "application/json", "invalid JSON"),
    (b"[1, 2]", "application/json", "not an object"),
    (b"a=1&a=2", "", "given twice"),
    (b"a=1&a[b]=2", "", "both a value and a group"),
    (b"a[b]=1&a[]=2", "", "both a list and an object"),
    (b"a[][b]=1&a[c]=2", "", "both a list and an object"),
    (b"a[=1", "", "unreadable field name"),
    (b"a=%ff%fe", "", "not UTF-8"),
])
def test_garbage_is_refused_with_a_reason(body, content_type, reason):
    with pytest.raises(MalformedBody, match=reason):
        parse_body(body, content_type)


def test_columns_take_only_whole_numbers():
    parsed = columns({"webhook_id": "x", "object_type_id": True, "data": {"id": "12.5"}, "timestamp": " 7 "})
    assert (parsed.webhook_id, parsed.object_type_id, parsed.record_id, parsed.event_timestamp) == (None, None, None, 7)
    assert columns({"event": "sub_tag", "data": []}).event_type is None  # wrong shapes: nothing guessed
