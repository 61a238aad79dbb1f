"""The streams: one per Ontraport object, all driven by `OntraportStream`, plus `fields`.

A stream is a row of `objects.py` plus the fields meta gave it; the behaviour lives here
once. How records are walked (segments by key, bookmarks) and why no record is lost:
docs/design.md.
"""

from __future__ import annotations

import copy
import email.utils
import logging
import math
import time
import typing as t
from functools import cached_property

from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import RemoveRecordTransform, SameRecordTransform

from tap_ontraport.client import ApiResponse
from tap_ontraport.deletions import KnownKeys, prepare_sweep
from tap_ontraport.discovery import REPLICATION_KEY, AccountObject
from tap_ontraport.errors import BadRequestError, ObjectUnavailableError
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
from tap_ontraport.paging import PAGE_SIZE, BookmarkTracker, Segment, condition, plan_segments
from tap_ontraport.progress import StreamProgress
from tap_ontraport.sdk_compat import SdkStream
from tap_ontraport.settings import Settings
from tap_ontraport.sweeper import DELETED_AT, StreamSweep, stream_known_keys
from tap_ontraport.trouble import Refusal, ReplicationKeyMissing
from tap_ontraport.walker import (
    MIN_PAGES_PER_RANGE,
    PageToken,
    RunState,
    SegmentWalker,
    WalkedPage,
    count_of,
    rows_of,
)

if t.TYPE_CHECKING:
    from tap_ontraport.context import SyncContext

logger = logging.getLogger("tap-ontraport")

__all__ = ["DELETED_AT", "MIN_PAGES_PER_RANGE", "FieldsStream", "OntraportStream", "epoch_seconds"]


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


