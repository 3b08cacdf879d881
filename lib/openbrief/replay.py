"""A replay Hub: a local HTTP server that answers like the Hugging Face Hub API.

Why: the real Hub is unreachable from our machines and CI, yet openbrief must be
tested with the real ``huggingface_hub.HfApi`` client (never a mock). This
server serves recorded or hand-made model records with the Hub's own JSON
shapes, query semantics, pagination and error signalling, so that
``HfApi(endpoint=hub.url, token=False)`` works unchanged. It can also inject
faults (rate limits, 5xx, stalls, broken bodies, dropped connections) to test
resilience.

Data
----
Records are dicts in the Hub's ``/api/models`` shape (``id``, ``author``,
``createdAt`` ending in ``Z``, ``downloads``, ``downloadsAllTime``, ``likes``,
``pipeline_tag``, ``library_name``, ``tags``, ``baseModels``, ``safetensors``,
``gated`` ...). Fields missing from a record stay missing in every answer:
nothing is ever turned into 0, and odd values (a negative or huge count, a
fraction, a date that does not parse) are served as they are, so that a client
can be tested on them; sorting puts values that are no number or date last,
like missing ones. The one Hub invariant filled in is
``private: false`` (every replayed repo is public), plus ``modelId`` (= ``id``)
where the Hub sends it.

``data`` is a JSON Lines file, a folder of ``YYYY-MM-DD.jsonl`` files, a list of
dicts, or a ``{day: [records]}`` mapping. With days, ``/@YYYY-MM-DD/api/...``
serves that day and the bare ``/api/...`` serves the newest day; an unknown day
is a 404 with a JSON error. Bad data raises :class:`ReplayDataError` (a
``ValueError``) naming the file and line.

Routes
------
``GET /api/models``
    ``author`` (namespace, case-insensitive), ``search`` (case-insensitive
    substring of the id), ``filter`` (repeatable, ANDed, exact match on a tag,
    the pipeline tag, the library name, or a ``base_model:ORG/NAME`` /
    ``base_model:RELATION:ORG/NAME`` tag, also derived from ``baseModels``),
    ``pipeline_tag``, ``sort`` (downloads|likes|createdAt|lastModified|
    trendingScore; always descending, missing values last, ties by id;
    without ``sort`` the data's own order), ``direction`` (only ``-1``),
    ``limit`` (a cap on the total, over all pages), ``expand`` (repeatable;
    only ``_id``, ``id`` and the asked fields come back), ``full``,
    ``cardData``, ``config`` (each rejected with ``expand``, as the Hub does).
    An unknown ``expand`` value is a 400 for the whole request. ``baseModels``,
    ``childrenModelCount`` and ``usedStorage`` are single-model properties:
    the Hub refuses them on the listing (huggingface_hub PR #3182; the 2.4
    ``list_models`` docstring omits them), so the replay answers 400 too.
    Parameters the replay does not implement (``gated``, ``apps``,
    ``num_parameters``...) get a 400 rather than being silently ignored.
    Without expand an item holds the Hub's default listing fields
    (``_id, id, likes, trendingScore, private, downloads, tags, pipeline_tag,
    library_name, createdAt, modelId``; no ``author``, like the Hub).
    Pages hold ``page_size`` items; the next page is announced in
    ``Link: <ABSOLUTE-URL>; rel="next"`` carrying every original parameter
    plus an opaque ``cursor``.
``GET /api/models/{org}/{name}[/revision/{rev}]``
    The whole record plus ``childrenModelCount``
    (``{"finetune", "adapter", "quantized", "merge"}``: direct children in the
    same data set, from their ``baseModels``, else their
    ``base_model:RELATION:...`` tags). Honours ``expand``. Ids match exactly
    (case-sensitive). Unknown id: 404, ``X-Error-Code: RepoNotFound``,
    ``{"error": "Repository not found"}`` (the client raises
    ``RepositoryNotFoundError``). The revision is accepted and ignored.

Every request is appended to ``requests`` as a :class:`ServedRequest` and, when
a log stream is given, written to it as one line.

Fault spec grammar
------------------
A fault rule is ``ROUTE:WHEN:ACTION[:OPTION]...``::

    ROUTE   models | model_info | any
    WHEN    *            every request on the route
            N            the Nth request on the route (1-based; retries count)
            N-M          requests N to M
            page=N       every request for page N of a listing (retries of that
            page=N-M     page match again: add times=K to make it transient)
    ACTION  429 | 500 | 502 | 503 | 504
            stall=S      wait S seconds (float), then answer normally
            truncate     half the body, with the full Content-Length
            truncate=close  half the body, no Content-Length, then close
            malformed    200 with a body that is not valid JSON
            drop         close the connection without any response
    OPTION  times=K          fire at most K times
            retry-after=N    429 only: header Retry-After: N
            ratelimit=N      429 only: header RateLimit: "api";r=0;t=N
                             (+ RateLimit-Policy), as the Hub sends

A 429 without option carries no header. Examples::

    models:page=2:429:retry-after=1:times=1
    model_info:1:500
    models:*:stall=5
    models:1-3:503
    any:2:drop

Several rules may be given; each counts the requests on its own route, and the
first rule that fires on a request decides it.

Command line
------------
``openbrief replay-hub DATA [--port N] [--page-size N] [--fault SPEC ...]``
(via :func:`add_arguments` and :func:`run`), or
``python -m openbrief.replay DATA ...``. The first printed line is exactly
``serving on http://127.0.0.1:PORT``; it runs until SIGINT or SIGTERM.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import signal
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit

#: Items per page when the caller does not choose (the Hub's own cap).
DEFAULT_PAGE_SIZE = 1000

#: Relations of a derivative to its base model, as the Hub names them.
RELATIONS = ("finetune", "adapter", "quantized", "merge")

#: Every ``expand`` value huggingface_hub 2.4 knows for models.
EXPAND_PROPERTIES = frozenset({
    "author", "baseModels", "cardData", "childrenModelCount", "config", "createdAt",
    "disabled", "downloads", "downloadsAllTime", "evalResults", "gated", "gguf",
    "inference", "inferenceProviderMapping", "lastModified", "library_name", "likes",
    "mask_token", "model-index", "pipeline_tag", "private", "resourceGroup",
    "safetensors", "sha", "siblings", "spaces", "tags", "transformersInfo",
    "trendingScore", "usedStorage", "widgetData",
})

#: ``expand`` values the Hub accepts on ``/api/models/{id}`` only.
MODEL_INFO_ONLY_EXPAND = frozenset({"baseModels", "childrenModelCount", "usedStorage"})

#: Fields of a listing item when no ``expand`` is given (as the Hub sends them).
DEFAULT_LIST_FIELDS = (
    "_id", "id", "likes", "trendingScore", "private", "downloads", "tags",
    "pipeline_tag", "library_name", "createdAt", "modelId",
)

SORT_KEYS = frozenset({"downloads", "likes", "createdAt", "lastModified", "trendingScore"})
_DATE_KEYS = frozenset({"createdAt", "lastModified"})
_LIST_PARAMS = frozenset({
    "author", "search", "filter", "pipeline_tag", "sort", "direction", "limit",
    "expand", "expand[]", "full", "cardData", "config", "cursor",
})
_INFO_PARAMS = frozenset({"expand", "expand[]"})
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DAY_PREFIX_RE = re.compile(r"^/@([^/]+)(/.*)?$")


# ---------------------------------------------------------------------------
# Data loading


class ReplayDataError(ValueError):
    """Replay data that cannot be served: names the source and the line."""

    def __init__(self, source: str, line: int | None, problem: str):
        self.source, self.line, self.problem = source, line, problem
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {problem}")


def load_records(path: str | Path) -> dict[str | None, list[dict]]:
    """Read replay data: ``{None: records}`` for a JSON Lines file, or
    ``{"YYYY-MM-DD": records}`` for a folder of ``YYYY-MM-DD.jsonl`` files.

    Raises :class:`ReplayDataError` on a missing path, a malformed line, a
    record without ``id``, a duplicate id, or a record the replay cannot serve.
    """
    path = Path(path)
    if path.is_file():
        return {None: _read_jsonl(path)}
    if path.is_dir():
        days = {f.stem: f for f in sorted(path.glob("*.jsonl")) if _DAY_RE.match(f.stem)}
        if not days:
            raise ReplayDataError(str(path), None, "folder holds no YYYY-MM-DD.jsonl file")
        return {day: _read_jsonl(f) for day, f in days.items()}
    raise ReplayDataError(str(path), None, "no such file or folder")


def _read_jsonl(path: Path) -> list[dict]:
    records: list[dict] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ReplayDataError(str(path), number, f"malformed JSON: {err.msg}") from None
            _check_record(record, seen, str(path), number)
            records.append(record)
    return records


def _check_records(records: Iterable[Any], source: str) -> list[dict]:
    checked: list[dict] = []
    seen: set[str] = set()
    for index, record in enumerate(records):
        _check_record(record, seen, source, index)
        checked.append(record)
    return checked


def _check_record(record: Any, seen: set[str], source: str, line: int) -> None:
    """Reject what the replay cannot serve; odd values in fields are served as they are."""
    def fail(problem: str) -> None:
        raise ReplayDataError(source, line, problem)

    if not isinstance(record, dict):
        fail(f"a record must be a JSON object, not {type(record).__name__}")
    model_id = record.get("id")
    if not isinstance(model_id, str) or not model_id:
        fail("record has no 'id'")
    if model_id in seen:
        fail(f"duplicate id {model_id!r}")
    seen.add(model_id)
    tags = record.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        fail(f"{model_id}: tags must be a list of strings")
    safetensors = record.get("safetensors")
    if safetensors and not (isinstance(safetensors, dict) and {"parameters", "total"} <= safetensors.keys()):
        fail(f"{model_id}: safetensors needs 'parameters' and 'total'")
    base = record.get("baseModels")
    if base is not None and not (isinstance(base, dict) and isinstance(base.get("models"), list)):
        fail(f"{model_id}: baseModels must be {{'relation': ..., 'models': [{{'id': ...}}]}}")


def _as_days(data: Any) -> dict[str | None, list[dict]]:
    if isinstance(data, (str, Path)):
        return load_records(data)
    if isinstance(data, Mapping):
        days = {}
        for day, records in data.items():
            if day is not None and not _DAY_RE.match(str(day)):
                raise ReplayDataError("<records>", None, f"day {day!r} is not YYYY-MM-DD")
            days[day] = _check_records(records, f"<records {day}>")
        return days
    return {None: _check_records(data, "<records>")}


# ---------------------------------------------------------------------------
# Hub semantics over one day's records


class HubError(Exception):
    """An answer other than 200, with the Hub's JSON error body."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, dict(headers or {})


