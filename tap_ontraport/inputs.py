"""The files a run starts from (`--config`, `--state`, `--catalog`), read with one clear line per problem.

The SDK reads them with a bare JSON parser, so a typo in a config file ends in a long
traceback that never names the file. Here each file is read once, checked for being a JSON
object, and every problem becomes an `InputFileError` naming the file and what is wrong;
the tap's exception hook prints it as one line, exit status 1, before any request is sent.
"""

from __future__ import annotations

import difflib
import json
import typing as t
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from singer_sdk.singerlib import Catalog

from tap_ontraport.errors import InputFileError


def read_json_object(path: str | Path, what: str) -> dict[str, t.Any]:
    """The JSON object in `path`; `what` ("config", "state", "catalog") names the file in errors."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"The {what} file {str(path)!r} does not exist.") from None
    except IsADirectoryError:
        raise InputFileError(f"The {what} file {str(path)!r} is a directory, not a file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputFileError(f"The {what} file {str(path)!r} could not be read: {reason}.") from None
    if not text.strip():
        raise InputFileError(f"The {what} file {str(path)!r} is empty; it must hold a JSON object ({{...}}).")
    try:
        # Numbers as Decimal, like the SDK's own reader, so settings compare the same way.
        value = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"The {what} file {str(path)!r} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from None
    if not isinstance(value, dict):
        raise InputFileError(
            f"The {what} file {str(path)!r} holds a JSON {_json_kind(value)}; it must hold a JSON object ({{...}})."
        )
    return value


def check_catalog(catalog: dict[str, t.Any], path: str) -> None:
    """A catalog is an object with a `streams` list of objects that each name a stream."""
    streams = catalog.get("streams")
    if not isinstance(streams, list):
        raise InputFileError(
            f"The catalog file {path!r} has no `streams` list; make one with `tap-ontraport --config ... --discover`."
        )
    for number, entry in enumerate(streams, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("tap_stream_id") or entry.get("stream"), str):
            raise InputFileError(
                f"The catalog file {path!r}: stream entry {number} is not an object with a `tap_stream_id`; "
                "make the catalog with `tap-ontraport --config ... --discover`."
            )
        if not isinstance(entry.get("schema", {}), dict) or not isinstance(entry.get("metadata", []), list):
            raise InputFileError(
                f"The catalog file {path!r}: stream {entry.get('tap_stream_id') or entry.get('stream')!r} "
                "has a `schema` that is not an object or `metadata` that is not a list."
            )
    try:
        Catalog.from_dict(catalog)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputFileError(
            f"The catalog file {path!r} is not a Singer catalog ({type(exc).__name__}: {exc}); "
            "make one with `tap-ontraport --config ... --discover`."
        ) from None


def check_state(state: dict[str, t.Any], path: str) -> None:
    """A state is an object whose `bookmarks`, if any, map stream names to objects."""
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        raise InputFileError(
            f"The state file {path!r}: `bookmarks` must be an object of streams, got a JSON {_json_kind(bookmarks)}."
        )
    for stream, bookmark in bookmarks.items():
        if not isinstance(bookmark, dict):
            raise InputFileError(
                f"The state file {path!r}: the bookmark of stream {stream!r} must be an object, "
                f"got a JSON {_json_kind(bookmark)}."
            )


@dataclass(frozen=True)
class UnknownSetting:
    """A name given that is no setting: a config key, or a `TAP_ONTRAPORT_*` variable."""

    given: str  # as written: `apikey`, or `TAP_ONTRAPORT_APIKEY`
    closest: str | None  # the setting it most likely means (`api_key`), if one is close
    variable_prefix: str = ""  # `TAP_ONTRAPORT_` when it came from the environment

    def sentence(self) -> str:
        """What is wrong and what to write instead; never the value (it may be a secret)."""
        given = f"`{self.given}` (an environment variable)" if self.variable_prefix else f"`{self.given}`"
        if self.closest:
            meant = variable_name(self.variable_prefix, self.closest) if self.variable_prefix else self.closest
            return f"{given} is not a setting of tap-ontraport: did you mean `{meant}`?"
        if self.variable_prefix:
            return (f"{given} is not a setting of tap-ontraport; `tap-ontraport --about` lists them, "
                    f"each read from `{self.variable_prefix}<NAME>`.")
        return f"{given} is not a setting of tap-ontraport; `tap-ontraport --about` lists them."


def unknown_settings(config: t.Mapping[str, t.Any], known: Iterable[str]) -> list[UnknownSetting]:
    """The config keys the tap does not have, each with the closest one it has."""
    known = list(known)
    return [UnknownSetting(name, _closest(name, known)) for name in sorted(set(config) - set(known))]


def unknown_variables(environ: t.Mapping[str, str], prefix: str, known: Iterable[str],
                      also_read: Iterable[str] = ()) -> list[UnknownSetting]:
    """The `<prefix>*` variables that name no setting (read when the config is `ENV`).

    `also_read` are other suffixes read under the prefix (the SDK's `LOGLEVEL`). Names with a
    double underscore after the prefix belong to Meltano, not to the tap: its plugin extras
    (`TAP_ONTRAPORT__SELECT`) and inherited plugins' settings (`TAP_ONTRAPORT__ACME_APP_ID`).
    """
    known = list(known)
    expected = {variable_name(prefix, name) for name in known} | {prefix + suffix for suffix in also_read}
    unknown = sorted(name for name in environ
                     if name.startswith(prefix) and not name.startswith(prefix + "_") and name not in expected)
    return [UnknownSetting(name, _closest(name[len(prefix):], known), prefix) for name in unknown]


def variable_name(prefix: str, setting: str) -> str:
    """The environment variable the SDK reads a setting from: `TAP_ONTRAPORT_API_KEY`."""
    return prefix + setting.upper().replace("-", "_")


def _closest(name: str, known: list[str]) -> str | None:
    # Compare without separators and case: `apikey`, `API_KEY` and `api-key` all mean `api_key`.
    def squash(text: str) -> str:
        return text.lower().replace("_", "").replace("-", "")

    by_squashed = {squash(k): k for k in known}
    match = difflib.get_close_matches(squash(name), list(by_squashed), n=1, cutoff=0.6)
    return by_squashed[match[0]] if match else None


def _json_kind(value: t.Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"
