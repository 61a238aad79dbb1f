"""Deterministic field values: the same (seed, object, record, field, version) always gives
the same value, and any one field can be made without making the rest of its record.

That independence is what lets the account keep 100,000 records as a few integer arrays:
a record's wire dict is made on demand, and a condition on one field only makes that field.
"""

from __future__ import annotations

import json
import unicodedata
import zlib
from collections.abc import Callable
from typing import Any

from .catalog import EPOCH_END, EPOCH_START, NUMBER_RANGES, FieldSpec

_M64 = (1 << 64) - 1


def mix64(x: int) -> int:
    """splitmix64's finalizer: a cheap, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def name_salt(name: str) -> int:
    """A stable integer for a name (str hash() changes with every process)."""
    return zlib.crc32(name.encode())


class Dice:
    """A tiny deterministic random source seeded by a tuple of integers."""

    __slots__ = ("state",)

    def __init__(self, *keys: int):
        state = 0x5EED
        for key in keys:
            state = mix64(state ^ (key & _M64))
        self.state = state

    @classmethod
    def derived(cls, state: int, key: int) -> Dice:
        """Dice(*keys, key) for a state already folded from keys (saves re-hashing them)."""
        dice = cls.__new__(cls)
        dice.state = mix64(state ^ (key & _M64))
        return dice

    def next(self) -> int:
        self.state = mix64(self.state)
        return self.state

    def unit(self) -> float:
        return (self.next() >> 11) * (1.0 / (1 << 53))

    def chance(self, probability: float) -> bool:
        return self.unit() < probability

    def between(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return low + self.next() % (high - low + 1)

    def choice(self, options):
        return options[self.next() % len(options)]


# --- Vocabulary -----------------------------------------------------------------------------

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara"
    " Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy"
    " Anthony Betty Mark Sandra Olivia Liam Emma Noah Ava Lucas Mia Ethan Chloe Aiden"
    " José Zoë Łukasz Søren Françoise Björn Renée Chloé Mélanie Jürgen Dvořák Aoife"
    " Siobhán Nguyễn Mateo Sofía Ömer Ayşe Kenji Yuki Priya Arjun Fatima Omar Chidi Amara"
).split()
FIRST_NAMES_CJK = ("明", "李娜", "さくら", "지민")
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez"
    " Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson"
    " White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright"
    " O'Brien O'Connor McDonald Müller Schäfer Nuñez Peña Doležal Kowalczyk Øvergaard"
    " Dubois Lefèvre Rossi Bianchi Tanaka Sato Kim Park Singh Patel Okafor Mensah"
).split()
CITIES = (
    "Santa Barbara", "Austin", "Denver", "Portland", "Chicago", "Boston", "Seattle",
    "San Diego", "Phoenix", "Nashville", "Miami", "Toronto", "Vancouver", "London",
    "Dublin", "München", "São Paulo", "Zürich", "Kraków", "Montréal", "Sydney", "Auckland",
)
STREETS = ("Main St", "Oak Ave", "Maple Dr", "State St", "Cedar Ln", "Park Blvd",
           "Sunset Rd", "Hollister Ave", "Chapala St", "Elm Ct", "Rue de la Paix", "Calle Mayor")
COMPANIES = ("Acme Corp", "Globex", "Initech", "Umbrella LLC", "Stark Industries",
             "Wayne Enterprises", "Hooli", "Pied Piper", "Vandelay Industries", "Soylent Co",
             "Wonka & Sons", "Tyrell Corp", "Cyberdyne", "Gringotts", "Müller & Söhne GmbH",
             "Café Olé", "Blue Sky Yoga", "Peak Fitness", "Harbor Dental", "Sunrise Realty")
JOB_TITLES = ("Owner", "CEO", "Marketing Manager", "Sales Rep", "Coach", "Consultant",
              "Office Manager", "Designer", "Developer", "Founder & CEO", "VP Sales")
STATES = ("CA", "TX", "NY", "FL", "WA", "OR", "CO", "IL", "MA", "AZ", "TN", "GA", "NC",
          "ON", "BC", "QC", "NSW")
COUNTRIES = ("US", "US", "US", "US", "CA", "GB", "AU", "DE", "FR", "MX", "BR", "IE", "NZ",
             "ES", "JP")
DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com",
           "example.com", "example.org", "mail.example.net", "proton.me", "acme.test")
WORDS = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt"
    " ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation"
    " ullamco laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit"
    " voluptate velit esse cillum fugiat nulla pariatur excepteur sint occaecat cupidatat"
).split()
UNICODE_SNIPPETS = ("naïve café ☕", "größte Freude", "日本語のテキスト", "emoji 🎉🚀",
                    "Ελληνικά", "русский текст", "¿qué tal?", "عربى", "“smart quotes” — dash")
HTML_SNIPPETS = ('<p>Hello <b>there</b></p>', '<a href="https://example.com/?a=1&b=2">link</a>',
                 "<ul><li>one</li><li>two</li></ul>", "<br/>", '<span style="color:red">!</span>')
TIMEZONES = ("America/Los_Angeles", "America/New_York", "America/Chicago", "America/Denver",
             "Europe/London", "Europe/Berlin", "Australia/Sydney", "Asia/Tokyo", "")
USER_AGENTS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0",
               "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15",
               "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Safari/605.1.15")
SYSTEM_SOURCES = ("0", "1", "2", "3", "Ontraport API", "Import", "Form", "Zapier")
INDUSTRIES = ("Fitness", "Real Estate", "Coaching", "Software", "Retail", "Healthcare",
              "Education", "Finance", "Hospitality")
CURRENCIES = ("USD", "USD", "USD", "CAD", "EUR", "GBP", "AUD")
CARD_BRANDS = ("Visa", "MasterCard", "American Express", "Discover")
WEBHOOK_EVENTS = ("object_create(0)", "sub_tag(3)", "unsub_tag(3)", "object_submits_form(2)",
                  "object_create(10000)")
MESSAGE_TYPES = ("e-mail", "sms", "postcard", "Task", "ONTRAmail")
ICONS = ("paw", "home", "star", "user", "tag")
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_HEX = "0123456789abcdef"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _token(dice: Dice, alphabet: str, length: int) -> str:
    return "".join(alphabet[dice.next() % len(alphabet)] for _ in range(length))


def _words(dice: Dice, low: int, high: int) -> str:
    return " ".join(dice.choice(WORDS) for _ in range(dice.between(low, high)))


def _paragraph(dice: Dice) -> str:
    """Longtext: plain most of the time, with unicode, HTML and newlines in some records."""
    text = _words(dice, 6, 30).capitalize() + "."
    roll = dice.unit()
    if roll < 0.15:
        text += " " + dice.choice(UNICODE_SNIPPETS)
    elif roll < 0.25:
        text = dice.choice(HTML_SNIPPETS) + text
    elif roll < 0.40:
        text += "\n" + _words(dice, 3, 12) + "\r\n\t- " + _words(dice, 1, 4)
    return text


def _first_name(dice: Dice) -> str:
    return dice.choice(FIRST_NAMES_CJK) if dice.chance(0.02) else dice.choice(FIRST_NAMES)


def _email(dice: Dice) -> str:
    first, last = _ascii(dice.choice(FIRST_NAMES)), _ascii(dice.choice(LAST_NAMES))
    local = f"{first}.{last}".replace("'", "")
    if dice.chance(0.5):
        local += str(dice.between(1, 999))
    if dice.chance(0.05):
        local = local.capitalize()  # emails keep the case they were typed in
    return f"{local}@{dice.choice(DOMAINS)}"


def _phone(dice: Dice) -> str:
    styles = ("+1 (%03d) %03d-%04d", "%03d-%03d-%04d", "+1%03d%03d%04d", "(%03d) %03d %04d")
    return dice.choice(styles) % (dice.between(200, 989), dice.between(200, 999),
                                  dice.between(0, 9999))


def _timestamp(dice: Dice, ctx: Context) -> str:
    low = ctx.date if ctx.date else EPOCH_START
    return str(dice.between(min(low, EPOCH_END), EPOCH_END))


def _fulldate(dice: Dice, field: FieldSpec, ctx: Context) -> str:
    if field.name == "birthday" or field.alias.lower().endswith("birthday"):
        stamp = dice.between(-631152000, 1136073600)  # born 1950 .. 2006
    else:
        stamp = dice.between(EPOCH_START, EPOCH_END + 180 * 86400)
    return str(stamp - stamp % 86400)  # midnight UTC (unconfirmed, reference 5.1)


def _number(dice: Dice, field: FieldSpec) -> str:
    low, high = NUMBER_RANGES.get(field.name, (0, 1000))
    if high > 100 and dice.chance(0.6):
        high = low + (high - low) // 20  # most counts are small
    return str(dice.between(low, high))


def _price(dice: Dice) -> str:
    cents = dice.between(0, 99999) if dice.chance(0.9) else dice.between(100000, 2500000)
    return f"{cents / 100:.2f}"


def _check(dice: Dice, field: FieldSpec) -> str:
    on = dice.chance(0.3)
    if field.word_booleans:
        return "true" if on else "false"
    return "1" if on else "0"


def _drop(dice: Dice, field: FieldSpec) -> str:
    return dice.choice(tuple(field.options or {"0": ""}))


def _id_list(ids: list[str]) -> str:
    return "*/*" + "*/*".join(ids) + "*/*"


def _list(dice: Dice, field: FieldSpec) -> str:
    options = tuple(field.options or ())
    chosen = sorted({dice.choice(options) for _ in range(dice.between(0, 3))}, key=int)
    if not chosen:
        return dice.choice(("*/**/*", ""))
    return _id_list(chosen)


def _subscription(dice: Dice, field: FieldSpec, ctx: Context) -> str:
    target = field.subscription_object
    ids = {ctx.pick_id(target, dice) for _ in range(dice.between(0, 4))} if target is not None else set()
    picked = {i for i in ids if i is not None}
    if not picked:
        return dice.choice(("*/**/*", ""))
    return _id_list(sorted(picked, key=int))


def _parent(dice: Dice, field: FieldSpec, ctx: Context) -> str:
    if field.parent_object is not None:
        picked = ctx.pick_id(field.parent_object, dice)
        if picked is not None:
            return picked
    return "0" if dice.chance(0.7) else str(dice.between(1, 40))


def _json_blob(dice: Dice) -> str:
    blob = {"id": dice.between(1, 500), "name": _words(dice, 1, 3),
            "items": [dice.between(1, 9) for _ in range(dice.between(0, 3))]}
    return json.dumps(blob)


class Context:
    """What a generator may know about the record it fills in."""

    __slots__ = ("date", "pick_id")

    def __init__(self, date: int, pick_id: Callable[[int, Dice], str | None]):
        self.date = date
        self.pick_id = pick_id


Generator = Callable[[Dice, FieldSpec, Context], Any]

GENERATORS: dict[str, Generator] = {
    "words": lambda d, f, c: _words(d, 1, 3).title(),
    "title_words": lambda d, f, c: _words(d, 1, 4).title() + (" ✨" if d.chance(0.05) else ""),
    "sentence": lambda d, f, c: _words(d, 3, 9).capitalize(),
    "paragraph": lambda d, f, c: _paragraph(d),
    "first_name": lambda d, f, c: _first_name(d),
    "last_name": lambda d, f, c: d.choice(LAST_NAMES),
    "full_name": lambda d, f, c: f"{_first_name(d)} {d.choice(LAST_NAMES)}",
    "email": lambda d, f, c: _email(d),
    "email_field": lambda d, f, c: d.choice(("email", "sms_number", "f1003")),
    "phone": lambda d, f, c: _phone(d),
    "url": lambda d, f, c: f"https://{d.choice(DOMAINS)}/{_words(d, 1, 2).replace(' ', '-')}",
    "street": lambda d, f, c: f"{d.between(1, 9999)} {d.choice(STREETS)}",
    "address2": lambda d, f, c: f"Suite {d.between(1, 900)}",
    "city": lambda d, f, c: d.choice(CITIES),
    "county": lambda d, f, c: d.choice(("Santa Barbara", "Travis", "Cook", "King", "Dade")),
    "zip": lambda d, f, c: f"{d.between(1000, 99999):05d}",
    "company": lambda d, f, c: d.choice(COMPANIES),
    "job_title": lambda d, f, c: d.choice(JOB_TITLES),
    "tag": lambda d, f, c: d.choice(("Customer", "Lead", "VIP", "Newsletter", "Webinar",
                                     "Cold", "Hot lead", "Affiliate", "Étudiant")) + f" {d.between(1, 99)}",
    "object_name": lambda d, f, c: "Contacts",
    "unique_id": lambda d, f, c: _token(d, _ALNUM, 7),
    "ip": lambda d, f, c: ".".join(str(d.between(1, 254)) for _ in range(4)),
    "timezone": lambda d, f, c: d.choice(TIMEZONES),
    "user_agent": lambda d, f, c: d.choice(USER_AGENTS),
    "hex32": lambda d, f, c: _token(d, _HEX, 32),
    "token": lambda d, f, c: _token(d, _ALNUM + "abcdefghijk_-", 24),
    "system_source": lambda d, f, c: d.choice(SYSTEM_SOURCES),
    "source_location": lambda d, f, c: d.choice(("", "Landing page", "API", "Facebook lead ad")),
    "currency": lambda d, f, c: d.choice(CURRENCIES),
    "sku": lambda d, f, c: _token(d, _ALNUM, 3) + "-" + str(d.between(100, 999)),
    "stripe_id": lambda d, f, c: "txr_" + _token(d, _ALNUM + "abcdefgh", 14),
    "last4": lambda d, f, c: f"{d.between(0, 9999):04d}",
    "card_brand": lambda d, f, c: d.choice(CARD_BRANDS),
    "gender": lambda d, f, c: d.choice(("male", "female", "")),
    "charge_result": lambda d, f, c: d.choice(("Approved", "Declined", "")),
    "webhook_event": lambda d, f, c: d.choice(WEBHOOK_EVENTS),
    "domain": lambda d, f, c: d.choice(("", "pages.example.com", "go.acme.test")),
    "handle": lambda d, f, c: "@" + _ascii(d.choice(LAST_NAMES)).replace("'", ""),
    "industry": lambda d, f, c: d.choice(INDUSTRIES),
    "from_kind": lambda d, f, c: d.choice(("owner", "custom", "user")),
    "message_type": lambda d, f, c: d.choice(MESSAGE_TYPES),
    "language": lambda d, f, c: d.choice(("en", "en", "es", "fr", "de")),
    "json_blob": lambda d, f, c: _json_blob(d),
    "id_csv": lambda d, f, c: ",".join(str(d.between(1, 30)) for _ in range(d.between(0, 3))),
    "coupon_code": lambda d, f, c: _token(d, _ALNUM, 8),
    "table_name": lambda d, f, c: "custom_" + _token(d, _HEX, 6),
    "key_name": lambda d, f, c: _words(d, 1, 1),
    "icon": lambda d, f, c: d.choice(ICONS),
    "theme": lambda d, f, c: d.choice(("blue", "green", "orange")),
    "number": lambda d, f, c: _number(d, f),
    "price": lambda d, f, c: _price(d),
    "check": lambda d, f, c: _check(d, f),
    "drop": lambda d, f, c: _drop(d, f),
    "list": lambda d, f, c: _list(d, f),
    "state": lambda d, f, c: d.choice(STATES),
    "country": lambda d, f, c: d.choice(COUNTRIES),
    "fulldate": lambda d, f, c: _fulldate(d, f, c),
    "timestamp": lambda d, f, c: _timestamp(d, c),
    "parent": lambda d, f, c: _parent(d, f, c),
    "subscription": lambda d, f, c: _subscription(d, f, c),
    "none": lambda d, f, c: None,
}


def as_json_number(value: Any) -> Any:
    """'12' -> 12, '12.50' -> 12.5; anything else unchanged."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value
    return value