def parent_links(record: Mapping) -> list[tuple[str, str]]:
    """``(relation, base id)`` pairs a record declares: from ``baseModels``,
    else from its ``base_model:RELATION:ORG/NAME`` tags."""
    base = record.get("baseModels")
    if isinstance(base, dict):
        relation = base.get("relation")
        return [(relation, m["id"]) for m in base.get("models", []) if isinstance(m, dict) and "id" in m]
    links = []
    for tag in record.get("tags") or ():
        parts = tag.split(":", 2)
        if len(parts) == 3 and parts[0] == "base_model" and parts[1] in RELATIONS:
            links.append((parts[1], parts[2]))
    return links


def effective_tags(record: Mapping) -> set[str]:
    """What ``filter`` matches: tags, pipeline tag, library, and base-model tags."""
    tags = set(record.get("tags") or ())
    tags.update(v for v in (record.get("pipeline_tag"), record.get("library_name")) if v)
    for relation, base in parent_links(record):
        tags.add(f"base_model:{base}")
        if relation:
            tags.add(f"base_model:{relation}:{base}")
    return tags


def _namespace(model_id: str) -> str:
    return model_id.split("/", 1)[0] if "/" in model_id else ""


def _sort_value(record: Mapping, key: str) -> float | None:
    """What ``key`` sorts by: a number, or None (sorted last) when missing or no number or date."""
    value = record.get(key)
    if key in _DATE_KEYS:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except (AttributeError, TypeError, ValueError):
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:  # NaN
        return None
    return value


