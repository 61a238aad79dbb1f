"""The streams: one per Ontraport object, all driven by `OntraportStream`, plus `fields`.

A stream is a row of `objects.py` plus the fields meta gave it; the behaviour lives here
once. How records are walked (segments by key, bookmarks) is explained in `paging.py`.
"""

from __future__ import annotations

import copy
import datetime as dt
import email.utils
import logging
import math
import time
import typing as t
from collections import deque
from dataclasses import dataclass, replace
from functools import cached_property

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import RemoveRecordTransform, SameRecordTransform
from singer_sdk.pagination import BaseAPIPaginator
from singer_sdk.streams.rest import HTTPRequest, PageContext, RESTStream

from tap_ontraport.client import ApiResponse
from tap_ontraport.deletions import (
    DeletionSweep,
    KnownKeys,
    RangeAnswer,
    SweepProgress,
    finish_sweep,
    known_keys,
    prepare_sweep,
)
from tap_ontraport.discovery import REPLICATION_KEY, AccountObject
from tap_ontraport.errors import ApiError, BadRequestError, ObjectUnavailableError
from tap_ontraport.fields import (
    PRIMARY_KEY_SCHEMA,
    FieldSpec,
    RecordCoercer,
    build_schema,
    parse_iso8601,
    schema_for_type,
    to_datetime,
    to_integer,
)
from tap_ontraport.objects import documented_type
from tap_ontraport.paging import (
    PAGE_SIZE,
    BookmarkTracker,
    Segment,
    condition,
    plan_segments,
    split_segment,
)
from tap_ontraport.pool import DEFAULT_PARALLEL_REQUESTS, PagePool
from tap_ontraport.progress import StreamProgress
from tap_ontraport.trouble import Refusal, ReplicationKeyMissing

if t.TYPE_CHECKING:
    from tap_ontraport.tap import TapOntraport

logger = logging.getLogger("tap-ontraport")

#: Column added to the records that the deletion sweep reports.
DELETED_AT = "_sdc_deleted_at"
#: A probed segment is cut into parallel key ranges only when each range gets at least
#: this many pages: every range ends on a part-filled page, and that waste must stay small.
MIN_PAGES_PER_RANGE = 15


@dataclass(frozen=True)
class PageToken:
    """Which page to ask for: a segment from its cursor, upward (or its probe)."""

    segment: Segment
    probe: bool = False  # newest keys first, with the total count
    list_fields: str | None = None  # only these fields (the deletion sweep lists keys)
    count: bool = False  # ask for the count of the segment too (the deletion sweep)


class KeysetPaginator(BaseAPIPaginator[PageToken]):
    """Next page = the same segment after the largest key of this one; a short page ends it."""

    def __init__(self, start: PageToken, key: str) -> None:
        super().__init__(start)
        self.key = key

    def get_next(self, response: ApiResponse) -> PageToken | None:  # type: ignore[override]
        page = response.data if isinstance(response.data, list) else []
        segment = self.current_value.segment
        if len(page) < PAGE_SIZE:
            return None
        keys = [k for k in (to_integer(row.get(self.key)) for row in page) if isinstance(k, int)]
        if not keys:
            return None
        last = max(keys)
        if segment.until is not None and last >= segment.until:
            return None
        expected = None if segment.expected is None else segment.expected - len(page)
        if expected is not None and expected <= 0:
            return None  # the count said this was the last record: no empty page needed
        return replace(self.current_value, segment=replace(segment, after=last, expected=expected))


def listed_names(value: t.Any) -> set[str]:
    """A list setting given as a list, or as comma-separated text (an environment variable)."""
    if isinstance(value, str):
        return {name.strip() for name in value.split(",") if name.strip()}
    return set(value or ())


def epoch_seconds(value: t.Any) -> int | None:
    """A replication-key value as epoch seconds (raw API value or RFC 3339 text)."""
    number = to_integer(value)
    if isinstance(number, int):
        return number
    moment = parse_iso8601(value) if isinstance(value, str) and value else None
    return None if moment is None else math.floor(moment.timestamp())


