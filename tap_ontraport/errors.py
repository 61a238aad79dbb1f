"""The errors the tap raises, and the one place secrets are redacted.

Every error a user can meet carries one plain sentence that says what happened and what
to do. Messages are built without secrets; `Redactor` scrubs anything that slipped
through (log records, exception text) before it is written anywhere.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable


class OntraportError(Exception):
    """Base of the errors the tap raises on purpose; the message is meant for the user."""


class SettingsError(OntraportError):
    """A setting is missing or unusable; raised before any request is sent."""


class InputFileError(OntraportError):
    """A config, state or catalog file is missing, empty, not JSON, or not the right shape."""


class UnreachableError(OntraportError):
    """The API could not be reached at all (connection refused, unknown host) on first contact."""


class AuthenticationError(OntraportError):
    """Ontraport answered 401: the App ID / API key pair was rejected."""


class BadRequestError(OntraportError):
    """Ontraport answered 400 (or 422): it refused this request.

    `status` and `body` (an excerpt) let the stream tell an object the account refuses
    ("Invalid object type") from a condition or sort it refuses ("Invalid query").
    """

    def __init__(self, message: str, status: int = 400, body: str = "", request: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.request = request


class ObjectUnavailableError(OntraportError):
    """403 or 404 on an object: the key may not read it, or the account lacks it."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class RetriesExhaustedError(OntraportError):
    """A transient fault outlived the retry budget."""


class ApiError(OntraportError):
    """Any other answer the tap cannot use."""


def excerpt(text: str, limit: int = 160) -> str:
    """A short, single-line excerpt of a response body for an error message."""
    flat = re.sub(r"\s+", " ", text or "").strip()
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def plural(count: int, singular: str, many: str | None = None) -> str:
    """`1 record`, `1,500 records`, `1 retry`, `0 retries`."""
    return f"{count:,} {singular if count == 1 else (many or singular + 's')}"


class Redactor(logging.Filter):
    """Replaces every registered secret with *** in log records.

    One instance per process (`REDACTOR`), attached to the handlers that write our
    output; the tap registers the App ID and API key as soon as it reads its settings.
    """

    MASK = "***"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()

    def register(self, secrets: Iterable[str | None]) -> None:
        # Very short values would mask ordinary words; real keys and App IDs are long.
        new = {s for s in secrets if isinstance(s, str) and len(s) >= 4}
        with self._lock:
            self._secrets = tuple(sorted(set(self._secrets) | new, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, self.MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            cleaned = self.redact(message)
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                cleaned_exc = self.redact(str(exc))
                if cleaned_exc != str(exc):
                    # Keep the traceback's shape but not the secret inside the message.
                    record.exc_info = None
                    record.exc_text = None
                    cleaned = f"{cleaned} ({type(exc).__name__}: {cleaned_exc})"
            if cleaned != message or record.args:
                record.msg, record.args = cleaned, None
        return True


REDACTOR = Redactor()


def install_redaction() -> None:
    """Attach the redactor to every handler of the root logger (where all output goes)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if REDACTOR not in handler.filters:
            handler.addFilter(REDACTOR)
