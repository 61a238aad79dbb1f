"""A tiny HTTP server that answers with the literal Ontraport responses in fixtures/samples.

The samples were written by Ontraport engineers for their PHP client's tests; serving
them unchanged checks the tap against real shapes and encodings, not our idea of them.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

SAMPLES = Path(__file__).parent / "fixtures" / "samples"


def load(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def merged_meta() -> dict:
    """All sample metas as one /objects/meta answer (fields of the same object merged)."""
    data: dict = {}
    for name in ("objects.meta.json", "contacts.meta.json", "tasks.meta.json", "transactions.meta.json"):
        for object_id, entry in load(name)["data"].items():
            target = data.setdefault(object_id, {"name": entry["name"], "fields": {}})
            if isinstance(entry.get("fields"), dict):
                target["fields"].update(entry["fields"])
    return {"code": 0, "data": data, "account_id": 187157}


EMPTY_LIST = {"code": 0, "data": [], "account_id": 187157, "misc": []}

#: Which sample answers which list read (a path, or the objectID of /objects), and as which
#: stream the tap loads it. Every sample that holds records is in one of these sets; a
#: `single` sample (GET /Contact?id=) is served as a list of its one record.
SAMPLE_SETS: tuple[dict[str, tuple[str, str]], ...] = (
    {"/1/Contacts": ("contacts", "contacts.list.json"), "/1/Tasks": ("tasks", "tasks.list.json"),
     "/1/Transactions": ("transactions", "transactions.list.json"),
     "10000": ("temps", "custom_objects.list.json")},
    {"/1/Contacts": ("contacts", "contacts.single.json"), "/1/Tasks": ("tasks", "tasks.single.json"),
     "/1/Transactions": ("transactions", "transactions.single.json"),
     "10000": ("temps", "objects.list.json")},
    {"/1/Contacts": ("contacts", "objects.single.json")},
)


def sample_rows(name: str) -> list[dict]:
    data = load(name)["data"]
    return data if isinstance(data, list) else [data]


def as_list_answer(name: str) -> dict:
    return {**load(name), "data": sample_rows(name)}


class SamplesServer:
    """Serves the samples; `extra_objects` adds objects to meta, `statuses` fixes answers.

    `statuses` maps a path (e.g. "/1/Offers"), or the objectID of an /objects read, to
    (HTTP status, body) for error tests; `refused_fields` answers 400 "Invalid query" to a
    condition or sort on one of these fields.
    """

    def __init__(self, extra_objects: dict[str, str] | None = None,
                 statuses: dict[str, tuple[int, str]] | None = None, sample_set: int = 0,
                 refused_fields: frozenset[str] = frozenset(),
                 meta_fields: dict[str, dict] | None = None,
                 ignored_fields: frozenset[str] = frozenset()) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.extra_objects = extra_objects or {}
        self.statuses = statuses or {}
        self.samples = SAMPLE_SETS[sample_set]
        # Like the real API: a condition or sort on a field the object lacks answers 400.
        self.refused_fields = refused_fields
        self.meta_fields = meta_fields or {}  # objectID -> fields added to its meta
        # Like the other guess about the API: a condition on these fields matches nothing.
        self.ignored_fields = ignored_fields
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                server.requests.append((url.path, params))
                target = params.get("objectID", "") if url.path == "/1/objects" else url.path
                if target in server.statuses or server.refuses(params):
                    status, text = server.statuses.get(target, (400, "Invalid query"))
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(text.encode())))
                    self.end_headers()
                    self.wfile.write(text.encode())
                    return
                answer = server.answer(url.path, params)
                if answer is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def refuses(self, params: dict) -> bool:
        asked = params.get("condition", "") + " " + params.get("sort", "")
        return any(f'"{name}"' in asked or params.get("sort") == name for name in self.refused_fields)

    def answer(self, path: str, params: dict) -> dict | None:
        if path == "/1/objects/meta":
            meta = merged_meta()
            for object_id, name in self.extra_objects.items():
                meta["data"][object_id] = {"name": name, "fields": {}}
            for object_id, fields in self.meta_fields.items():
                meta["data"][object_id]["fields"].update(fields)
            return meta
        served = self.samples.get(params.get("objectID", "") if path == "/1/objects" else path)
        if served is not None:
            if any(f'"{name}"' in params.get("condition", "") for name in self.ignored_fields):
                return EMPTY_LIST
            return as_list_answer(served[1])
        return EMPTY_LIST if path == "/1/DeletedOrders" else None

    def __enter__(self) -> SamplesServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
