"""What one stream does when Ontraport refuses its reads: a stream's trouble is that stream's.

A refusal (HTTP 400/422, 403, 404) on one object never stops the run. Either the object
itself is refused (no permission, not served, "Invalid object type": the stream is
skipped), or a query it needs is refused ("Invalid query": Ontraport answers that for a
condition or sort on a field the object doesn't have, e.g. `dlm` on accounts whose
Transactions lack it; the stream then reads its object in a mode that doesn't need that
field). Every such event is one warning, and one line of the end-of-run summary.

Where the API ignores such a condition instead (it matches nothing), the stream finds out
that its records lack the field (`ReplicationKeyMissing`) and reads in full the same way,
with one warning: the catalog asked for it, so it is not counted as a stream error.
"""

from __future__ import annotations

from dataclasses import dataclass

from tap_ontraport.errors import BadRequestError, ObjectUnavailableError

#: Words of a 400/422 body that say the object itself is refused, not the query.
OBJECT_REFUSED_HINTS = ("invalid object", "object type", "no such object", "unknown object")


@dataclass(frozen=True)
class Refusal:
    """One refused read of a stream: what was asked, what Ontraport answered."""

    status: int
    answer: str  # "GET /Offers?... answered HTTP 400 ('Invalid query')": no secret in it
    object_refused: bool  # True: the object itself is refused; False: only this query

    @classmethod
    def from_error(cls, exc: BadRequestError | ObjectUnavailableError) -> Refusal:
        if isinstance(exc, ObjectUnavailableError):
            return cls(exc.status, str(exc), object_refused=True)
        body = exc.body.lower()
        return cls(
            exc.status,
            f"{exc.request} answered HTTP {exc.status} ({exc.body!r})",
            object_refused=any(hint in body for hint in OBJECT_REFUSED_HINTS),
        )

    @property
    def why_skipped(self) -> str:
        if self.status == 403:
            return "the API key's user may not read this object (Ontraport permissions are per user)"
        if self.status == 404:
            return "the account does not offer it"
        if self.object_refused:
            return "Ontraport refuses reads of this object although its meta lists it"
        return "Ontraport refuses even a plain read of it by key"

    def skip_warning(self, stream: str, object_id: int) -> str:
        return f"Skipping stream '{stream}' (objectID {object_id}): {self.answer}; {self.why_skipped}."

    def summary_if_skipped(self) -> str:
        return f"skipped (HTTP {self.status}: {self.why_skipped})"

    def full_table_warning(self, stream: str, field: str) -> str:
        return (
            f"Stream '{stream}': Ontraport refused a query on {field}: {self.answer}. "
            f"Reading the whole object by key instead (full table) in this run; the account's "
            f"records may not carry {field}."
        )

    def summary_if_full_table(self, field: str) -> str:
        return f"read in full instead of incrementally: a query on {field} was refused (HTTP {self.status})"


class ReplicationKeyMissing(Exception):
    """The catalog asks to replicate on a field the object's records don't carry."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field

    def warning(self, stream: str) -> str:
        return (
            f"{stream}: the catalog asks for incremental replication on `{self.field}`, but the "
            f"account's records don't carry it; reading the whole object instead"
        )
