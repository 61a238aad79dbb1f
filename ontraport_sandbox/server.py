"""The HTTP side of the sandbox: one thread per connection, and what happens to a request
before the API answers it (faults, rate limit, authentication, latency) and after
(after_collection hooks, counters, the request log).

The request log and everything printed carry method, path, query, status and duration
only: never a header, so never the App ID or the API key.
"""

from __future__ import annotations

import hmac
import random
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from .account import Account
from .api import JSON, TEXT, Api, CollectionRequest, Response, encode_json
from .counters import Counters, LogEntry
from .faults import REPLACING, Fault, FaultPlan
from .ratelimit import OtherToolTraffic, RateScenario, RollingWindow
from .variants import NO_COLLECTION_COUNT, UNKNOWN_FIELD_IGNORED, account_objects, refused_objects, validate
from .webhooks import PATHS as WEBHOOK_PATHS
from .webhooks import WebhookError, WebhookHub

AUTH_FAILURE = "Your App ID and API Key do not authenticate."
BUSY_MESSAGE = "The server is temporarily busy. Please try again."  # assumed wording
LOG_MODES = ("quiet", "requests", "verbose")
#: Query parameters never written to a log, whatever a client puts there.
_SECRET_PARAM_WORDS = ("key", "appid", "app_id", "secret", "password", "token")

_GATEWAY_PAGE = ("<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
                 "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
                 "</body>\r\n</html>\r\n")
_MAINTENANCE_PAGE = ("<!DOCTYPE html>\n<html><head><title>Ontraport | Scheduled Maintenance"
                     "</title></head>\n<body><h1>We&rsquo;ll be right back.</h1>\n<p>Ontraport "
                     "is undergoing scheduled maintenance.</p></body></html>\n")
_SERVER_ERROR_PAGE = ("<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n"
                      "<title>500 Internal Server Error</title>\n</head><body>\n<h1>Internal "
                      "Server Error</h1>\n</body></html>\n")


