"""The one HTTP client every request of the tap goes through.

    auth headers -> account-wide rate governor -> HTTP -> retry/backoff -> envelope check

Transient faults (429, 5xx, timeouts, resets, cut or non-JSON bodies, a "try again"
envelope) are retried with jittered exponential backoff; 429s wait exactly as long as
Ontraport's reset header says. Permanent faults raise one of the errors in `errors.py`
with a sentence that says what to fix. Nothing here ever puts the App ID or API key in a
message: they only ever travel in the request headers.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlparse

import backoff
import requests
import urllib3
from singer_sdk.authenticators import APIAuthenticatorBase

from tap_ontraport import __version__
from tap_ontraport.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ObjectUnavailableError,
    RetriesExhaustedError,
    UnreachableError,
    excerpt,
    plural,
)
from tap_ontraport.governor import RateGovernor

logger = logging.getLogger("tap-ontraport")

AUTH_REJECTED = (
    "Ontraport rejected the App ID / API key (HTTP 401). Check that `app_id` and `api_key` "
    "are the pair shown in Ontraport under Administration > Integrations > Ontraport API "
    "Instructions and Key Manager, that the key is still active, and that `api_url` points "
    "at the right server."
)

#: The label of the requests made before any stream runs (the account's /objects/meta).
DISCOVERY = "discovery"

#: Words in a 200 envelope with a non-zero code that mean "try again later".
_TEMPORARY_HINTS = ("try again", "temporar", "busy", "timeout", "timed out", "unavailable")

#: The first retry waits about this long (jittered: half of it to all of it), each next one
#: twice as long, up to `max_backoff_seconds`.
FIRST_RETRY_SECONDS = 1.0

#: Retries of a connection refused or a host name not found before the API ever answered:
#: then it is almost surely a wrong `api_url` or no network, so the run stops within
#: seconds (backoff 1 + 2 s at most) instead of spending `max_retries` on it.
FIRST_CONTACT_RETRIES = 2

#: Statuses that are worth another attempt.
_TRANSIENT_STATUSES = frozenset({408, 425, 500, 502, 503, 504, 520, 521, 522, 523, 524})


class OntraportAuthenticator(APIAuthenticatorBase):
    """Ontraport's two headers, `Api-Appid` and `Api-Key`, on every request."""

    def __init__(self, app_id: str, api_key: str) -> None:
        super().__init__()
        self.auth_headers = {"Api-Appid": app_id, "Api-Key": api_key}


@dataclass
class ApiResponse:
    """A successful answer: the envelope's `data`, plus what else the envelope held."""

    data: Any
    envelope: dict
    status: int
    headers: Mapping[str, str]


@dataclass
class RequestStats:
    """What one stream's (or discovery's) requests cost; summed up at the end of the run.

    Several page threads of one stream update it at once, hence `add`.
    """

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0  # 429s received
    wait_seconds: float = 0.0  # time spent in backoff and 429 waits
    faults: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, *, fault: str | None = None, **amounts: float) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)
            if fault is not None:
                self.faults[fault] += 1