def server_time(response: ApiResponse) -> int:
    """Ontraport's clock from the Date header (ours, less a minute, if it is missing)."""
    header = response.headers.get("Date") if response.headers else None
    if header:
        try:
            return math.floor(email.utils.parsedate_to_datetime(header).timestamp())
        except (TypeError, ValueError):
            pass
    return math.floor(time.time()) - 60


def _names(schema: dict) -> dict:
    properties = schema.get("properties")
    return properties if isinstance(properties, dict) else {}


@dataclass
class _Walk:
    """One segment being read: what is safely emitted (`committed`) and what is asked next."""

    committed: Segment
    token: PageToken
    paginator: KeysetPaginator | None  # None while the segment's probe is out


class OntraportStream(RESTStream[PageToken]):
    """Any Ontraport object: schema from its fields, records walked by key (see paging.py)."""

    # Records are typed by our own coercers (fields.py), exactly to the schema.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    records_jsonpath = "$.data[*]"

    def __init__(self, tap: TapOntraport, found: AccountObject) -> None:
        self.object_type = object_type = found.object_type
        self.field_specs = found.fields
        has_dlm = found.incremental
        #: Append-only objects without a dlm are read by key (only keys above the highest seen).
        self.reads_by_key = (
            not has_dlm
            and object_type.append_only
            and object_type.stream_name not in listed_names(tap.config.get("full_table_streams"))
        )
        schema = build_schema(object_type.primary_key, found.fields)
        if (tap.config.get("detect_deletions") and has_dlm) or self.reads_by_key:
            schema["properties"][DELETED_AT] = {"type": ["string", "null"], "format": "date-time"}
        super().__init__(tap=tap, name=object_type.stream_name, schema=schema, path=object_type.collection_path)
        self.primary_keys = (object_type.primary_key,)
        self.replication_key = REPLICATION_KEY if has_dlm else (object_type.primary_key if self.reads_by_key else None)
        #: Meta doesn't list `dlm` and no record was sampled (a run given a catalog): whether
        #: the records carry the replication key the catalog asks for is still open.
        self.replication_key_unconfirmed = not found.dlm_known
        #: Set when Ontraport refused the incremental query in this run (see get_records).
        self.full_table_fallback = False

    @property
    def ontraport_tap(self) -> TapOntraport:
        """The tap, typed: its shared client, reports and counters."""
        return self._tap  # type: ignore[return-value]

    # --- what the SDK asks of a REST stream ---

    @property
    def url_base(self) -> str:
        return self.config["api_url"].rstrip("/")

    @property
    def authenticator(self):  # noqa: ANN201 - the tap's shared one
        return self.ontraport_tap.client.authenticator

    @property
    def emit_activate_version_messages(self) -> bool:
        # The SDK would send ACTIVATE_VERSION when a full-table sync *starts*; a target
        # then drops every row until the new ones arrive. We send it when a complete
        # pass has been emitted instead (see _finish_run), so this stays off.
        return False

    def get_new_paginator(self) -> KeysetPaginator:
        # Required by RESTStream; get_records() makes one paginator per segment itself.
        return KeysetPaginator(PageToken(Segment()), self.key)

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        token: PageToken = page.next_page_token or PageToken(Segment())
        params: dict[str, t.Any] = {}
        if self.object_type.needs_object_id_param:
            params["objectID"] = self.object_type.object_id
        params["range"] = PAGE_SIZE
        params["sort"] = self.key
        params["sortDir"] = "desc" if token.probe else "asc"
        clauses = token.segment.clauses(self.replication_key_field, self.key)
        if clauses:
            params["condition"] = condition(*clauses)
        if token.probe or token.count:
            params["count"] = "true"
        if token.list_fields:
            params["listFields"] = token.list_fields
        return HTTPRequest(url=self.get_url(page.stream_context), params=params)

    def parse_response(self, response: ApiResponse) -> t.Iterable[dict]:  # type: ignore[override]
        """Typed records of one page; a record with a new field first widens the schema."""
        for raw in response.data if isinstance(response.data, list) else []:
            record = self.coercer.coerce(raw)
            if self.coercer.learned:
                self._announce_fields(self.coercer.take_learned())
            if record.get(self.key) is None:
                self.ontraport_tap.coercion_report.count_invalid(self.name, self.key, "primary key", raw.get(self.key))
                continue
            yield record

    # --- our own pieces ---

    @property
    def key(self) -> str:
        return self.object_type.primary_key

    @property
    def replication_key_field(self) -> str | None:
        """The field incremental segments filter on; None when syncing the full table or by key."""
        if self.full_table_fallback or self.reads_by_key:
            return None
        return self.replication_key if self.replication_method == "INCREMENTAL" else None

    @cached_property
    def coercer(self) -> RecordCoercer:
        return RecordCoercer(
            self.name, self.key, self.field_specs, self.ontraport_tap.coercion_report,
            type_of=lambda name: documented_type(self.object_type, name),
        )

    def _announce_fields(self, specs: list[FieldSpec]) -> None:
        """Add columns for fields first seen in a record, then send the wider SCHEMA.

        Discovery adds the fields of one sampled record; this catches the others at run
        time, before the first record that carries them: it costs no request, sees fields
        that appear on any page, and works with a catalog passed by `--catalog` (Meltano
        passes one), whose schema the SDK would otherwise apply as is, dropping every
        property it doesn't list.
        """
        self.field_specs = [*self.field_specs, *specs]
        for spec in specs:
            source = f" (record key {spec.related_path!r})" if spec.related_path else ""
            logger.info(
                "%s.%s: field sent by the API but not described by its meta%s; loaded as %s from now on",
                self.name, spec.name, source, spec.ontraport_type,
            )
        self._widen_schema({spec.name: schema_for_type(spec.ontraport_type) for spec in specs})

    def _catch_up_with_catalog(self) -> None:
        """Columns the account has that a catalog passed in lacks (it predates them) are
        loaded too, announced with one SCHEMA before the first record."""
        listed = (self._input_schema or {}).get("properties")
        if not isinstance(listed, dict):
            return
        missing = {name: column for name, column in self.schema["properties"].items() if name not in listed}
        if missing:
            logger.info(
                "%s: the catalog lacks %d column(s) the account has (%s); loading them too",
                self.name, len(missing), ", ".join(sorted(missing)),
            )
            self._widen_schema(missing)

    def _widen_schema(self, columns: dict[str, dict]) -> None:
        for schema in self._schemas_in_use():
            for name, column in columns.items():
                schema["properties"].setdefault(name, dict(column))
        self._write_schema_message()

    def _schemas_in_use(self) -> list[dict]:
        """Every schema the SDK checks records against or sends (SDK internals, pinned by
        tests/tap/test_resilience.py): the stream's, the input catalog's, and the stream
        maps' (a user's map that picks its own columns keeps them)."""
        schemas = [self.schema]
        if self._input_schema is not None:
            schemas.append(self._input_schema)
        for stream_map in self.stream_maps:
            if isinstance(stream_map, RemoveRecordTransform):
                continue
            raw, sent = stream_map.raw_schema, stream_map.transformed_schema
            schemas.append(raw)
            # A map that passes every column through (no `__else__: null`) passes new ones too.
            if isinstance(stream_map, SameRecordTransform) or set(_names(raw)) <= set(_names(sent)):
                schemas.append(sent)
        return [schema for schema in schemas if isinstance(schema.get("properties"), dict)]

    def _fetch(self, token: PageToken, context: dict | None) -> ApiResponse:
        prefetcher = self.ontraport_tap.prefetcher
        if prefetcher is not None and context is None and token.list_fields is None:
            ahead = prefetcher.take(self.name, token)
            if ahead is not None:
                return ahead
        return self.fetch_page(token, context)

    def fetch_page(self, token: PageToken, context: dict | None = None, *, urgency: float | None = None) -> ApiResponse:
        """One page from the API (no read-ahead): what `token` asks for.

        Its `urgency` for the rate budget is, unless given, how much of its key range is left
        (an open range or a probe: most), so the ranges of one stream finish together.
        """
        request = self.get_http_request(page=PageContext(stream_context=context, next_page_token=token))
        if urgency is None:
            segment = token.segment
            urgency = math.inf if token.probe or segment.until is None else float(segment.until - segment.after)
        return self.ontraport_tap.client.get(request.url, request.params, label=self.name, urgency=urgency)

    def planned_segments(self) -> list[Segment]:
        """The segments this stream's walk will start with, from its input state (unchanged).

        None for a stream read by key: its first request depends on the keys it already has,
        and reading its table ahead would spend requests its run never asks for.
        """
        if self.reads_by_key:
            return []
        saved = self.tap_state.get("bookmarks", {}).get(self.tap_stream_id, {})
        state = copy.deepcopy(saved) if isinstance(saved, dict) else {}
        run = state.get("run")
        if run is None or not self._run_matches(run):
            run = self._new_run(state)
        return [Segment.from_state(segment) for segment in run["segments"]]

    def plan_after_page(self, walk: _Walk, response: ApiResponse, page: list) -> list[Segment]:
        """What the walk asks for after `page` (the read-ahead follows the walk's own rule)."""
        return self._after_page(walk, response, page, self._workers, None)

    @property
    def _workers(self) -> int:
        return int(self.config.get("max_parallel_requests", DEFAULT_PARALLEL_REQUESTS))

    def _increment_stream_state(self, latest_record: dict, *, context: dict | None = None) -> None:  # type: ignore[override]
        """Bookmarks move once per completed run (paging.py), not per record."""

    def _checkpoint(self) -> None:
        """Emit STATE now: right after a page's cursor moved past records just emitted."""
        self._write_state_message()

    # --- the records loop ---

    def get_records(self, context: dict | None) -> t.Iterable[dict[str, t.Any]]:  # type: ignore[override]
        """Every record; a refused read skips this stream or reads it in full (trouble.py)."""
        self._catch_up_with_catalog()
        state = self.get_context_state(context)
        while True:
            try:
                yield from self._run(state, context)
                return
            except ReplicationKeyMissing as missing:
                logger.warning("%s", missing.warning(self.name))
                self.full_table_fallback = True
                continue
            except (ObjectUnavailableError, BadRequestError) as exc:
                refusal = Refusal.from_error(exc)
            if refusal.object_refused or self.replication_key_field is None:
                logger.warning("%s", refusal.skip_warning(self.name, self.object_type.object_id))
                self.ontraport_tap.skipped_streams[self.name] = refusal.summary_if_skipped()
                return
            # The incremental query was refused: read again, by key only. Records already
            # emitted come again (at least once), and the bookmark stays where it was.
            field = self.replication_key_field
            logger.warning("%s", refusal.full_table_warning(self.name, field))
            self.ontraport_tap.skipped_streams[self.name] = refusal.summary_if_full_table(field)
            self.full_table_fallback = True

    def _run(self, state: dict, context: dict | None) -> t.Iterator[dict]:
        if self.reads_by_key:
            yield from self._run_by_key(state, context)
            return
        saved_run: dict | None = state.get("run")
        resumed = saved_run is not None and self._run_matches(saved_run)
        everything = not resumed and "replication_key_value" not in state and not self.config.get("start_date")
        if saved_run is not None and resumed:
            run = saved_run
            logger.info("%s: resuming the interrupted run from its saved position", self.name)
        else:
            run = self._new_run(state)
            state["run"] = run
        incremental = self.replication_key_field is not None
        if not incremental:
            # Records carry the table version so a target can drop rows this pass misses.
            self._stream_version = run["version"]
        if everything:  # nothing would filter on the key: a record without it is no answer
            self._confirm_replication_key()
        emitted_keys: set[int] | None = set() if self._sweeps_deletions else None
        yield from self._walk(run, context, emitted_keys=emitted_keys)
        self._confirm_replication_key()  # before the bookmark moves
        if emitted_keys is not None:
            # Saved with the bookmark, in one STATE. A resumed walk has not every key it read.
            known = prepare_sweep(state, self._known_keys(state), None if resumed else emitted_keys,
                                  read_everything=everything)
        self._finish_run(state, run)
        if emitted_keys is not None and "sweep" in state:
            yield from self._sweep_deletions(state, known)

    def _confirm_replication_key(self) -> None:
        """Check, once, that the records carry the replication key the catalog asks for.

        Where a condition on a field the records lack answers 400, get_records reads the
        object in full; where the API ignores it, it matches nothing, as a run with no
        change does. A record of this run carrying the key settles it for free (_walk);
        otherwise one record read without a condition does.
        """
        field = self.replication_key_field
        if not self.replication_key_unconfirmed or field is None:
            return
        sample = self.ontraport_tap.sample_record(self.object_type)
        if sample is not None and field not in sample:
            raise ReplicationKeyMissing(field)
        self.replication_key_unconfirmed = False

    def _run_matches(self, run: dict) -> bool:
        """A saved run is resumed only if it was made for the same replication mode."""
        return run.get("replication_key") == self.replication_key_field

    def _new_run(self, state: dict) -> dict:
        run: dict[str, t.Any] = {"replication_key": self.replication_key_field}
        if self.replication_key_field is None:
            run["segments"] = [Segment().to_state()]
            run["version"] = math.floor(time.time() * 1000)
            return run
        bookmark = None
        if state.get("replication_key") == self.replication_key_field:
            bookmark = epoch_seconds(state.get("replication_key_value"))
        start = epoch_seconds(self.config.get("start_date")) if self.config.get("start_date") else None
        tie_key = state.get("bookmark_key") if bookmark is not None else None
        segments = plan_segments(
            bookmark=bookmark,
            tie_key=tie_key,
            start=start,
            lookback=int(self.config.get("lookback_seconds", 0)),
        )
        run["segments"] = [segment.to_state() for segment in segments]
        run["tracker"] = {
            "newest": bookmark,
            "newest_count": PAGE_SIZE if tie_key is not None else 0,
            "newest_max_key": tie_key or 0,
        }
        return run

    @property
    def _sweeps_deletions(self) -> bool:
        return bool(self.config.get("detect_deletions")) and self.replication_key_field is not None

    def _walk(
        self,
        run: dict,
        context: dict | None,
        *,
        emitted_keys: set[int] | None = None,
    ) -> t.Iterator[dict]:
        """Read every segment of `run`, several at a time, saving each cursor as it moves.

        Yields typed records; their keys also go to `emitted_keys` when it is given (the
        deletion sweep starts from them).
        """
        workers = self._workers
        stats = self.ontraport_tap.client.stats_for(self.name)
        progress = StreamProgress(self.name, stats, interval=float(self.config.get("progress_interval_seconds", 60)))
        pending = deque(Segment.from_state(saved) for saved in run["segments"])
        tracker: BookmarkTracker | None = None
        walks: dict[int, _Walk] = {}
        next_tag = 0
        prefetcher = self.ontraport_tap.prefetcher
        if prefetcher is not None:
            prefetcher.start()
            prefetcher.claim(self.name)  # its turn: from here its walk asks for its pages
        pool = PagePool(lambda job: self._fetch(job, context), workers)
        rk = self.replication_key_field

        def save_position() -> None:
            run["segments"] = [w.committed.to_state() for w in walks.values()] + [s.to_state() for s in pending]
            if tracker is not None:
                run["tracker"] = tracker.to_state()

        try:
            while pending or walks:
                while pending and len(walks) < workers:
                    segment = pending.popleft()
                    if segment.is_empty:
                        continue
                    token = PageToken(segment, probe=not segment.probed)
                    paginator = None if token.probe else KeysetPaginator(token, self.key)
                    next_tag += 1
                    walks[next_tag] = _Walk(committed=segment, token=token, paginator=paginator)
                    pool.submit(next_tag, token)
                tag, response = pool.next_result()
                walk = walks[tag]
                if tracker is None and rk is not None:
                    # The run's start on Ontraport's clock: the bookmark stays below it.
                    run["tracker"].setdefault("run_started", server_time(response))
                    tracker = BookmarkTracker.from_state(run["tracker"])
                page = response.data if isinstance(response.data, list) else []

                # Decide what comes next before emitting, so the next request is already out
                # while this page's records are written.
                follow_ups = self._after_page(walk, response, page, workers, progress)
                finished = walk.paginator is None or walk.paginator.finished
                if not finished:
                    pool.submit(tag, walk.paginator.current_value)  # type: ignore[union-attr]

                for record in self.parse_response(response):
                    key = record[self.key]
                    if tracker is not None:
                        rk_value = epoch_seconds(record.get(rk))
                        tracker.see(rk_value, key)
                        if rk_value is not None:
                            self.replication_key_unconfirmed = False
                    if emitted_keys is not None:
                        emitted_keys.add(key)
                    yield record
                    self.ontraport_tap.records_by_stream[self.name] += 1
                progress.add(len(page))

                # Everything of this page is out: move its cursor and save the position.
                if finished:
                    del walks[tag]
                    pending.extendleft(reversed(follow_ups))
                else:
                    walk.committed = walk.paginator.current_value.segment  # type: ignore[union-attr]
                save_position()
                self._checkpoint()
        finally:
            pool.close()
            if prefetcher is not None:
                prefetcher.finish(self.name)

    def _after_page(
        self, walk: _Walk, response: ApiResponse, page: list, workers: int, progress: StreamProgress | None
    ) -> list[Segment]:
        """Advance the walk past `page`; after a probe, return the segments still to read."""
        if walk.paginator is not None:
            walk.paginator.advance(response)  # type: ignore[arg-type]
            return []
        # The probe: the newest keys of the segment, and how many records it holds.
        segment = walk.token.segment
        total = to_integer(response.envelope.get("count")) if isinstance(response.envelope, dict) else None
        total = total if isinstance(total, int) else None
        if total is not None and progress is not None:
            progress.total = (progress.total or 0) + total
        keys = [k for k in (to_integer(row.get(self.key)) for row in page) if isinstance(k, int)]
        if len(page) < PAGE_SIZE or not keys or (total is not None and total <= len(page)):
            return []
        lowest = min(keys)
        until = lowest - 1 if segment.until is None else min(segment.until, lowest - 1)
        rest = replace(segment, until=until, probed=True, expected=None if total is None else total - len(page))
        if rest.is_empty:
            return []
        pages_left = math.ceil(rest.expected / PAGE_SIZE) if rest.expected is not None else 0
        parts = min(workers, pages_left // MIN_PAGES_PER_RANGE)
        return split_segment(rest, parts) if parts > 1 else [rest]

    def _finish_run(self, state: dict, run: dict) -> None:
        """The run read everything: move the bookmark (or activate the table version)."""
        if self.replication_key_field is None:
            if self.config.get("activate_version", True):
                self._write_activate_version_message(run["version"])
        elif "run_started" in run["tracker"]:
            tracker = BookmarkTracker.from_state(run["tracker"])
            if tracker.newest is not None:
                state["replication_key"] = self.replication_key_field
                state["replication_key_value"] = to_datetime(tracker.newest)
                if tracker.tie_key is not None:
                    state["bookmark_key"] = tracker.tie_key
                else:
                    state.pop("bookmark_key", None)
        state.pop("run", None)
        self._checkpoint()

    # --- append-only objects, read by key ---

    def _run_by_key(self, state: dict, context: dict | None) -> t.Iterator[dict]:
        """Records above the highest known key are the new ones; removals are swept.

        The run's first request (newest first, with the total count) usually holds every
        new record, and then also tells how many of the known keys are still there: a run
        with nothing new and nothing removed costs that one request.
        """
        saved_run: dict | None = state.get("run")
        present = None
        resumed = saved_run is not None and saved_run.get("replication_key") == self.key
        everything = False
        if saved_run is not None and resumed:
            run = saved_run
        else:
            run = {"replication_key": self.key}
            highest = self._known_keys(state).highest
            everything = highest is None and "known_keys" not in state
            if highest is None:
                run["segments"] = [Segment().to_state()]  # the first run reads everything
            else:
                present = yield from self._read_newest(run, highest, context)
            state["run"] = run
        emitted: set[int] = set(run.pop("newest", []))
        yield from self._walk(run, context, emitted_keys=emitted)
        known = prepare_sweep(state, self._known_keys(state), None if resumed else emitted, present,
                              read_everything=everything)
        state.pop("run", None)
        self._checkpoint()
        if "sweep" in state:
            yield from self._sweep_deletions(state, known)

    def _read_newest(self, run: dict, highest: int, context: dict | None) -> t.Generator[dict, None, int | None]:
        """Emit the newest page's records above `highest`; leave the rest of them to the walk.

        Returns how many records have keys up to `highest`, when the page tells.
        """
        response = self._fetch(PageToken(Segment(), probe=True), context)
        total = to_integer(response.envelope.get("count")) if isinstance(response.envelope, dict) else None
        new = [record for record in self.parse_response(response) if record[self.key] > highest]
        for record in new:
            yield record
            self.ontraport_tap.records_by_stream[self.name] += 1
        run["newest"] = [record[self.key] for record in new]
        page = response.data if isinstance(response.data, list) else []
        if len(new) < len(page) or len(page) < PAGE_SIZE:  # the page reaches below the new records
            run["segments"] = []
            return total - len(new) if isinstance(total, int) else None
        lowest = min(record[self.key] for record in new)
        run["segments"] = [Segment(after=highest, until=lowest - 1, probed=True).to_state()]
        return None

    # --- deletions (the sweep itself is deletions.py) ---

    def _known_keys(self, state: dict) -> KnownKeys:
        try:
            return known_keys(state)
        except ValueError as exc:
            raise ApiError(f"Stream '{self.name}': {exc}.") from None

    def _sweep_deletions(self, state: dict, known: KnownKeys) -> t.Iterator[dict]:
        """Emit a record with `_sdc_deleted_at` for each known key that is gone."""
        deleted_at = dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")
        sweep = DeletionSweep(known, SweepProgress.from_state(state["sweep"]), self._count_keys)
        gone = 0
        while not sweep.progress.done:
            for key in sweep.step():
                yield {self.key: key, DELETED_AT: deleted_at}
                self.ontraport_tap.records_by_stream[self.name] += 1
                gone += 1
            state["sweep"] = sweep.progress.to_state()
            self._checkpoint_even_without_records()
        if gone:
            logger.info("%s: %d record(s) deleted in Ontraport since the last sweep", self.name, gone)
        if sweep.progress.uncounted:
            logger.warning(
                "%s: the API answered %d of the deletion sweep's %d request(s) without a count "
                "(`count=true`); those key ranges were listed key by key instead, which costs as "
                "much as listing every key", self.name, sweep.progress.uncounted, sweep.progress.requests,
            )
        finish_sweep(state, sweep)
        self._checkpoint()

    def _checkpoint_even_without_records(self) -> None:
        """The SDK writes STATE only after a record; a sweep step often emits none, and its
        progress must be saved anyway (tests/tap/test_deletions.py pins this)."""
        self.state_manager.is_flushed = False
        self._checkpoint()

    def _count_keys(self, after: int, until: int | None) -> RangeAnswer:
        """The count of `after < key <= until` and its first keys (one request)."""
        token = PageToken(Segment(after=after, until=until), list_fields=self.key, count=True)
        response = self._fetch(token, None)
        count = to_integer(response.envelope.get("count")) if isinstance(response.envelope, dict) else None
        rows = response.data if isinstance(response.data, list) else []
        keys = tuple(k for k in (to_integer(row.get(self.key)) for row in rows) if isinstance(k, int))
        if not isinstance(count, int):  # no count: the sweep lists the range (deletions.py)
            return RangeAnswer(None, keys)
        if count > len(keys) and not keys:
            raise ApiError(f"Stream '{self.name}': the API counted {count} record(s) with keys above {after} "
                           "but listed none of their keys; the deletion sweep cannot go on.")
        return RangeAnswer(count, keys)


class FieldsStream(Stream):
    """One record per field of every object, so `f1234` can become "Favourite colour" in SQL."""

    name = "fields"
    primary_keys = ("object_id", "field")
    schema = {
        "type": "object",
        "properties": {
            "object_id": {"type": "integer"},
            "object_name": {"type": ["string", "null"]},
            "stream": {"type": ["string", "null"]},
            "field": {"type": "string"},
            "alias": {"type": ["string", "null"]},
            "type": {"type": ["string", "null"]},
            "json_type": {"type": ["string", "null"]},
            "options": {
                "type": ["array", "null"],
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}, "label": {"type": ["string", "null"]}},
                },
            },
            "parent_object": {"type": ["integer", "null"]},
            "in_meta": {"type": ["boolean", "null"]},
            # related_data: the record key (a path such as f2251//f2232//f2225) it loads from
            "related_path": {"type": ["string", "null"]},
        },
        "required": ["object_id", "field"],
    }

    def __init__(self, tap: TapOntraport, catalog: list[AccountObject]) -> None:
        super().__init__(tap=tap)
        self._catalog = catalog

    def _fields_of(self, found: AccountObject) -> list[FieldSpec]:
        """The object's fields, with those its stream met in records earlier in this run
        (this stream runs last)."""
        stream = self._tap.streams.get(found.object_type.stream_name)
        return stream.field_specs if isinstance(stream, OntraportStream) else found.fields

    @property
    def emit_activate_version_messages(self) -> bool:
        return False

    def get_records(self, context: dict | None) -> t.Iterable[dict[str, t.Any]]:  # type: ignore[override]
        version = math.floor(time.time() * 1000)
        self._stream_version = version
        tap: TapOntraport = self._tap  # type: ignore[assignment]
        for found in self._catalog:
            object_type = found.object_type
            for spec in self._fields_of(found):
                tap.records_by_stream[self.name] += 1
                is_key = spec.name == object_type.primary_key
                json_type = PRIMARY_KEY_SCHEMA["type"] if is_key else schema_for_type(spec.ontraport_type)["type"]
                yield {
                    "object_id": object_type.object_id,
                    "object_name": object_type.meta_name,
                    "stream": object_type.stream_name,
                    "field": spec.name,
                    "alias": spec.alias or None,
                    "type": spec.ontraport_type,
                    "json_type": json_type[0] if isinstance(json_type, list) else json_type,
                    "options": [{"id": k, "label": v} for k, v in spec.options.items()] or None,
                    "parent_object": spec.parent_object,
                    "in_meta": spec.in_meta,
                    "related_path": spec.related_path,
                }
        if self.config.get("activate_version", True):
            self._write_activate_version_message(version)

