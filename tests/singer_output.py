"""Run a tap in-process and collect its Singer messages, the way a target would read them."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class SingerOutput:
    schemas: dict[str, dict] = field(default_factory=dict)
    records: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    states: list[dict] = field(default_factory=list)
    activate_versions: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    messages: list[dict] = field(default_factory=list)
    tap: object = None  # the tap that produced it, when run in-process

    @property
    def state(self) -> dict | None:
        return self.states[-1] if self.states else None

    @classmethod
    def parse(cls, text: str) -> SingerOutput:
        output = cls()
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                message = json.loads(line, parse_float=Decimal)
            except ValueError:
                break  # a line cut by a kill: what a target would also ignore
            output.messages.append(message)
            kind = message["type"]
            if kind == "SCHEMA":
                output.schemas[message["stream"]] = message["schema"]
            elif kind == "RECORD":
                output.records[message["stream"]].append(message["record"])
            elif kind == "STATE":
                output.states.append(message["value"])
            elif kind == "ACTIVATE_VERSION":
                output.activate_versions[message["stream"]].append(message["version"])
        return output


def run_tap(tap_class, config: dict, state: dict | None = None, catalog: dict | None = None) -> SingerOutput:
    """Sync every stream (all selected unless a catalog says otherwise) and parse stdout."""
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # the writer uses stdout.buffer
    with redirect_stdout(buffer):
        tap = tap_class(config=config, state=state, catalog=catalog)
        if catalog is None:
            for stream in tap.streams.values():
                stream.selected = True
        tap.sync_all()
    buffer.flush()
    output = SingerOutput.parse(buffer.buffer.getvalue().decode("utf-8"))
    output.tap = tap
    return output


def select_only(catalog: dict, stream_names: set[str] | list[str]) -> dict:
    """The catalog with exactly `stream_names` selected (all their fields)."""
    wanted = set(stream_names)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in wanted
    return catalog
