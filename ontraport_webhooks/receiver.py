"""The receiver: `POST /hooks/<token>` stores a delivery, then answers 200; `GET /health` counts.

Answers, and what each means for Ontraport (which may send again when it gets no 200):

    200  stored and committed (or a repeat of a stored event: nothing new to keep)
    404  unknown token: nothing read, nothing stored
    400  not a delivery (not UTF-8, not form-encoded or JSON, not an object): counted
    408  the body did not arrive within `body_timeout` seconds
    413  the body is larger than `max_body_bytes`
    503  the store could not commit: not stored, Ontraport should send it again

The token is the only secret (Ontraport documents no signature), so it is never logged:
aiohttp's access log, which prints paths, is off; the receiver logs what it rejected and why.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

from aiohttp import web

from ontraport_webhooks.commit import GroupCommitter
from ontraport_webhooks.parse import MalformedBody, columns, parse_body
from ontraport_webhooks.store import Event, Store

logger = logging.getLogger("ontraport-webhooks")

#: What /health counts, in the order it lists them.
COUNTERS = ("stored", "duplicates", "unknown_token", "malformed", "too_large", "timed_out", "store_errors")


@dataclass(frozen=True)
class ReceiverSettings:
    tokens: tuple[str, ...]
    max_body_bytes: int = 1_048_576
    body_timeout: float = 10.0


class Receiver:
    def __init__(self, store: Store, settings: ReceiverSettings) -> None:
        if not settings.tokens or any(len(token) < 16 for token in settings.tokens):
            raise ValueError("every token must have at least 16 characters (it is the only secret)")
        self.store = store
        self.settings = settings
        self.committer = GroupCommitter(store)
        self.counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        self._tokens = tuple(token.encode() for token in settings.tokens)

    def count(self, name: str) -> None:
        with self._counts_lock:
            self.counts[name] += 1

    def known_token(self, token: str) -> bool:
        given = token.encode()
        # every token compared, each in constant time: the timing says nothing about which is near
        return sum(hmac.compare_digest(given, known) for known in self._tokens) > 0

    def app(self) -> web.Application:
        # client_max_size: aiohttp itself answers 413 past it, also for chunked bodies
        app = web.Application(client_max_size=self.settings.max_body_bytes)
        app.router.add_post("/hooks/{token}", self.hook)
        app.router.add_get("/health", self.health)
        app.on_cleanup.append(self._close)
        return app

    async def hook(self, request: web.Request) -> web.Response:
        if not self.known_token(request.match_info["token"]):
            self.count("unknown_token")
            logger.warning("rejected a delivery: unknown token (404)")
            return web.Response(status=404, text="Not Found")
        if (request.content_length or 0) > self.settings.max_body_bytes:
            return self._too_large(request.content_length or 0)
        try:
            raw = await asyncio.wait_for(request.read(), self.settings.body_timeout)
        except asyncio.TimeoutError:
            self.count("timed_out")
            logger.warning("rejected a delivery: body not received within %gs (408)", self.settings.body_timeout)
            return web.Response(status=408, text="Request Timeout", headers={"Connection": "close"})
        except web.HTTPRequestEntityTooLarge:
            return self._too_large(None)
        try:
            body = parse_body(raw, request.headers.get("Content-Type", ""))
        except MalformedBody as exc:
            self.count("malformed")
            logger.warning("rejected a delivery: %s (400)", exc)
            return web.Response(status=400, text=f"Bad Request: {exc}")
        event = Event(datetime.now(timezone.utc), columns(body), request.headers.get("Content-Type", ""),
                      body, raw.decode("utf-8"))
        try:
            stored = await asyncio.wrap_future(self.committer.submit(event))
        except Exception as exc:  # a StoreError or anything else: not stored, and Ontraport is told so
            self.count("store_errors")
            logger.error("could not store a delivery (503): %s", exc)
            return web.Response(status=503, text="Service Unavailable: not stored, send again")
        self.count("duplicates" if stored.duplicate else "stored")
        return web.json_response({"seq": stored.seq, "duplicate": stored.duplicate})

    def _too_large(self, length: int | None) -> web.Response:
        self.count("too_large")
        size = f"{length} bytes" if length is not None else "body"
        logger.warning("rejected a delivery: %s over %d bytes (413)", size, self.settings.max_body_bytes)
        return web.Response(status=413, text="Request Entity Too Large", headers={"Connection": "close"})

    async def health(self, request: web.Request) -> web.Response:
        with self._counts_lock:
            counts = {name: self.counts[name] for name in COUNTERS}
        return web.json_response({"status": "ok", "store": self.store.description, **counts,
                                  **self.committer.stats.snapshot()})

    async def _close(self, app: web.Application) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.committer.close)
        self.store.close()


async def serve(receiver: Receiver, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT; prints `listening on http://host:port` once the socket is bound.

    On a signal the server stops accepting, the writer commits what is queued, then it exits.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(receiver.app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    bound = runner.addresses[0]
    print(f"listening on http://{bound[0]}:{bound[1]} (deliveries at /hooks/<token>), "
          f"{receiver.store.description}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