def sort_records(records: Iterable[dict], key: str) -> list[dict]:
    """Descending by ``key``, missing values last, ties broken by id."""
    def order(record: dict) -> tuple:
        value = _sort_value(record, key)
        return (value is None, -(value or 0.0), record["id"])
    return sorted(records, key=order)


class Catalog:
    """One day of records, answering the Hub's model routes."""

    def __init__(self, records: Sequence[dict]):
        self.records = list(records)
        self.by_id = {r["id"]: r for r in self.records}
        self.children = self._count_children()

    def _count_children(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for record in self.records:
            for relation, base in set(parent_links(record)):
                if relation in RELATIONS:
                    per_base = counts.setdefault(base, dict.fromkeys(RELATIONS, 0))
                    per_base[relation] += 1
        return counts

    def children_of(self, model_id: str) -> dict[str, int]:
        return dict(self.children.get(model_id, dict.fromkeys(RELATIONS, 0)))

    def _value(self, record: dict, name: str) -> Any:
        """A field as the Hub would send it; ``_MISSING`` when it has none."""
        if name == "private":
            return record.get("private", False)
        if name == "modelId":
            return record["id"]
        if name == "childrenModelCount":
            return self.children_of(record["id"])
        return record.get(name, _MISSING)

    def _project(self, record: dict, names: Iterable[str]) -> dict:
        out = {}
        for name in names:
            value = self._value(record, name)
            if value is not _MISSING:
                out[name] = value
        return out

    def list_models(self, params: Mapping[str, list[str]]) -> list[dict]:
        """All items of a listing (every page), already projected."""
        _reject_unknown(params, _LIST_PARAMS)
        expand = _expand_values(params)
        bad = sorted(set(expand) & MODEL_INFO_ONLY_EXPAND)
        if bad:
            named = ", ".join(f"expand={b}" for b in bad)
            raise HubError(400, f"{named}: only available on /api/models/{{repo_id}}, not on listings")
        flags = {name: _flag(params, name) for name in ("full", "cardData", "config")}
        if expand and any(flags.values()):
            raise HubError(400, "expand cannot be combined with full, cardData or config")
        if _last(params, "direction") not in (None, "-1"):
            raise HubError(400, "the replay Hub sorts in descending order only (direction=-1)")

        selected = [r for r in self.records if _matches(r, params)]
        sort = _last(params, "sort")
        if sort is not None:
            if sort not in SORT_KEYS:
                raise HubError(400, f"invalid sort {sort!r}; expected one of {sorted(SORT_KEYS)}")
            selected = sort_records(selected, sort)
        limit = _last(params, "limit")
        if limit is not None:
            if not limit.isdigit():
                raise HubError(400, f"invalid limit {limit!r}")
            selected = selected[: int(limit)]

        if expand:
            names: Iterable[str] = ["_id", "id", *expand]
        elif flags["full"]:
            return [self._full(r, with_children=False) for r in selected]
        else:
            names = [*DEFAULT_LIST_FIELDS,
                     *(["cardData"] if flags["cardData"] else []),
                     *(["config"] if flags["config"] else [])]
        return [self._project(r, names) for r in selected]

    def model_info(self, model_id: str, params: Mapping[str, list[str]]) -> dict:
        record = self.by_id.get(model_id)
        if record is None:
            raise HubError(404, "Repository not found", {
                "X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"})
        _reject_unknown(params, _INFO_PARAMS)
        expand = _expand_values(params)
        if expand:
            return self._project(record, ["_id", "id", *expand])
        return self._full(record, with_children=True)

    def _full(self, record: dict, *, with_children: bool) -> dict:
        out = {"_id": record["_id"]} if "_id" in record else {}
        out.update(id=record["id"], modelId=record["id"], private=False)
        out.update(record)
        if with_children:
            out["childrenModelCount"] = self.children_of(record["id"])
        return out


_MISSING = object()


def _last(params: Mapping[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _flag(params: Mapping[str, list[str]], name: str) -> bool:
    value = _last(params, name)
    if value is None:
        return False
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise HubError(400, f"invalid boolean {name}={value!r}")


def _reject_unknown(params: Mapping[str, list[str]], known: frozenset[str]) -> None:
    unknown = sorted(set(params) - known)
    if unknown:
        raise HubError(400, f"parameter {unknown[0]!r} is not supported by the replay Hub; "
                            f"supported: {', '.join(sorted(known))}")


def _expand_values(params: Mapping[str, list[str]]) -> list[str]:
    values = [*params.get("expand", []), *params.get("expand[]", [])]
    for value in values:
        if value not in EXPAND_PROPERTIES:
            # Only the offending value is named, so that callers can tell which one it was.
            raise HubError(400, f"expand={value} is not a model property "
                                f"(known: {', '.join(sorted(EXPAND_PROPERTIES))})")
    return list(dict.fromkeys(values))


def _matches(record: dict, params: Mapping[str, list[str]]) -> bool:
    author = _last(params, "author")
    if author is not None and _namespace(record["id"]).lower() != author.lower():
        return False
    search = _last(params, "search")
    if search and search.lower() not in record["id"].lower():
        return False
    pipeline_tag = _last(params, "pipeline_tag")
    if pipeline_tag is not None and record.get("pipeline_tag") != pipeline_tag:
        return False
    filters = params.get("filter", [])
    return not filters or set(filters) <= effective_tags(record)


# ---------------------------------------------------------------------------
# Fault injection

_ERROR_ACTIONS = frozenset({"429", "500", "502", "503", "504"})
_ACTIONS = _ERROR_ACTIONS | {"stall", "truncate", "malformed", "drop"}
_ROUTES = frozenset({"models", "model_info", "any"})


@dataclass(frozen=True)
class FaultRule:
    """When and how to misbehave; see the module docstring for the text form."""

    route: str
    action: str
    first: int = 1                 # occurrence (or page) range, 1-based
    last: int | None = None        # None: no upper bound
    by_page: bool = False          # count pages of a listing instead of requests
    seconds: float = 0.0           # stall
    close: bool = False            # truncate by closing, without Content-Length
    retry_after: int | None = None
    ratelimit: int | None = None
    times: int | None = None
    spec: str = ""

    def __str__(self) -> str:
        return self.spec or f"{self.route}:{self.first}-{self.last}:{self.action}"


def parse_fault(spec: str) -> FaultRule:
    """Parse ``ROUTE:WHEN:ACTION[:OPTION]...`` into a :class:`FaultRule`."""
    def fail(problem: str) -> ValueError:
        return ValueError(f"bad fault spec {spec!r}: {problem}")

    parts = spec.strip().split(":")
    if len(parts) < 3:
        raise fail("expected ROUTE:WHEN:ACTION[:OPTION...]")
    route, when, action, *options = parts
    if route not in _ROUTES:
        raise fail(f"route must be one of {sorted(_ROUTES)}")
    rule: dict[str, Any] = {"route": route, "spec": spec.strip()}

    if when.startswith("page="):
        if route != "models":
            raise fail("page=N applies to the models route only")
        rule["by_page"], when = True, when[len("page="):]
    if when == "*" and not rule.get("by_page"):
        rule["first"], rule["last"] = 1, None
    else:
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", when)
        if not match or int(match[1]) < 1:
            raise fail("WHEN must be *, N, N-M, page=N or page=N-M (N >= 1)")
        rule["first"] = int(match[1])
        rule["last"] = int(match[2]) if match[2] else int(match[1])
        if rule["last"] < rule["first"]:
            raise fail("empty range")

    name, _, value = action.partition("=")
    if name not in _ACTIONS:
        raise fail(f"action must be one of {sorted(_ACTIONS)}")
    rule["action"] = name
    if name == "stall":
        try:
            rule["seconds"] = float(value)
        except ValueError:
            raise fail("stall needs seconds: stall=S") from None
    elif name == "truncate":
        if value not in ("", "length", "close"):
            raise fail("truncate takes no value, =length or =close")
        rule["close"] = value == "close"
    elif value:
        raise fail(f"action {name} takes no value")

    for option in options:
        key, _, number = option.partition("=")
        if key not in ("times", "retry-after", "ratelimit") or not number.isdigit():
            raise fail(f"unknown option {option!r} (times=K, retry-after=N, ratelimit=N)")
        if key != "times" and name != "429":
            raise fail(f"{key} applies to 429 only")
        rule[key.replace("-", "_")] = int(number)
    return FaultRule(**rule)


class FaultBook:
    """Thread-safe bookkeeping of which rule fires on which request."""

    def __init__(self, rules: Iterable[FaultRule | str]):
        self.rules = [parse_fault(r) if isinstance(r, str) else r for r in rules]
        self._seen = [0] * len(self.rules)
        self._fired = [0] * len(self.rules)
        self._lock = threading.Lock()

    def pick(self, route: str, page: int | None) -> FaultRule | None:
        """Count this request on every matching rule; return the first that fires."""
        chosen = None
        with self._lock:
            for i, rule in enumerate(self.rules):
                if rule.route not in ("any", route):
                    continue
                self._seen[i] += 1
                if chosen is not None:
                    continue
                position = page if rule.by_page else self._seen[i]
                if position is None or position < rule.first:
                    continue
                if rule.last is not None and position > rule.last:
                    continue
                if rule.times is not None and self._fired[i] >= rule.times:
                    continue
                self._fired[i] += 1
                chosen = rule
        return chosen


# ---------------------------------------------------------------------------
# HTTP


@dataclass(frozen=True)
class ServedRequest:
    """One request the replay Hub received."""

    method: str
    target: str              # path and query, as received
    status: int | None       # None: the connection was dropped without an answer
    fault: str | None = None  # the fault rule that fired, if any


@dataclass
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _json_answer(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> _Answer:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _Answer(status, body, dict(headers or {}))


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(cursor.encode()))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise HubError(400, "invalid cursor") from None
    if not isinstance(offset, int) or offset < 0:
        raise HubError(400, "invalid cursor")
    return offset


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, catalogs, page_size, faults, log):
        super().__init__(address, _Handler)
        self.catalogs: dict[str | None, Catalog] = catalogs
        self.newest = max(catalogs, key=lambda d: d or "")
        self.page_size = page_size
        self.faults = FaultBook(faults)
        self.requests: list[ServedRequest] = []
        self.log = log
        self.stopping = threading.Event()
        self._log_lock = threading.Lock()

    def record(self, request: ServedRequest) -> None:
        self.requests.append(request)
        if self.log is not None:
            status = "dropped" if request.status is None else request.status
            fault = f" [fault {request.fault}]" if request.fault else ""
            with self._log_lock:
                self.log.write(f"{request.method} {request.target} {status}{fault}\n")
                self.log.flush()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "openbrief-replay-hub"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        """Silence the stdlib's own stderr log: :meth:`_Server.record` logs instead."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        srv = self.server
        split = urlsplit(self.path)
        day_match = _DAY_PREFIX_RE.match(split.path)
        day, path = (day_match[1], day_match[2] or "/") if day_match else (None, split.path)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        route = ("models" if path.rstrip("/") == "/api/models"
                 else "model_info" if path.startswith("/api/models/") else "other")

        rule = srv.faults.pick(route, self._page_of(pairs) if route == "models" else None)
        fault = str(rule) if rule else None
        if rule and rule.action == "drop":
            srv.record(ServedRequest("GET", self.path, None, fault))
            self.close_connection = True
            return
        if rule and rule.action == "stall":
            srv.stopping.wait(rule.seconds)

        if rule and rule.action in _ERROR_ACTIONS:
            answer = self._fault_error(rule)
        else:
            try:
                answer = self._answer(day, path, split.path, route, pairs)
            except HubError as err:
                answer = _json_answer(err.status, {"error": err.message}, err.headers)
        if rule and rule.action == "malformed":
            answer = _Answer(200, b'[{"id": "replay/malformed", "likes": ')
        # recorded before the answer leaves, so a client that has its answer sees it in the log
        srv.record(ServedRequest("GET", self.path, answer.status, fault))
        self._send(answer, truncate=rule if rule and rule.action == "truncate" else None)

    def _page_of(self, pairs: list[tuple[str, str]]) -> int:
        cursor = dict(pairs).get("cursor")
        try:
            return (_decode_cursor(cursor) // self.server.page_size + 1) if cursor else 1
        except HubError:
            return 1

    def _answer(self, day, path, raw_path, route, pairs) -> _Answer:
        srv = self.server
        if day is None:
            catalog = srv.catalogs[srv.newest]
        elif day in srv.catalogs:
            catalog = srv.catalogs[day]
        else:
            known = ", ".join(sorted(d for d in srv.catalogs if d)) or "none (undated data)"
            raise HubError(404, f"unknown replay day {day!r}; days served: {known}")
        params: dict[str, list[str]] = {}
        for key, value in pairs:
            params.setdefault(key, []).append(value)

        if route == "models":
            return self._listing(catalog, params, raw_path, pairs)
        if route == "model_info":
            model_id = path[len("/api/models/"):].split("/revision/", 1)[0].rstrip("/")
            return _json_answer(200, catalog.model_info(model_id, params))
        raise HubError(404, f"no such route: {path}")

    def _listing(self, catalog, params, raw_path, pairs) -> _Answer:
        cursor = params.get("cursor")
        offset = _decode_cursor(cursor[-1]) if cursor else 0
        items = catalog.list_models(params)
        size = self.server.page_size
        headers = {}
        if offset + size < len(items):
            kept = [(k, v) for k, v in pairs if k != "cursor"]
            query = urlencode([*kept, ("cursor", _encode_cursor(offset + size))])
            host = self.headers.get("Host") or "%s:%s" % self.server.server_address[:2]
            headers["Link"] = f'<http://{host}{raw_path}?{query}>; rel="next"'
        return _json_answer(200, items[offset: offset + size], headers)

    @staticmethod
    def _fault_error(rule: FaultRule) -> _Answer:
        headers = {}
        if rule.retry_after is not None:
            headers["Retry-After"] = str(rule.retry_after)
        if rule.ratelimit is not None:
            headers["RateLimit"] = f'"api";r=0;t={rule.ratelimit}'
            headers["RateLimit-Policy"] = '"fixed window";"api";q=500;w=300'
        message = "Too many requests" if rule.action == "429" else "Injected server error"
        return _json_answer(int(rule.action), {"error": message}, headers)

    def _send(self, answer: _Answer, truncate: FaultRule | None = None) -> None:
        body = answer.body
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if not (truncate and truncate.close):
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.close_connection = True
        try:
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if truncate else body)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the client gave up (e.g. timed out on a stall): nothing left to tell it


class ReplayHub:
    """A replay Hub serving in a daemon thread; use as a context manager.

    >>> with ReplayHub([{"id": "org/m", "downloads": 3}], page_size=3) as hub:
    ...     HfApi(endpoint=hub.url, token=False).model_info("org/m")   # doctest: +SKIP
    """

    def __init__(self, data: str | Path | Sequence[dict] | Mapping[str, Sequence[dict]], *,
                 host: str = "127.0.0.1", port: int = 0, page_size: int = DEFAULT_PAGE_SIZE,
                 faults: Iterable[FaultRule | str] = (), log: TextIO | None = None):
        if page_size < 1:
            raise ValueError(f"page_size must be >= 1, got {page_size}")
        self.catalogs = {day: Catalog(records) for day, records in _as_days(data).items()}
        self.days = sorted(d for d in self.catalogs if d)
        self._address = (host, port)
        self._page_size = page_size
        self._faults = [parse_fault(f) if isinstance(f, str) else f for f in faults]
        self._log = log
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._requests: list[ServedRequest] = []

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the server (kept after :meth:`stop`)."""
        if self._url is None:
            raise RuntimeError("ReplayHub is not started")
        return self._url

    @property
    def requests(self) -> list[ServedRequest]:
        """Every request served so far, in order (kept after :meth:`stop`)."""
        return self._requests

    def start(self) -> ReplayHub:
        """Bind the port and serve in a daemon thread; idempotent."""
        if self._server is None:
            server = _Server(self._address, self.catalogs, self._page_size, self._faults, self._log)
            server.requests = self._requests
            host, port = server.server_address[:2]
            self._url = f"http://{host}:{port}"
            # A short poll interval keeps stop() fast (shutdown waits for one poll).
            self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"replay-hub {self._url}", daemon=True)
            self._server = server
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port; stalled answers are cut short."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReplayHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(data: str | Path | Sequence[dict], *, port: int = 0, page_size: int = DEFAULT_PAGE_SIZE,
          faults: Iterable[FaultRule | str] = (), out: TextIO = sys.stdout,
          log: TextIO | None = sys.stderr) -> int:
    """Serve in the foreground until SIGINT or SIGTERM; return an exit code.

    The first line written to ``out`` is exactly ``serving on http://127.0.0.1:PORT``.
    """
    stop = threading.Event()
    with ReplayHub(data, port=port, page_size=page_size, faults=faults, log=log) as hub:
        print(f"serving on {hub.url}", file=out, flush=True)
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    return 0


