"""What a stream needs from the run it is part of, as an interface (the tap provides it).

Streams take the client, the settings, the reports and the read-ahead from here instead
of from the tap class itself, so that streams.py does not import tap.py.
"""

from __future__ import annotations

import typing as t
from collections import Counter

if t.TYPE_CHECKING:
    from tap_ontraport.client import OntraportClient
    from tap_ontraport.fields import CoercionReport
    from tap_ontraport.objects import ObjectType
    from tap_ontraport.scheduler import Prefetcher
    from tap_ontraport.settings import Settings


class SyncContext(t.Protocol):
    """The run's shared pieces, as the streams see them."""

    @property
    def settings(self) -> Settings: ...

    @property
    def client(self) -> OntraportClient: ...

    @property
    def prefetcher(self) -> Prefetcher | None: ...

    #: Fields that could not be typed, counted for the summary.
    coercion_report: CoercionReport
    #: Streams skipped or read in full because Ontraport refused a read: why, for the summary.
    skipped_streams: dict[str, str]
    #: Records emitted per stream, for the summary.
    records_by_stream: Counter[str]

    def sample_record(self, object_type: ObjectType) -> dict | None: ...
