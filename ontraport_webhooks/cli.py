"""`ontraport-webhooks`: serve deliveries, and manage Ontraport's webhook subscriptions.

    ontraport-webhooks serve [--store PATH|URL] [--port 8080]        # tokens: ONTRAPORT_WEBHOOKS_TOKENS
    ontraport-webhooks subscribe --event 'sub_tag(4)' --url https://hooks.example.com/hooks/TOKEN
    ontraport-webhooks list
    ontraport-webhooks unsubscribe ID

The subscription commands read the tap's settings: `--config FILE` (the tap's config file), then
the tap's variables TAP_ONTRAPORT_APP_ID, TAP_ONTRAPORT_API_KEY, TAP_ONTRAPORT_API_URL for what the
file does not give. The App ID and key are never printed, nor a receiver token inside a URL.
Every problem is one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

from ontraport_webhooks.store import StoreError, open_store
from tap_ontraport.client import OntraportAuthenticator
from tap_ontraport.errors import REDACTOR, OntraportError, excerpt
from tap_ontraport.inputs import read_json_object
from tap_ontraport.settings import DEFAULT_API_URL, ENV_PREFIX

TOKENS_VARIABLE = "ONTRAPORT_WEBHOOKS_TOKENS"
STORE_VARIABLE = "ONTRAPORT_WEBHOOKS_STORE"
DEFAULT_STORE = "webhook_events.sqlite"
#: The six events Ontraport delivers; the argument is an object type, form, tag or product id.
EVENT_PATTERN = re.compile(
    r"^(object_create|object_submits_form|sub_tag|unsub_tag|purchase_product|transaction_created_with_product)"
    r"\(\d+\)$"
)
DATA_FORMATS = ("notify", "lightweight", "json")
_TOKEN_IN_URL = re.compile(r"(/hooks/)([^/?#]{4})[^/?#]*")


class CliError(Exception):
    """One line for the user, exit status 1."""


def mask_url(url: str) -> str:
    """A subscription URL as it may be printed: the receiver token cut to its first 4 characters."""
    return _TOKEN_IN_URL.sub(r"\1\2…", url)


# --- serve -------------------------------------------------------------------------------------


def read_tokens(token_file: str | None) -> tuple[str, ...]:
    if token_file:
        try:
            text = Path(token_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"The token file {token_file!r} could not be read: {exc.strerror}.") from None
        tokens = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    else:
        tokens = [part.strip() for part in os.environ.get(TOKENS_VARIABLE, "").split(",") if part.strip()]
    if not tokens:
        raise CliError(f"No token: set {TOKENS_VARIABLE} (comma-separated) or give --token-file "
                       "(one token per line). Make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
    short = [token for token in tokens if len(token) < 16]
    if short:
        raise CliError(f"{len(short)} token(s) shorter than 16 characters: a token is the only secret, make it long.")
    return tuple(tokens)


def cmd_serve(args: argparse.Namespace) -> None:
    try:
        from ontraport_webhooks.receiver import Receiver, ReceiverSettings, serve
    except ImportError:  # the receiver's web server is the `[webhooks]` extra
        raise CliError("serve needs aiohttp: pip install 'tap-ontraport[webhooks]'") from None

    settings = ReceiverSettings(read_tokens(args.token_file), max_body_bytes=args.max_body_bytes,
                                body_timeout=args.body_timeout)
    location = args.store or os.environ.get(STORE_VARIABLE) or DEFAULT_STORE
    try:
        store = open_store(location)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(serve(Receiver(store, settings), args.host, args.port))


# --- subscriptions -----------------------------------------------------------------------------


def api_settings(config_path: str | None) -> dict[str, str]:
    settings: dict[str, Any] = read_json_object(config_path, "config") if config_path else {}
    for name in ("app_id", "api_key", "api_url"):
        variable = ENV_PREFIX + name.upper()
        if not settings.get(name) and os.environ.get(variable):
            settings[name] = os.environ[variable]
    missing = [name for name in ("app_id", "api_key") if not settings.get(name)]
    if missing:
        raise CliError(f"{' and '.join(f'`{m}`' for m in missing)} missing: give --config FILE (the tap's config) "
                       f"or set {', '.join(ENV_PREFIX + m.upper() for m in missing)}.")
    REDACTOR.register([str(settings["app_id"]), str(settings["api_key"])])
    return {"app_id": str(settings["app_id"]), "api_key": str(settings["api_key"]),
            "api_url": str(settings.get("api_url") or DEFAULT_API_URL).rstrip("/")}


def call(settings: dict[str, str], method: str, path: str, *, form: dict[str, str] | None = None,
         params: dict[str, str] | None = None) -> Any:
    """One API call; the envelope's `data`, or a CliError naming what went wrong (never a secret)."""
    headers = OntraportAuthenticator(settings["app_id"], settings["api_key"]).auth_headers
    url = settings["api_url"] + path
    try:
        response = requests.request(method, url, headers=headers, data=form, params=params, timeout=60)
    except requests.RequestException as exc:
        raise CliError(REDACTOR.redact(f"{method} {path}: no answer from {settings['api_url']} "
                                       f"({type(exc).__name__})")) from None
    if response.status_code != 200:
        raise CliError(REDACTOR.redact(f"{method} {path}: HTTP {response.status_code}: {excerpt(response.text)}"))
    try:
        envelope = response.json()
    except ValueError:
        raise CliError(f"{method} {path}: the answer is not JSON: {excerpt(response.text)}") from None
    if not isinstance(envelope, dict) or envelope.get("code") not in (0, "0"):
        raise CliError(REDACTOR.redact(f"{method} {path}: Ontraport refused it: {excerpt(json.dumps(envelope))}"))
    return envelope.get("data")