class OntraportStream(SdkStream):
    """Any Ontraport object: schema from its fields, records walked by key (walker.py).

    An adapter between the SDK (which asks for records and writes messages) and the walk
    (walker.py), the deletion sweep (sweeper.py) and the client that makes the requests.
    """

    # Records are typed by our own coercers (fields.py), exactly to the schema.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: SyncContext, found: AccountObject) -> None:
        self.object_type = object_type = found.object_type
        self.field_specs = found.fields
        has_dlm = found.incremental
        #: Append-only objects without a dlm are read by key (only keys above the highest seen).
        self.reads_by_key = (
            not has_dlm
            and object_type.append_only
            and object_type.stream_name not in tap.settings.full_table_streams
        )
        schema = build_schema(object_type.primary_key, found.fields)
        if (tap.settings.detect_deletions and has_dlm) or self.reads_by_key:
            schema["properties"][DELETED_AT] = {"type": ["string", "null"], "format": "date-time"}
        super().__init__(tap=tap, name=object_type.stream_name, schema=schema)  # type: ignore[arg-type]
        self.primary_keys = (object_type.primary_key,)
        self.replication_key = REPLICATION_KEY if has_dlm else (object_type.primary_key if self.reads_by_key else None)
        #: Meta doesn't list `dlm` and no record was sampled (a run given a catalog): whether
        #: the records carry the replication key the catalog asks for is still open.
        self.replication_key_unconfirmed = not found.dlm_known
        #: Set when Ontraport refused the incremental query in this run (see get_records).
        self.full_table_fallback = False

    @property
    def ontraport_tap(self) -> SyncContext:
        """The run's shared client, settings, reports and counters (context.py)."""
        return self.plugin  # type: ignore[return-value]

    # --- what the SDK asks of a stream ---

    @property
    def emit_activate_version_messages(self) -> bool:
        # The SDK would send ACTIVATE_VERSION when a full-table sync *starts*; a target
        # then drops every row until the new ones arrive. We send it when a complete
        # pass has been emitted instead (see _finish_run), so this stays off.
        return False

    # --- pages and records ---

    def page_params(self, token: PageToken) -> dict[str, t.Any]:
        """The query of the collection read that `token` asks for."""
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
        return params

    def typed_records(self, response: ApiResponse) -> t.Iterator[dict]:
        """Typed records of one page; a record with a new field first widens the schema."""
        for raw in response.data if isinstance(response.data, list) else []:
            record = self.coercer.coerce(raw)
            if self.coercer.learned:
                self._announce_fields(self.coercer.take_learned())
            if record.get(self.key) is None:
                self.ontraport_tap.coercion_report.count_invalid(self.name, self.key, "primary key", raw.get(self.key))
                continue
            yield record

    @property
    def settings(self) -> Settings:
        return self.ontraport_tap.settings

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
        listed = (self.input_schema or {}).get("properties")
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
        self.write_schema()

    def _schemas_in_use(self) -> list[dict]:
        """Every schema the SDK checks records against or sends (SDK internals, pinned by
        tests/tap/test_resilience.py): the stream's, the input catalog's, and the stream
        maps' (a user's map that picks its own columns keeps them)."""
        schemas = [self.schema]
        if self.input_schema is not None:
            schemas.append(self.input_schema)
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

    def _may_split(self, token: PageToken) -> bool:
        """A range is cut only past the pages read ahead for it (their answers would go unused)."""
        prefetcher = self.ontraport_tap.prefetcher
        return prefetcher is None or not prefetcher.holds(self.name, token)

    def fetch_page(self, token: PageToken, context: dict | None = None, *, urgency: float | None = None) -> ApiResponse:
        """One page from the API (no read-ahead): what `token` asks for.

        Its `urgency` for the rate budget is, unless given, how much of its key range is left
        (an open range or a probe: most), so the ranges of one stream finish together.
        """
        if urgency is None:
            segment = token.segment
            urgency = math.inf if token.probe or segment.until is None else float(segment.until - segment.after)
        return self.ontraport_tap.client.get(
            self.object_type.collection_path, self.page_params(token), label=self.name, urgency=urgency,
        )

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
            return self._new_run(state).segments
        return RunState.from_state(run).segments

    @property
    def workers(self) -> int:
        """Requests this stream keeps in flight at once (its walk and its read-ahead)."""
        return self.settings.max_parallel_requests

    def _checkpoint(self) -> None:
        """Emit STATE now: after a page's cursor moved (records or none), a run or a sweep step."""
        self.write_state_now()

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
        everything = not resumed and "replication_key_value" not in state and not self.settings.start_date
        if saved_run is not None and resumed:
            run = RunState.from_state(saved_run)
            logger.info("%s: resuming the interrupted run from its saved position", self.name)
        else:
            run = self._new_run(state)
            state["run"] = run.to_state()
        if self.replication_key_field is None:
            # Records carry the table version so a target can drop rows this pass misses.
            self.set_record_version(run.version)
        if everything:  # nothing would filter on the key: a record without it is no answer
            self._confirm_replication_key()
        emitted_keys: set[int] | None = set() if self._sweeps_deletions else None
        yield from self._walk(run, state, context, emitted_keys=emitted_keys)
        self._confirm_replication_key()  # before the bookmark moves
        if emitted_keys is not None:
            # Saved with the bookmark, in one STATE. A resumed walk has not every key it read.
            known = prepare_sweep(state, stream_known_keys(self.name, state), None if resumed else emitted_keys,
                                  read_everything=everything)
        self._finish_run(state, run)
        if emitted_keys is not None and "sweep" in state:
            yield from self._sweep(state, known)

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

    def _new_run(self, state: dict) -> RunState:
        field = self.replication_key_field
        if field is None:
            return RunState(None, [Segment()], version=math.floor(time.time() * 1000))
        bookmark = None
        if state.get("replication_key") == field:
            bookmark = epoch_seconds(state.get("replication_key_value"))
        start = epoch_seconds(self.settings.start_date) if self.settings.start_date else None
        tie_key = state.get("bookmark_key") if bookmark is not None else None
        segments = plan_segments(
            bookmark=bookmark,
            tie_key=tie_key,
            start=start,
            lookback=self.settings.lookback_seconds,
        )
        tracker = BookmarkTracker(
            newest=bookmark, newest_count=PAGE_SIZE if tie_key is not None else 0, newest_max_key=tie_key or 0,
        )
        return RunState(field, segments, tracker=tracker)

    @property
    def _sweeps_deletions(self) -> bool:
        return self.settings.detect_deletions and self.replication_key_field is not None

    def _walk(self, run: RunState, state: dict, context: dict | None, *, emitted_keys: set[int] | None) -> t.Iterator[dict]:
        """Read every segment of `run`, several at a time, saving each cursor as it moves.

        Yields typed records; their keys also go to `emitted_keys` when it is given (the
        deletion sweep starts from them).
        """
        stats = self.ontraport_tap.client.stats_for(self.name)
        progress = StreamProgress(self.name, stats, interval=self.settings.progress_interval_seconds)
        prefetcher = self.ontraport_tap.prefetcher
        if prefetcher is not None:
            prefetcher.start()
            prefetcher.claim(self.name)  # its turn: from here its walk asks for its pages
        tracker = run.tracker if self.replication_key_field is not None else None
        try:
            with SegmentWalker(run.segments, lambda token: self._fetch(token, context), key=self.key,
                               workers=self.workers, may_split=self._may_split) as walker:
                while not walker.done:
                    page = walker.next_page()
                    if tracker is not None and tracker.run_started is None:
                        # The run's start on Ontraport's clock: the bookmark stays below it.
                        tracker.run_started = server_time(page.response)
                    if page.cursor.token.probe and page.cursor.total is not None:
                        progress.total = (progress.total or 0) + page.cursor.total
                    yield from self._records_of(page, tracker, emitted_keys)
                    progress.add(len(page.rows))
                    # Everything of this page is out: move its cursor and save the position.
                    walker.commit(page)
                    run.segments = walker.position()
                    state["run"] = run.to_state()
                    self._checkpoint()
        finally:
            if prefetcher is not None:
                prefetcher.finish(self.name)

    def _records_of(
        self, page: WalkedPage, tracker: BookmarkTracker | None, emitted_keys: set[int] | None
    ) -> t.Iterator[dict]:
        """The page's typed records, seen by the bookmark tracker on their way out."""
        field = self.replication_key_field
        for record in self.typed_records(page.response):
            key = record[self.key]
            if tracker is not None:
                rk_value = epoch_seconds(record.get(field))
                tracker.see(rk_value, key)
                if rk_value is not None:
                    self.replication_key_unconfirmed = False
            if emitted_keys is not None:
                emitted_keys.add(key)
            yield record
            self.ontraport_tap.records_by_stream[self.name] += 1

    def _finish_run(self, state: dict, run: RunState) -> None:
        """The run read everything: move the bookmark (or activate the table version)."""
        tracker = run.tracker
        if self.replication_key_field is None:
            if self.settings.activate_version and run.version is not None:
                self.write_activate_version(run.version)
        elif tracker is not None and tracker.run_started is not None:
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
        emitted: set[int] = set()
        if saved_run is not None and resumed:
            run = RunState.from_state(saved_run)
        else:
            run = RunState(self.key)
            highest = stream_known_keys(self.name, state).highest
            everything = highest is None and "known_keys" not in state
            if highest is None:
                run.segments = [Segment()]  # the first run reads everything
            else:
                present = yield from self._read_newest(run, highest, emitted, context)
            state["run"] = run.to_state()
        yield from self._walk(run, state, context, emitted_keys=emitted)
        known = prepare_sweep(state, stream_known_keys(self.name, state), None if resumed else emitted, present,
                              read_everything=everything)
        state.pop("run", None)
        self._checkpoint()
        if "sweep" in state:
            yield from self._sweep(state, known)

    def _read_newest(
        self, run: RunState, highest: int, emitted: set[int], context: dict | None
    ) -> t.Generator[dict, None, int | None]:
        """Emit the newest page's records above `highest` (their keys go to `emitted`);
        leave the rest of them to the walk.

        Returns how many records have keys up to `highest`, when the page tells.
        """
        response = self._fetch(PageToken(Segment(), probe=True), context)
        total = count_of(response)
        new = [record for record in self.typed_records(response) if record[self.key] > highest]
        for record in new:
            yield record
            self.ontraport_tap.records_by_stream[self.name] += 1
        emitted.update(record[self.key] for record in new)
        page = rows_of(response)
        if len(new) < len(page) or len(page) < PAGE_SIZE:  # the page reaches below the new records
            run.segments = []
            return total - len(new) if total is not None else None
        lowest = min(record[self.key] for record in new)
        run.segments = [Segment(after=highest, until=lowest - 1, probed=True)]
        return None

    # --- deletions (deletions.py finds them, sweeper.py asks for the pages) ---

    def _sweep(self, state: dict, known: KnownKeys) -> t.Iterator[dict]:
        """Emit a record with `_sdc_deleted_at` for each known key that is gone."""
        sweep = StreamSweep(self.name, self.key, lambda token: self._fetch(token, None), save=self._checkpoint)
        for record in sweep.records(state, known):
            yield record
            self.ontraport_tap.records_by_stream[self.name] += 1


class FieldsStream(SdkStream):
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

    def __init__(self, tap: SyncContext, catalog: list[AccountObject]) -> None:
        super().__init__(tap=tap)  # type: ignore[arg-type]
        self._catalog = catalog
        self.activate_version = tap.settings.activate_version

    def _fields_of(self, found: AccountObject) -> list[FieldSpec]:
        """The object's fields, with those its stream met in records earlier in this run
        (this stream runs last)."""
        stream = self.plugin.streams.get(found.object_type.stream_name)
        return stream.field_specs if isinstance(stream, OntraportStream) else found.fields

    @property
    def emit_activate_version_messages(self) -> bool:
        return False

    def get_records(self, context: dict | None) -> t.Iterable[dict[str, t.Any]]:  # type: ignore[override]
        version = math.floor(time.time() * 1000)
        self.set_record_version(version)
        tap: SyncContext = self.plugin  # type: ignore[assignment]
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
        if self.activate_version:
            self.write_activate_version(version)

