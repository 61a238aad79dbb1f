"""A stream's deletion sweep: the requests and records around `deletions.DeletionSweep`.

The algorithm (which key ranges to count, when to list) is deletions.py; this turns each
range it asks about into one page request, each key it finds gone into a record with
`_sdc_deleted_at`, and saves its progress after every request.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator

from tap_ontraport.client import ApiResponse
from tap_ontraport.deletions import DeletionSweep, KnownKeys, RangeAnswer, SweepProgress, finish_sweep, known_keys
from tap_ontraport.errors import ApiError
from tap_ontraport.paging import Segment
from tap_ontraport.walker import PageToken, count_of, keys_of, rows_of

logger = logging.getLogger("tap-ontraport")

#: Column added to the records that the deletion sweep reports.
DELETED_AT = "_sdc_deleted_at"


def stream_known_keys(stream_name: str, state: dict) -> KnownKeys:
    """The known keys of the stream's state; a damaged encoding is a one-line error."""
    try:
        return known_keys(state)
    except ValueError as exc:
        raise ApiError(f"Stream '{stream_name}': {exc}.") from None


class StreamSweep:
    """The sweep of one stream: `fetch` asks for a page, `save` writes STATE (after each
    request, with records or none, and once the sweep is folded into the known keys)."""

    def __init__(
        self,
        stream_name: str,
        key: str,
        fetch: Callable[[PageToken], ApiResponse],
        *,
        save: Callable[[], None],
    ) -> None:
        self.stream_name = stream_name
        self.key = key
        self.fetch = fetch
        self.save = save

    def records(self, state: dict, known: KnownKeys) -> Iterator[dict]:
        """A record with `_sdc_deleted_at` for each known key that is gone."""
        deleted_at = dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")
        sweep = DeletionSweep(known, SweepProgress.from_state(state["sweep"]), self.count_keys)
        gone = 0
        while not sweep.progress.done:
            for key in sweep.step():
                yield {self.key: key, DELETED_AT: deleted_at}
                gone += 1
            state["sweep"] = sweep.progress.to_state()
            self.save()
        self._report(sweep.progress, gone)
        finish_sweep(state, sweep)
        self.save()

    def count_keys(self, after: int, until: int | None) -> RangeAnswer:
        """The count of `after < key <= until` and its first keys (one request)."""
        response = self.fetch(PageToken(Segment(after=after, until=until), list_fields=self.key, count=True))
        count = count_of(response)
        keys = tuple(keys_of(rows_of(response), self.key))
        if count is None:  # no count: the sweep lists the range (deletions.py)
            return RangeAnswer(None, keys)
        if count > len(keys) and not keys:
            raise ApiError(f"Stream '{self.stream_name}': the API counted {count} record(s) with keys above "
                           f"{after} but listed none of their keys; the deletion sweep cannot go on.")
        return RangeAnswer(count, keys)

    def _report(self, progress: SweepProgress, gone: int) -> None:
        if gone:
            logger.info("%s: %d record(s) deleted in Ontraport since the last sweep", self.stream_name, gone)
        if progress.uncounted:
            logger.warning(
                "%s: the API answered %d of the deletion sweep's %d request(s) without a count "
                "(`count=true`); those key ranges were listed key by key instead, which costs as "
                "much as listing every key", self.stream_name, progress.uncounted, progress.requests,
            )