def cmd_subscribe(args: argparse.Namespace) -> None:
    if not EVENT_PATTERN.match(args.event):
        raise CliError(f"--event {args.event!r} is not one of Ontraport's events: object_create(N), "
                       "object_submits_form(N), sub_tag(N), unsub_tag(N), purchase_product(N), "
                       "transaction_created_with_product(N)")
    if not args.url.startswith(("https://", "http://")):
        raise CliError("--url must be the receiver's address, https://host/hooks/TOKEN")
    form = {"url": args.url, "event": args.event}
    if args.format:
        form["data"] = json.dumps({"format": args.format})
    data = call(api_settings(args.config), "POST", "/Webhook/subscribe", form=form)
    subscription_id = data.get("id") if isinstance(data, dict) else None
    print(f"subscribed: id {subscription_id}, {args.event} -> {mask_url(args.url)}")


def cmd_list(args: argparse.Namespace) -> None:
    rows = call(api_settings(args.config), "GET", "/Webhooks", params={"range": "50"})
    rows = rows if isinstance(rows, list) else []
    print(f"{'id':>6}  {'event':<40} {'last_code':>9}  url")
    for row in sorted(rows, key=lambda r: int(r.get("id") or 0)):
        print(f"{str(row.get('id')):>6}  {str(row.get('event')):<40} {str(row.get('last_code') or ''):>9}  "
              f"{mask_url(str(row.get('url') or ''))}")
    print(f"{len(rows)} subscription(s)")


def cmd_unsubscribe(args: argparse.Namespace) -> None:
    data = call(api_settings(args.config), "DELETE", "/Webhook/unsubscribe", params={"id": str(args.id)})
    print(f"unsubscribed: id {args.id} ({data})")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="ontraport-webhooks", description=__doc__.split("\n\n")[0])
    commands = top.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="receive deliveries and store them")
    serve.add_argument("--store", help=f"SQLite path or postgresql:// URL (else ${STORE_VARIABLE}, else {DEFAULT_STORE})")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: behind a TLS proxy)")
    serve.add_argument("--port", type=int, default=8080, help="0: any free port (printed)")
    serve.add_argument("--token-file", help=f"one token per line (else ${TOKENS_VARIABLE})")
    serve.add_argument("--max-body-bytes", type=int, default=1_048_576)
    serve.add_argument("--body-timeout", type=float, default=10.0, help="seconds a body may take to arrive")
    serve.set_defaults(run=cmd_serve)
    for name, run, what in (("subscribe", cmd_subscribe, "subscribe a URL to an event"),
                            ("list", cmd_list, "list the account's subscriptions"),
                            ("unsubscribe", cmd_unsubscribe, "remove a subscription")):
        command = commands.add_parser(name, help=what)
        command.add_argument("--config", help="the tap's config file (app_id, api_key, api_url)")
        command.set_defaults(run=run)
        if name == "subscribe":
            command.add_argument("--event", required=True, help="e.g. 'sub_tag(4)'")
            command.add_argument("--url", required=True, help="https://host/hooks/TOKEN")
            command.add_argument("--format", choices=DATA_FORMATS, help="delivery format (default: all fields, form-encoded)")
        if name == "unsubscribe":
            command.add_argument("id", type=int)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except (CliError, OntraportError) as exc:
        print(f"ontraport-webhooks: {REDACTOR.redact(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