def _fault_arg(spec: str) -> FaultRule:
    try:
        return parse_fault(spec)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _whole(low: int, high: int):
    """An argparse ``type``: a whole number from ``low`` to ``high``."""
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} must be a whole number between {low} and {high}")
        return value
    return convert


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``replay-hub`` command's arguments to ``parser``."""
    parser.add_argument("data", help="a JSON Lines file of Hub model records, or a folder of YYYY-MM-DD.jsonl")
    parser.add_argument("--port", type=_whole(0, 65535), default=0,
                        help="port on 127.0.0.1, 0 to 65535 (default 0: any free port)")
    parser.add_argument("--page-size", type=_whole(1, 1_000_000), default=DEFAULT_PAGE_SIZE,
                        help=f"items per /api/models page, at least 1 (default {DEFAULT_PAGE_SIZE})")
    parser.add_argument("--fault", action="append", default=[], type=_fault_arg, metavar="SPEC",
                        help="inject a fault, e.g. models:page=2:429:retry-after=1:times=1 (repeatable)")


def run(args: argparse.Namespace) -> int:
    """Run the ``replay-hub`` command from parsed arguments; bad data or a port it cannot bind: one line, exit 2."""
    try:
        return serve(args.data, port=args.port, page_size=args.page_size, faults=args.fault)
    except ReplayDataError as err:
        problem = str(err)
    except OSError as err:
        problem = (f"cannot read {err.filename}: {err.strerror}" if err.filename else
                   f"cannot serve on 127.0.0.1:{args.port}: {err.strerror}; choose another --port (0: any free port)")
    print(f"openbrief: error: replay-hub: {problem}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m openbrief.replay", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
