"""The API's endpoints: an authenticated GET in, status and body out.

Transport concerns (authentication, rate limiting, faults, latency, logging) live in
``server.py``; this module only answers requests the server has let through.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass
from typing import Any

from . import meta
from .account import Account, ObjectStore
from .query import FieldPolicy, QueryError, as_number, parse_collection_params

API_PREFIX = "/1"
TEXT = "text/html;charset=UTF-8"  # the real 401 uses this; the sandbox reuses it for errors
JSON = "application/json"


def encode_json(payload: Any) -> bytes:
    """JSON as PHP's json_encode writes it: ASCII with \\u escapes and escaped slashes."""
    return json.dumps(payload, separators=(",", ":")).replace("/", "\\/").encode()


@dataclass
class CollectionRequest:
    """What an after_collection hook is told about a collection read."""

    path: str
    params: dict[str, str]
    object_id: int
    records: list[dict]


@dataclass
class Response:
    status: int
    payload: Any  # JSON-able data, or the text of a plain-text body
    content_type: str = JSON
    collection: CollectionRequest | None = None

    def body(self) -> bytes:
        if self.content_type == JSON:
            return encode_json(self.payload)
        return str(self.payload).encode()


#: The answer to every read of a refused object (seen for a custom object meta still lists).
REFUSED_OBJECT = {"code": 1, "data": "Invalid object type"}


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class RefusedObject(Exception):
    """A read of an object the API refuses with a JSON error envelope (HTTP 400)."""


@dataclass(frozen=True)
class Route:
    kind: str  # collection | single | info | meta | fieldeditor
    object_id: int | None  # None: taken from the objectID parameter


