"""What a delivery body says: its bytes to a JSON object, then the columns the store keeps.

Ontraport posts form-encoded bodies with PHP-style bracket keys (`event[type]=sub_tag`,
`data[id]=8`), or JSON when the subscription asked for it. Both become the same nested object,
so the warehouse sees one shape whatever the format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

FORM = "application/x-www-form-urlencoded"
_BRACKETS = re.compile(r"\[([^\[\]]*)\]")
#: A key as PHP reads it: a name, then any number of `[part]`s (an empty part appends to a list).
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class MalformedBody(ValueError):
    """The body is not a delivery: not UTF-8, not form-encoded or JSON, or not an object."""


def parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    """The delivery as a nested object; JSON when the content type or the first byte says so."""
    if not body.strip():
        raise MalformedBody("empty body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBody("body is not UTF-8") from None
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "application/json" or (media_type != FORM and text.lstrip().startswith(("{", "["))):
        return _parse_json(text)
    return parse_form(text)


def _parse_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedBody(f"invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise MalformedBody("JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise MalformedBody("JSON body is not an object")
    return value


def parse_form(text: str) -> dict[str, Any]:
    """Form fields with bracket keys as nested objects: `a[b][]=1` -> {"a": {"b": ["1"]}}."""
    result: dict[str, Any] = {}
    for pair in text.split("&"):
        if not pair:
            continue
        key, equals, value = pair.partition("=")
        if not equals:
            raise MalformedBody("not form-encoded (a field without '=')")
        key, value = _unquote(key), _unquote(value)
        if "[" not in key and "]" not in key:  # a plain name: most of Ontraport's top-level fields
            if key in result:
                raise MalformedBody(f"field {key[:40]!r} given twice")
            result[key] = value
            continue
        if _put_one_level(result, key, value):
            continue
        match = _KEY.match(key)
        if match is None:
            raise MalformedBody(f"unreadable field name {key[:40]!r}")
        _put(result, [match.group(1), *_BRACKETS.findall(match.group(2))], value, key)
    return result


def _put_one_level(result: dict[str, Any], key: str, value: str) -> bool:
    """`name[part]=value` (all of Ontraport's `data[...]` and `event[...]`): True when it was one."""
    opening = key.find("[")
    part = key[opening + 1:-1]
    if opening <= 0 or not key.endswith("]") or not part or "[" in part or "]" in part:
        return False
    group = result.setdefault(key[:opening], {})
    if not isinstance(group, dict):
        raise MalformedBody(f"field {key[:40]!r} is both a value and a group" if isinstance(group, str)
                            else f"field {key[:40]!r} is both a list and an object")
    if part in group:
        raise MalformedBody(f"field {key[:40]!r} given twice")
    group[part] = value
    return True


def _unquote(text: str) -> str:
    """Form decoding ('+' is a space, %XX a byte of UTF-8); the common case, neither, costs nothing."""
    if "+" in text:
        text = text.replace("+", " ")
    if "%" not in text:
        return text
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise MalformedBody("a percent-encoded field is not UTF-8") from None


def _put(target: dict[str, Any], path: list[str], value: str, key: str) -> None:
    node: Any = target
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, list):  # reached through `[]`, so this part is the empty one: append
            if last:
                node.append(value)
                return
            node.append({})
            node = node[-1]
            continue
        if last:
            if part in node:
                raise MalformedBody(f"field {key[:40]!r} given twice")
            node[part] = value
            return
        following_is_list = path[depth + 1] == ""
        child = node.setdefault(part, [] if following_is_list else {})
        if not isinstance(child, (dict, list)):
            raise MalformedBody(f"field {key[:40]!r} is both a value and a group")
        if isinstance(child, list) != following_is_list:
            raise MalformedBody(f"field {key[:40]!r} is both a list and an object")
        node = child


@dataclass(frozen=True)
class Columns:
    """The parsed columns of one event; None where the delivery does not say."""

    event_type: str | None
    webhook_id: int | None
    object_type_id: int | None
    record_id: int | None
    tag_id: int | None
    form_id: int | None
    product_id: int | None
    event_timestamp: int | None  # Unix seconds, as Ontraport sends it


def columns(body: dict[str, Any]) -> Columns:
    event = _object(body.get("event"))
    data = _object(body.get("data"))
    event_type = event.get("type") if isinstance(event.get("type"), str) else None
    return Columns(
        event_type=event_type,
        webhook_id=_integer(body.get("webhook_id")),
        object_type_id=_integer(body.get("object_type_id", data.get("object_type_id"))),
        record_id=_integer(data.get("id", body.get("id"))),
        tag_id=_integer(event.get("tag_id")),
        form_id=_integer(event.get("form_id")),
        product_id=_integer(event.get("product_id")),
        event_timestamp=_integer(body.get("timestamp")),
    )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _integer(value: Any) -> int | None:
    """Ontraport's numbers come as strings ("8"); anything else that is not a whole number: None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
        return int(value)
    return None