class _TransientFault(Exception):
    """A failed attempt worth repeating; `reason` says what went wrong, for the logs."""

    def __init__(self, reason: str, status: int | None = None, body: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.body = body
        self.wait = 0.0  # for a 429: how long Ontraport asked us to wait
        self.unreachable: str | None = None  # "refused" or "dns": nothing answered at all


class OntraportClient:
    """Sends GETs to the Ontraport API on behalf of every stream of one tap process."""

    def __init__(
        self,
        *,
        api_url: str,
        authenticator: OntraportAuthenticator,
        governor: RateGovernor,
        request_timeout: float = 60.0,
        max_retries: int = 8,
        max_backoff_seconds: float = 60.0,
        max_rate_limit_wait_seconds: float = 900.0,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.authenticator = authenticator
        self.governor = governor
        self.request_timeout = request_timeout
        self.max_retries = max_retries
        self.max_backoff_seconds = max_backoff_seconds
        self.max_rate_limit_wait_seconds = max_rate_limit_wait_seconds
        self._local = threading.local()  # one requests.Session per thread
        self._stats_lock = threading.Lock()
        self.stats: dict[str, RequestStats] = {}
        self._logged_waits: set[tuple[str, str]] = set()
        self._answered = False  # the API has answered at least once (any HTTP status)
        self._answered_streams: set[str] = set()  # streams with a page read: a state to resume from

    # --- plumbing ---

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = f"tap-ontraport/{__version__}"
            session.auth = self.authenticator
            self._local.session = session
        return session

    def stats_for(self, label: str) -> RequestStats:
        with self._stats_lock:
            return self.stats.setdefault(label, RequestStats())

    def url_for(self, path: str) -> str:
        """Full URL of a path below `api_url` (a full URL is kept as it is)."""
        return path if "://" in path else self.api_url + path

    def describe(self, path: str, params: Mapping[str, Any] | None) -> str:
        """The request as it may appear in messages: path and query, never the headers."""
        if path.startswith(self.api_url):
            path = path[len(self.api_url):] or "/"
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        return f"GET {path}" + (f"?{query}" if query else "")

    # --- the one entry point ---

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, label: str = DISCOVERY,
            urgency: float = 0.0) -> ApiResponse:
        """GET `path` with `params`; retries transient faults; raises on permanent ones.

        `label` names the stream (or "discovery") in statistics and messages.
        """
        stats = self.stats_for(label)
        delays = backoff.expo(base=2, factor=FIRST_RETRY_SECONDS, max_value=self.max_backoff_seconds)
        next(delays)  # the generator's first value is a priming None
        failures = 0
        rate_limit_waited = 0.0
        while True:
            ticket = self.governor.acquire(urgency)
            try:
                answer = self._attempt(path, params, ticket, stats)
            except _TransientFault as fault:
                if fault.status == 429:
                    rate_limit_waited += self._wait_out_429(label, path, params, fault, stats, rate_limit_waited)
                else:
                    failures += 1
                    self._wait_to_retry(label, path, params, fault, stats, failures, next(delays))
                continue
            if label != DISCOVERY:
                self._answered_streams.add(label)
            return answer

    def _wait_out_429(self, label: str, path: str, params: Mapping[str, Any] | None, fault: _TransientFault,
                      stats: RequestStats, waited: float) -> float:
        """Sleep until the rate window resets (returns the seconds); raise past the allowed total."""
        wait = fault.wait
        stats.add(rate_limited=1)
        if waited + wait > self.max_rate_limit_wait_seconds:
            raise self._exhausted(label, path, params, fault, "waiting for the rate limit") from None
        self._log_wait_once(label, "429", f"{label}: Ontraport rate limit reached (HTTP 429); waiting {wait:.1f}s for the window to reset")
        self._sleep(wait, stats)
        return wait

    def _wait_to_retry(self, label: str, path: str, params: Mapping[str, Any] | None, fault: _TransientFault,
                       stats: RequestStats, failures: int, step: float) -> None:
        """Sleep a jittered backoff `step` before retry number `failures`; raise when none is left."""
        stats.add(fault=fault.reason)
        if fault.unreachable and not self._answered and failures > min(FIRST_CONTACT_RETRIES, self.max_retries):
            raise self._unreachable(path, fault.unreachable) from None
        if failures > self.max_retries:
            raise self._exhausted(label, path, params, fault, plural(self.max_retries, "retry", "retries")) from None
        stats.add(retries=1)
        delay = step / 2 + random.uniform(0, step / 2)  # jitter; keeps half the step
        # An unreachable API on first contact: the error line that follows says it all.
        first_contact = fault.unreachable is not None and not self._answered
        logger.log(
            logging.DEBUG if first_contact else logging.WARNING,
            "%s: %s on %s; retry %d of %d in %.1fs",
            label, fault.reason, self.describe(path, params), failures, self.max_retries, delay,
        )
        self._sleep(delay, stats)

    def _sleep(self, seconds: float, stats: RequestStats) -> None:
        stats.add(wait_seconds=seconds)
        time.sleep(seconds)

    def _log_wait_once(self, label: str, kind: str, message: str) -> None:
        key = (label, kind)
        if key not in self._logged_waits:
            self._logged_waits.add(key)
            logger.warning("%s (further waits of this kind are counted in the summary)", message)

    def _exhausted(self, label: str, path: str, params: Mapping[str, Any] | None, fault: _TransientFault, budget: str) -> RetriesExhaustedError:
        what = "Reading the account's objects" if label == DISCOVERY else f"Stream '{label}'"
        if fault.status:
            status = f"HTTP {fault.status}"
            cause = (fault.reason if status in fault.reason else f"{fault.reason}, {status}") + (
                f"; body: {excerpt(fault.body)!r}" if fault.body else ""
            )
            trouble = "Ontraport may be having trouble (https://ontraport.statuspage.io)"
        else:
            cause = f"{fault.reason}, no HTTP status, {host_port(self.url_for(path))}"
            trouble = "the network or Ontraport may be having trouble (https://ontraport.statuspage.io)"
        resume = ": the tap resumes from its last state" if self._answered_streams else ""
        return RetriesExhaustedError(
            f"{what}: {self.describe(path, params)} still failing after {budget} ({cause}). {trouble}; "
            f"raise `max_retries` or `max_rate_limit_wait_seconds` to wait longer, then re-run{resume}."
        )

    def _unreachable(self, path: str, why: str) -> UnreachableError:
        where = host_port(self.url_for(path))
        problem = "host name not found (the DNS lookup failed)" if why == "dns" else "connection refused (nothing listens on that port)"
        return UnreachableError(
            f"Cannot reach the API at `api_url` {self.api_url}: {where}: {problem}. Check `api_url` "
            "(Ontraport's is https://api.ontraport.com/1) and the network; nothing was read yet."
        )

    def _attempt(self, path: str, params: Mapping[str, Any] | None, ticket, stats: RequestStats) -> ApiResponse:
        url = self.url_for(path)
        stats.add(requests=1)
        try:
            response = self.session.get(url, params=params, timeout=self.request_timeout)
        except requests.exceptions.Timeout:
            self.governor.observe(ticket, None, None)
            raise _TransientFault(f"no answer within request_timeout={self.request_timeout:g}s") from None
        except requests.exceptions.RequestException as exc:
            self.governor.observe(ticket, None, None)
            fault = _TransientFault(f"connection failed ({type(exc).__name__})")
            fault.unreachable = unreachable_reason(exc)
            raise fault from None
        self._answered = True
        refusal = response.text if response.status_code == 429 else None
        wait = self.governor.observe(ticket, response.headers, response.status_code, refusal)
        try:
            return self._interpret(path, params, response)
        except _TransientFault as fault:
            fault.wait = wait
            raise

    def _interpret(self, path: str, params: Mapping[str, Any] | None, response: requests.Response) -> ApiResponse:
        status = response.status_code
        request = self.describe(path, params)
        if status == 401:
            raise AuthenticationError(AUTH_REJECTED)
        if status == 429:
            raise _TransientFault("rate limited (HTTP 429)", status, response.text)
        if status in _TRANSIENT_STATUSES:
            raise _TransientFault(f"HTTP {status}", status, response.text)
        if status in (403, 404):
            raise ObjectUnavailableError(
                f"{request} answered HTTP {status} ({excerpt(response.text, 80) or 'no body'})",
                status,
            )
        if status in (400, 422):
            raise BadRequestError(
                f"Ontraport refused {request} as malformed (HTTP {status}: "
                f"{excerpt(response.text)!r}). This is a bug in the tap or an unusual field "
                "name in the account; please report it with this line.",
                status,
                excerpt(response.text, 80),
                request,
            )
        if status >= 500:
            raise _TransientFault(f"HTTP {status}", status, response.text)
        if status != 200:
            raise ApiError(f"{request} answered HTTP {status}: {excerpt(response.text)!r}")
        try:
            envelope = json.loads(response.content)
        except ValueError:
            raise _TransientFault("malformed JSON body", status, response.text) from None
        if not isinstance(envelope, dict):
            raise _TransientFault("body is not a JSON object", status, response.text)
        code = envelope.get("code", 0)
        if code not in (0, "0"):
            text = json.dumps(envelope.get("data"), default=str)
            if any(hint in text.lower() for hint in _TEMPORARY_HINTS):
                raise _TransientFault(f"envelope code {code} (temporary)", status, text)
            raise ApiError(f"{request} returned error code {code}: {excerpt(text)!r}")
        return ApiResponse(data=envelope.get("data"), envelope=envelope, status=status, headers=response.headers)


def unreachable_reason(exc: BaseException) -> str | None:
    """"dns" or "refused" when a request failed before reaching any server, else None.

    requests wraps the socket error several levels deep (ConnectionError > MaxRetryError >
    NewConnectionError > ConnectionRefusedError), so the whole chain is searched.
    """
    pending: list[Any] = [exc]
    seen: set[int] = set()
    while pending:
        error = pending.pop()
        if not isinstance(error, BaseException) or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, (socket.gaierror, urllib3.exceptions.NameResolutionError)):
            return "dns"
        if isinstance(error, ConnectionRefusedError):
            return "refused"
        pending += [error.__cause__, error.__context__, getattr(error, "reason", None), *error.args]
    return None


def host_port(url: str) -> str:
    """`host:port` of a URL, the port filled in from the scheme when the URL has none."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return f"{parsed.hostname}:{port}"