def redact(params: dict[str, str]) -> dict[str, str]:
    return {k: ("[redacted]" if any(w in k.lower() for w in _SECRET_PARAM_WORDS) else v)
            for k, v in params.items()}


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung request never keeps the process (or stop()) waiting
    sandbox: Sandbox

    def handle_error(self, request, client_address) -> None:
        # A client that hangs up mid-request (a killed tap, a timeout) is not a server error.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API
    server_version = "nginx"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are dropped after this

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.sandbox._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.sandbox._track(self.connection, False)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the sandbox writes its own, header-free log

    def do_GET(self) -> None:
        self.server.sandbox._serve(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    # -- writing answers ------------------------------------------------------------------------

    #: Called with the status just before an answer is written (the counters are then
    #: up to date by the time the client reads the answer).
    before_answer: Callable[[int], None] | None = None

    def send_answer(self, status: int, body: bytes, content_type: str,
                    headers: dict[str, str] | None = None) -> None:
        if self.before_answer is not None:
            self.before_answer(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reset_connection(self) -> None:
        """Drop the connection with a TCP RST and no answer at all."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass

    def drain_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""


class Sandbox:
    """A local imitation of the Ontraport REST API v1. See docs/sandbox.md."""

    def __init__(self, seed: int = 1, scale: float = 1.0, sizes: dict | None = None,
                 rate_limit: int | None = 180, rate_window: float = 60.0,
                 latency: float = 0.0, jitter: float = 0.0,
                 app_id: str = "sandbox", api_key: str = "sandbox",
                 faults: Iterable[Fault] = (), forbidden: Iterable[int] = (),
                 odd_values: bool = False, host: str = "127.0.0.1", port: int = 0,
                 log: str = "quiet", variants: Iterable[str] = (),
                 rate_scenario: RateScenario | None = None):
        if log not in LOG_MODES:
            raise ValueError(f"log must be one of {LOG_MODES}")
        self.seed = seed
        self.variants: tuple[str, ...] = validate(variants)  # see variants.VARIANTS
        self.account = Account(seed=seed, scale=scale, sizes=sizes, odd_values=odd_values,
                               objects=account_objects(self.variants))
        self.api = Api(self.account, forbidden=forbidden, seed=seed,
                       refused=refused_objects(self.variants),
                       ignore_unknown_fields=UNKNOWN_FIELD_IGNORED in self.variants,
                       collection_count=NO_COLLECTION_COUNT not in self.variants)
        self.counters = Counters()
        #: Subscriptions (POST /Webhook/subscribe) and the data changes that deliver: see webhooks.py.
        self.webhooks = WebhookHub(self.account)
        self.limiter = RollingWindow(rate_limit, rate_window, scenario=rate_scenario)
        self.fault_plan = FaultPlan(faults, seed)
        self.host, self.port, self.log = host, port, log
        self.app_id, self.api_key = app_id, api_key  # what clients must send (never logged)
        self._credentials = (app_id.encode(), api_key.encode())
        self._latency = (float(latency), float(jitter))
        self._latency_rng = random.Random(seed)
        self._lock = threading.Lock()
        self._hooks: list[Callable[[Sandbox, CollectionRequest], None]] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self.host, self.port), _Handler)
        self._server.sandbox = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"ontraport-sandbox:{self.port}", daemon=True)
        self._thread.start()
        self.limiter.begin()
        other = self.limiter.scenario.other
        if other is not None and self.limiter.enabled:
            OtherToolTraffic(self.limiter, other, self._stopping).start()
        return self

    def stop(self) -> None:
        """Stop serving; returns promptly even while a "hang" fault holds a request."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes hung and delayed requests
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.webhooks.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/1"

    # -- runtime settings ---------------------------------------------------------------------------

    def after_collection(self, hook: Callable[[Sandbox, CollectionRequest], None] | None) -> None:
        """Call hook(sandbox, request) after each collection read is computed, before it is
        sent (several hooks allowed); None clears them."""
        with self._lock:
            if hook is None:
                self._hooks.clear()
            else:
                self._hooks.append(hook)

    def set_faults(self, faults: Iterable[Fault]) -> None:
        self.fault_plan.set(faults)

    def set_rate_limit(self, limit: int | None, window: float = 60.0) -> None:
        self.limiter.configure(limit, window)

    def set_latency(self, latency: float, jitter: float = 0.0) -> None:
        with self._lock:
            self._latency = (float(latency), float(jitter))

    # -- serving one request ---------------------------------------------------------------------

    def _track(self, connection: socket.socket, active: bool) -> None:
        with self._lock:
            (self._connections.add if active else self._connections.discard)(connection)

    def _authenticated(self, handler: _Handler) -> bool:
        app_id = (handler.headers.get("Api-Appid") or "").encode()
        api_key = (handler.headers.get("Api-Key") or "").encode()
        expected_app, expected_key = self._credentials
        # both compared every time, so timing says nothing about which one was wrong
        return hmac.compare_digest(app_id, expected_app) & hmac.compare_digest(api_key, expected_key)

    def _delay(self) -> float:
        with self._lock:
            latency, jitter = self._latency
            return max(0.0, latency + (self._latency_rng.uniform(-jitter, jitter) if jitter else 0.0))

    def _serve(self, handler: _Handler) -> None:
        arrived = time.monotonic()
        split = urlsplit(handler.path)
        path = split.path
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        safe_params = redact(params)
        number = self.counters.arrived(path, arrived, LogEntry(arrived, handler.command, path, safe_params, 0))
        status, fault, limited = 0, None, False
        recorded = False

        def record(served: int) -> None:  # once per request: the counters and the request log
            nonlocal recorded
            if recorded:
                return
            recorded = True
            entry = LogEntry(arrived, handler.command, path, safe_params, served)
            self.counters.finished(number, entry, fault=fault.kind if fault else None, rate_limited=limited)
            if self.log != "quiet":
                self._log(entry, fault, time.monotonic() - arrived)

        handler.before_answer = record
        try:
            body = handler.drain_body()
            fault = self.fault_plan.pick(number, path)
            delay = self._delay()
            if delay and self._stopping.wait(delay):
                handler.reset_connection()
                return
            if fault is not None and fault.kind in REPLACING:
                status = self._serve_fault(handler, fault)
                return
            if fault is not None and fault.kind == "hang" and self._stopping.wait(fault.hang_seconds):
                handler.reset_connection()
                return
            allowed, rate_headers = self.limiter.acquire()
            if not allowed:
                status, limited = 429, True  # set before the answer: record() reads it
                handler.send_answer(429, self.limiter.refusal().encode(), TEXT, rate_headers)
                return
            if not self._authenticated(handler):
                status = 401
                handler.send_answer(401, AUTH_FAILURE.encode(), TEXT, rate_headers)
                return
            if path in WEBHOOK_PATHS:
                response = self._webhook_call(handler.command, path, params, body)
            else:
                response = self.api.handle(handler.command, path, params)
            if response.collection is not None:
                self._run_hooks(response.collection)
            body = response.body()
            if fault is not None and fault.kind == "truncated":
                body = body[: len(body) // 2]
            status = response.status
            handler.send_answer(status, body, response.content_type, rate_headers)
        except OSError:
            pass  # the client went away mid-answer: nothing left to tell it
        except Exception:  # never let one request take the server down
            traceback.print_exc(file=sys.stderr)
            if not status:
                status = 500
                try:
                    handler.send_answer(500, b"Internal Server Error", TEXT)
                except OSError:
                    status = 0
        finally:
            record(status)  # requests that got no answer (resets, hangs cut short, errors)
            handler.before_answer = None

    def _webhook_call(self, method: str, path: str, params: dict[str, str], body: bytes) -> Response:
        try:
            data = self.webhooks.handle(method, path, params, body)
        except WebhookError as error:
            if error.status == 400:
                return Response(400, {"code": 1, "data": str(error), "account_id": self.account.account_id})
            return Response(error.status, str(error), TEXT)
        return Response(200, {"code": 0, "data": data, "account_id": self.account.account_id})

    def _serve_fault(self, handler: _Handler, fault: Fault) -> int:
        """Answer in place of the API; returns the status served (0: none)."""
        kind = fault.kind
        if kind == "reset":
            handler.reset_connection()
            return 0
        if kind == "429":
            limit = self.limiter.limit or 180
            headers = {"x-rate-limit-limit": str(limit), "x-rate-limit-remaining": "0",
                       "x-rate-limit-reset": str(max(1, int(-(-fault.reset_seconds // 1))))}
            window = self.limiter.window if self.limiter.enabled else 60
            text = (f"Too Many Requests - You have exceeded your maximum rate limit of {limit} "
                    f"requests per {window:g} seconds")
            handler.send_answer(429, text.encode(), TEXT, headers)
            return 429
        if kind == "busy":
            body = encode_json({"code": 1, "data": BUSY_MESSAGE, "account_id": self.account.account_id})
            handler.send_answer(200, body, JSON, self.limiter.peek())
            return 200
        if kind == "html":
            handler.send_answer(200, _MAINTENANCE_PAGE.encode(), TEXT)
            return 200
        if kind == "500":
            handler.send_answer(500, _SERVER_ERROR_PAGE.encode(), TEXT, self.limiter.peek())
            return 500
        reasons = {"502": "Bad Gateway", "503": "Service Temporarily Unavailable", "504": "Gateway Time-out"}
        page = _GATEWAY_PAGE.format(code=kind, reason=reasons[kind])
        handler.send_answer(int(kind), page.encode(), TEXT)
        return int(kind)

    def _run_hooks(self, request: CollectionRequest) -> None:
        with self._lock:
            hooks = list(self._hooks)
        for hook in hooks:
            try:
                hook(self, request)
            except Exception:
                traceback.print_exc(file=sys.stderr)

    def _log(self, entry: LogEntry, fault: Fault | None, seconds: float) -> None:
        query = urlencode(entry.params)
        line = f"{entry.method} {entry.path}{'?' + query if query else ''} {entry.status or '-'} {seconds * 1000:.1f}ms"
        if self.log == "verbose":
            if fault is not None:
                line += f" fault={fault.kind}"
            remaining = self.limiter.peek().get("x-rate-limit-remaining")
            if remaining is not None:
                line += f" window_remaining={remaining}"
        print(line, file=sys.stderr, flush=True)

    def describe(self) -> str:
        """A few lines about the account (for the CLI's verbose start-up)."""
        lines = []
        for object_id in self.account.object_ids():
            store = self.account.store(object_id)
            named = f"/{store.spec.plural}" if store.spec.plural else f"/objects?objectID={object_id}"
            lines.append(f"  {object_id:>6} {store.spec.meta_name:<20} {len(store.ids):>7} records  {named}")
        return "\n".join(lines)
