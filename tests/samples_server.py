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
ROUTES = {
    "/1/objects/meta": merged_meta,
    "/1/Contacts": lambda: load("contacts.list.json"),
    "/1/Tasks": lambda: load("tasks.list.json"),
    "/1/Transactions": lambda: load("transactions.list.json"),
    "/1/DeletedOrders": lambda: EMPTY_LIST,
}
OBJECTS = {"10000": lambda: load("custom_objects.list.json")}


class SamplesServer:
    """Serves the samples; `extra_objects` adds objects to meta, `statuses` fixes answers.

    `statuses` maps a path (e.g. "/1/Offers") to (HTTP status, body) for error tests.
    """

    def __init__(self, extra_objects: dict[str, str] | None = None,
                 statuses: dict[str, tuple[int, str]] | None = None) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.extra_objects = extra_objects or {}
        self.statuses = statuses or {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                server.requests.append((url.path, params))
                if url.path in server.statuses:
                    status, text = server.statuses[url.path]
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(text.encode())))
                    self.end_headers()
                    self.wfile.write(text.encode())
                    return
                if url.path == "/1/objects/meta":
                    meta = merged_meta()
                    for object_id, name in server.extra_objects.items():
                        meta["data"][object_id] = {"name": name, "fields": {}}
                    answer = lambda: meta  # noqa: E731
                elif url.path == "/1/objects" and params.get("objectID") in OBJECTS:
                    answer = OBJECTS[params["objectID"]]
                else:
                    answer = ROUTES.get(url.path)
                if answer is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = json.dumps(answer()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> SamplesServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