class Api:
    def __init__(self, account: Account, forbidden=(), seed: int = 1, refused=(),
                 ignore_unknown_fields: bool = False, collection_count: bool = True):
        self.account = account
        self.collection_count = collection_count  # False: collection reads ignore count=true
        self.forbidden = frozenset(int(o) for o in forbidden)
        self.refused = frozenset(int(o) for o in refused)  # meta lists them, reads answer 400
        self.ignore_unknown_fields = ignore_unknown_fields
        self.seed = seed
        self._calls = 0
        self._calls_lock = threading.Lock()
        self.routes = self._routes()

    def _routes(self) -> dict[str, Route]:
        routes = {
            "/objects": Route("collection", None), "/object": Route("single", None),
            "/objects/getInfo": Route("info", None), "/objects/meta": Route("meta", None),
            "/objects/fieldeditor": Route("fieldeditor", None),
        }
        for object_id, store in self.account.stores.items():
            spec = store.spec
            if spec.plural:
                routes[f"/{spec.plural}"] = Route("collection", object_id)
                routes[f"/{spec.plural}/getInfo"] = Route("info", object_id)
                routes[f"/{spec.plural}/meta"] = Route("meta", object_id)
                routes[f"/{spec.plural}/fieldeditor"] = Route("fieldeditor", object_id)
            if spec.singular:
                routes[f"/{spec.singular}"] = Route("single", object_id)
        return routes

    def _rng(self) -> random.Random:
        """A fresh shuffle source per request: ties come back in a new order every time."""
        with self._calls_lock:
            self._calls += 1
            return random.Random(self.seed * 1_000_003 + self._calls)

    # -- entry point -----------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict[str, str]) -> Response:
        try:
            if not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
                raise ApiError(404, "Not Found")
            route = self.routes.get(path[len(API_PREFIX):].rstrip("/") or "/")
            if route is None:
                raise ApiError(404, "Not Found")
            if method != "GET":
                raise ApiError(405, "Method Not Allowed: the sandbox serves reads (GET) only")
            return self._answer(route, path, params)
        except ApiError as error:
            return Response(error.status, error.message, TEXT)
        except RefusedObject:
            return Response(400, dict(REFUSED_OBJECT))
        except QueryError as error:
            return Response(400, str(error), TEXT)

    def _answer(self, route: Route, path: str, params: dict[str, str]) -> Response:
        if route.kind == "meta":
            return self._meta(route, params)
        object_id = route.object_id if route.object_id is not None else self._object_id(params)
        store = self._readable(object_id)
        if object_id in self.refused:
            raise RefusedObject(object_id)
        if route.kind == "collection":
            return self._collection(store, path, params)
        if route.kind == "single":
            return self._single(store, params)
        if route.kind == "info":
            return self._info(store, params)
        return self._fieldeditor(store, params)

    def _envelope(self, data: Any, **extra: Any) -> dict[str, Any]:
        return {"code": 0, "data": data, "account_id": self.account.account_id, **extra}

    def _object_id(self, params: dict[str, str]) -> int:
        text = params.get("objectID", "").strip()
        if not text:
            raise ApiError(400, "Invalid request: objectID is required")
        try:
            return int(text)
        except ValueError:
            raise ApiError(400, f"Invalid objectID: {text[:40]!r}") from None

    def _readable(self, object_id: int) -> ObjectStore:
        store = self.account.stores.get(object_id)
        if store is None:
            raise ApiError(404, f"Object type {object_id} does not exist in this account")
        if object_id in self.forbidden:
            raise ApiError(403, "Forbidden: this API key's user may not read this object")
        return store

    def _fields(self, store: ObjectStore) -> FieldPolicy:
        return FieldPolicy(store.known_fields, ignore_unknown=self.ignore_unknown_fields)

    # -- endpoints -----------------------------------------------------------------------------

    def _collection(self, store: ObjectStore, path: str, params: dict[str, str]) -> Response:
        query = parse_collection_params(params, self._fields(store))
        with self.account.lock:
            matches = store.matches(query, self._rng())
            records = [store.render(p, query.list_fields) for p in matches.page()]
            total = matches.total() if query.count and self.collection_count else None
        extra: dict[str, Any] = {"misc": []}
        if total is not None:
            extra["count"] = str(total)
        request = CollectionRequest(path, dict(params), store.spec.object_id, records)
        return Response(200, self._envelope(records, **extra), collection=request)

    def _single(self, store: ObjectStore, params: dict[str, str]) -> Response:
        text = params.get("id", "").strip()
        try:
            record_id = int(text)
        except ValueError:
            raise ApiError(400, "Invalid request: id is required and must be an integer") from None
        record = self.account.get(store.spec.object_id, record_id)
        if record is None:
            raise ApiError(404, f"{store.spec.meta_name} {record_id} not found")
        return Response(200, self._envelope(record))

    def _info(self, store: ObjectStore, params: dict[str, str]) -> Response:
        query = parse_collection_params(params, self._fields(store))
        with self.account.lock:
            matches = store.matches(query, self._rng())
            count = matches.total()
            sums = self._sums(store, matches) if store.spec.meta_name == "Invoice" else None
        return Response(200, self._envelope(meta.get_info(store.spec, count, sums)))

    @staticmethod
    def _sums(store: ObjectStore, matches) -> dict[str, Any]:
        total = 0.0
        for pos in matches.positions():
            number = as_number(store.value(pos, "total"))
            total += number or 0
        total = round(total, 2)
        return {"total": int(total) if total == int(total) else total}

    def _meta(self, route: Route, params: dict[str, str]) -> Response:
        by_name = params.get("format", "").strip().lower() == "byname"
        if route.object_id is not None:
            stores = [self._readable(route.object_id)]
        elif params.get("objectID", "").strip():
            stores = [self._readable(self._object_id(params))]
        else:  # the whole account, forbidden objects included: the account has them
            stores = list(self.account.stores.values())
        data: dict[str, Any] = {}
        for store in stores:
            object_id = store.spec.object_id
            described = meta.object_meta(store.spec)
            if by_name:
                data[store.spec.meta_name] = {**described, "id": str(object_id)}
            else:
                data[str(object_id)] = described
        return Response(200, self._envelope(data))

    def _fieldeditor(self, store: ObjectStore, params: dict[str, str]) -> Response:
        section = params.get("section", "").strip() or None
        field_name = params.get("field", "").strip() or None
        data = meta.fieldeditor(store.spec, section, field_name)
        if data is None:
            raise ApiError(404, "No such section or field")
        return Response(200, self._envelope(data))
