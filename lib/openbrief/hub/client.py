"""Fetching from the Hugging Face Hub, and nothing else.

Everything goes through the real ``huggingface_hub`` client pointed at an
endpoint (the Hub, or a replay Hub on 127.0.0.1). This module turns the
client's ``ModelInfo`` objects into plain rows (see ``schema.MODEL_COLUMNS``);
it never aggregates. Missing fields stay ``None``.

Bad data is not a failure: this is the one place where the Hub's records become
rows, and each record is checked here first (:func:`check_record`). A count that
is negative, not an integer or beyond int64, or a date that does not parse,
becomes missing (never 0); a record whose id is not a Hub repo id is left out.
Each is recorded in :class:`DataProblems`, which the snapshot keeps.

Robustness, because scheduled runs have nobody watching:
- every request gets a timeout (the client has none by default);
- every request is counted against a per-run budget, so a run stays within the
  Hub's anonymous limit (500 requests per 5 minutes);
- ``model_info`` is retried here with back-off that honours ``Retry-After`` and
  ``RateLimit`` headers (the client retries only ``list_models`` pages).
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain, islice

import httpx2
from huggingface_hub import HfApi, ModelInfo
from huggingface_hub.errors import BadRequestError, HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.utils import _http as hf_http
from huggingface_hub.utils import (build_hf_headers, hf_raise_for_status, http_backoff, parse_datetime,
                                   set_client_factory, validate_repo_id)

from openbrief import __version__
from openbrief.errors import SourceError
from openbrief.store.schema import LIST_EXPAND, RELATIONS, count_problem

DEFAULT_ENDPOINT = "https://huggingface.co"
#: The Hub's anonymous limit is 500 requests per 5 minutes; stay well inside it.
DEFAULT_BUDGET = 400
#: With a token (a free account allows 1,000 per 5 minutes).
TOKEN_BUDGET = 900


def default_budget() -> int:
    """The request budget of a run: anonymous, or raised when a token is configured."""
    return TOKEN_BUDGET if has_token() else DEFAULT_BUDGET
DEFAULT_TIMEOUT = 30.0
RETRY_STATUS = (408, 429, 500, 502, 503, 504)
#: Fields that the Hub serves on /api/models/{id} but may refuse on the listing route.
MODEL_INFO_ONLY_EXPAND = ("baseModels", "childrenModelCount", "usedStorage")


def resolve_endpoint(arg: str | None) -> str:
    """``--endpoint``, else ``HF_ENDPOINT``, else the real Hub; no trailing slash."""
    endpoint = arg or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT
    if not endpoint.startswith(("http://", "https://")):
        from openbrief.errors import UsageError

        raise UsageError(f"endpoint {endpoint!r} is not an http(s) URL: pass e.g. --endpoint http://127.0.0.1:8080")
    return endpoint.rstrip("/")


def has_token() -> bool:
    """Whether the client will authenticate (token from the environment or the Hub's token file)."""
    from huggingface_hub import get_token

    return get_token() is not None


class BudgetExhausted(SourceError):
    pass


@dataclass
class RequestCounter:
    """Counts requests and refuses to send more than ``budget``."""

    budget: int = DEFAULT_BUDGET
    sent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, request: httpx2.Request) -> None:
        with self._lock:
            if self.sent >= self.budget:
                raise BudgetExhausted(
                    f"request budget of {self.budget} exhausted before {request.url.path}: "
                    "raise it with --budget (the Hub allows 500 anonymous requests per 5 minutes) or set HF_TOKEN"
                )
            self.sent += 1


def _client_factory(timeout: float, counter: RequestCounter) -> Callable[[], httpx2.Client]:
    def set_timeout(request: httpx2.Request) -> None:
        # huggingface_hub passes timeout=None explicitly, which overrides a client
        # default; a request extension is the one place it cannot override.
        request.extensions["timeout"] = httpx2.Timeout(timeout).as_dict()

    def factory() -> httpx2.Client:
        return httpx2.Client(
            event_hooks={"request": [counter, set_timeout, hf_http.hf_request_event_hook]},
            follow_redirects=True,
            timeout=timeout,
        )

    return factory


@dataclass
class Hub:
    """A configured client for one run: endpoint, timeout, budget, user agent."""

    endpoint: str
    timeout: float = DEFAULT_TIMEOUT
    budget: int = DEFAULT_BUDGET
    max_retries: int = 5
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self.counter = RequestCounter(self.budget)
        self.refused_expand: list[str] = []
        self.problems = DataProblems()
        set_client_factory(_client_factory(self.timeout, self.counter))
        self.api = HfApi(endpoint=self.endpoint, library_name="openbrief", library_version=__version__)

    @property
    def requests_sent(self) -> int:
        return self.counter.sent

    def list_models(self, query: dict, expand: Iterable[str] = LIST_EXPAND) -> list[dict]:
        """All models for one ``list_models`` query (e.g. ``{"author": "Qwen"}``) as rows, through the
        client's own ``http_backoff`` and ``Link`` pagination, stopping at ``limit`` (the Hub caps a page
        at 1,000 items). Unlike ``HfApi.list_models``, items are checked before they become
        ``ModelInfo`` (which raises on a bad date and would end the whole listing).

        The Hub may refuse on its listing route the ``expand`` fields that only
        the single-model route serves (``baseModels`` among them): on a 400 the
        query is sent once more without them, they are recorded in
        ``self.refused_expand`` and left missing (base models then come from
        the ``base_model:`` tags). Records with bad values are checked as
        :func:`check_record` says, their problems added to ``self.problems``.
        """
        pages = _guarded(self._opened(query, expand), f"listing models {_fmt(query)}", self.endpoint)
        items = islice(chain.from_iterable(page for page, _ in pages), query.get("limit"))
        records = (check_record(item, self.problems) for item in items)
        return [model_row(ModelInfo(**record), self.problems) for record in records if record is not None]

    def _page_list(self, url: str | None, params: dict | None) -> Iterator[tuple[list, str | None]]:
        """Each page of a listing as (its items, the absolute ``Link`` URL of the next page or None)."""
        headers = build_hf_headers(library_name="openbrief", library_version=__version__)
        while url:
            response = http_backoff("GET", url, params=params, headers=headers)
            hf_raise_for_status(response)
            page = response.json()
            url, params = response.links.get("next", {}).get("url"), None
            yield (page if isinstance(page, list) else [page]), url

    def _opened(self, query: dict, expand: Iterable[str]) -> Iterator[tuple[list, str | None]]:
        """The pages of a listing; on a 400 for the single-model ``expand`` fields, sent once more
        without them (recorded in ``self.refused_expand``), as :meth:`list_models` does."""
        url = f"{self.endpoint}/api/models"
        expand = [e for e in expand if e not in self.refused_expand]
        try:
            pages = self._page_list(url, {**query, "expand": expand})
            first = next(pages, None)
        except BadRequestError:
            refused = [e for e in expand if e in MODEL_INFO_ONLY_EXPAND]
            if not refused:
                raise
            self.refused_expand.extend(refused)
            pages = self._page_list(url, {**query, "expand": [e for e in expand if e not in refused]})
            first = next(pages, None)
        if first is not None:
            yield first
            yield from pages

    def created_pages(self, start: datetime, end: datetime, next_url: str | None = None,
                      expand: Iterable[str] = LIST_EXPAND) -> Iterator[CreatedPage]:
        """The models created in ``[start, end]``, a page at a time, newest first.

        Lists ``sort=createdAt, direction=-1`` (from ``next_url``, a saved ``Link`` URL, when given)
        and stops after the page that holds an item created before ``start`` or the last page.
        Items created after ``end`` or without a parsable ``createdAt`` are not in the window.
        A refused ``expand`` is handled as :meth:`list_models` does.
        """
        pages = (self._opened({"sort": "createdAt", "direction": -1}, expand) if next_url is None
                 else self._page_list(next_url, None))
        for items, url in _guarded(pages, "listing models created since " + start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                   self.endpoint):
            rows, oldest, past_start = [], None, False
            for item in items:
                record = check_record(item, self.problems)
                when = _created(record)
                if when is not None:
                    oldest = when if oldest is None else min(oldest, when)
                    past_start = past_start or when < start
                if record is not None and when is not None and start <= when <= end:
                    rows.append(model_row(ModelInfo(**record), self.problems))
            done = past_start or url is None
            yield CreatedPage(rows, oldest, None if done else url, done)
            if done:
                return

    def model_record(self, model_id: str, expand: Iterable[str] = LIST_EXPAND) -> dict | None:
        """One model by id (``/api/models/{id}``, ``baseModels`` included) as a checked row; None when
        the Hub has no such repo (404). Retried as listing pages are; other failures: SourceError."""
        headers = build_hf_headers(library_name="openbrief", library_version=__version__)
        try:
            response = http_backoff("GET", f"{self.endpoint}/api/models/{model_id}",
                                    params={"expand": list(expand)}, headers=headers)
            hf_raise_for_status(response)
            record = check_record(response.json(), self.problems)
        except RepositoryNotFoundError:
            return None
        except SourceError:
            raise
        except Exception as err:  # noqa: BLE001 - every failure becomes one clear line
            raise SourceError(f"model_info {model_id} from {self.endpoint} failed: {_describe(err)}") from err
        return None if record is None else model_row(ModelInfo(**record), self.problems)

    def children_counts(self, model_id: str) -> dict | None:
        """``childrenModelCount`` of one model by relation, or ``None`` if the Hub gave none."""
        info = self._model_info(model_id, expand=["childrenModelCount"])
        return parse_children(info.children_model_count, model_id, self.problems) if info is not None else None

    def _model_info(self, model_id: str, expand: list[str]):
        attempt = 0
        while True:
            attempt += 1
            try:
                return self.api.model_info(model_id, expand=expand, timeout=self.timeout)
            except RepositoryNotFoundError:
                return None
            except SourceError:
                raise
            except (HfHubHTTPError, httpx2.TransportError, ValueError) as err:
                status = getattr(getattr(err, "response", None), "status_code", None)
                retryable = status in RETRY_STATUS or isinstance(err, httpx2.TransportError)
                if not retryable or attempt > self.max_retries:
                    raise SourceError(f"model_info {model_id} from {self.endpoint} failed: {_describe(err)}") from err
                self.sleep(retry_wait(getattr(err, "response", None), attempt))


def _guarded(pages: Iterator, what: str, endpoint: str) -> Iterator:
    """``pages`` with every failure but our own made one clear :class:`SourceError` line."""
    try:
        yield from pages
    except SourceError:
        raise
    except Exception as err:  # noqa: BLE001 - every failure becomes one clear line
        raise SourceError(f"{what} from {endpoint} failed: {_describe(err)}") from err


@dataclass
class CreatedPage:
    """One page of the newest models: the rows created in the window, the oldest ``createdAt`` on
    the page, the next page's URL (None once the window's start or the listing's end is reached)."""

    rows: list[dict]
    oldest: datetime | None
    next_url: str | None
    reached_start: bool


def _created(record: dict | None) -> datetime | None:
    try:
        return parse_datetime(record["createdAt"]) if record and record.get("createdAt") else None
    except (ValueError, TypeError, AttributeError):
        return None


def retry_wait(response, attempt: int) -> float:
    """Seconds to wait before retry ``attempt``: the server's word, else 1, 2, 4, 8, 8."""
    if response is not None:
        info = hf_http.parse_ratelimit_headers(response.headers)
        if response.status_code == 429 and info is not None and info.remaining == 0:
            return float(info.reset_in_seconds) + 1
        after = hf_http._parse_retry_after(response.headers)
        if after is not None:
            return float(after) + 1
    return float(min(8, 2 ** (attempt - 1)))


def _fmt(query: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in query.items())


def _describe(err: BaseException) -> str:
    """One line: the error's type and its message with line breaks folded."""
    text = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
    return f"{type(err).__name__}: {text or 'no details'}"


# ---------------------------------------------------------------- data problems

#: Count fields of a listed record (``safetensors.total`` and ``childrenModelCount`` are checked too).
COUNT_FIELDS = ("downloads", "downloadsAllTime", "likes")
DATE_FIELDS = ("createdAt", "lastModified")


class DataProblems:
    """Bad values found in the Hub's records: how many of each kind, and a few examples of each.

    Kinds: ``negative-count``, ``non-integer-count``, ``count-beyond-int64``, ``unparsable-date``,
    ``malformed-field`` (tags, baseModels or safetensors not in the Hub's shape): the value is
    missing in the snapshot; ``invalid-id``, ``not-a-record``: the record is left out.
    """

    EXAMPLES_PER_KIND = 10
    RAW_CHARS = 80

    def __init__(self) -> None:
        self.kinds: dict[str, int] = {}
        self.examples: list[dict] = []
        self._seen: set[tuple] = set()

    def add(self, kind: str, model_id: str | None, field: str | None, raw) -> None:
        """Count one bad value; the same one met again (a model listed by several queries) counts once."""
        key = (kind, model_id, field) if model_id is not None else (kind, field, repr(raw))
        if key in self._seen:
            return
        self._seen.add(key)
        if self.kinds.get(kind, 0) < self.EXAMPLES_PER_KIND:
            self.examples.append({"kind": kind, "id": model_id, "field": field, "raw": self._short(repr(raw))})
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def _short(self, text: str) -> str:
        return text if len(text) <= self.RAW_CHARS else text[: self.RAW_CHARS - 1] + "…"

    def __len__(self) -> int:
        return sum(self.kinds.values())

    def summary(self) -> dict:
        """For ``snapshot.json``: ``{"total", "kinds": {kind: count}, "examples": [{kind, id, field, raw}]}``."""
        return {"total": len(self), "kinds": dict(sorted(self.kinds.items())), "examples": self.examples}

    def line(self) -> str:
        """One line: the total and the count of each kind."""
        return f"{len(self)} ({', '.join(f'{k} {n}' for k, n in sorted(self.kinds.items()))})"


def valid_model_id(model_id) -> bool:
    """A Hub repo id ``namespace/name`` by the client's own rules (letters, digits, ``-_.``, no spaces)."""
    if not isinstance(model_id, str) or model_id.count("/") != 1:
        return False
    try:
        validate_repo_id(model_id)
    except ValueError:
        return False
    return True


def _parses(date) -> bool:
    try:
        parse_datetime(date)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def _well_formed(name: str, value) -> bool:
    if name == "tags":
        return isinstance(value, list) and all(isinstance(t, str) for t in value)
    if name == "baseModels":
        models = value.get("models") if isinstance(value, dict) else None
        return isinstance(models, list) and all(isinstance(m, dict) and isinstance(m.get("id"), str) for m in models)
    return isinstance(value, dict) and {"parameters", "total"} <= value.keys()  # safetensors


def check_record(item, problems: DataProblems) -> dict | None:
    """One listed item made fit for ``ModelInfo`` and the snapshot's schema, or None to leave it out.

    Each bad value becomes missing and each left-out record is added to ``problems``
    (see :class:`DataProblems`); a missing value (``null``) is no problem. The item is not modified.
    """
    if not isinstance(item, dict):
        problems.add("not-a-record", None, None, item)
        return None
    model_id = item.get("id")
    if not valid_model_id(model_id):
        problems.add("invalid-id", None, "id", model_id)
        return None
    record = {**item, "siblings": item.get("siblings")}   # as HfApi.list_models hands items to ModelInfo
    for name in COUNT_FIELDS:
        kind = count_problem(record.get(name))
        if kind:
            problems.add(kind, model_id, name, record[name])
            record[name] = None
    for name in DATE_FIELDS:
        if record.get(name) is not None and not _parses(record[name]):
            problems.add("unparsable-date", model_id, name, record[name])
            record[name] = None
    for name in ("tags", "baseModels", "safetensors"):
        if record.get(name) is not None and not _well_formed(name, record[name]):
            problems.add("malformed-field", model_id, name, record[name])
            record[name] = None
    if record.get("safetensors") is not None:
        kind = count_problem(record["safetensors"]["total"])
        if kind:
            problems.add(kind, model_id, "safetensors.total", record["safetensors"]["total"])
            record["safetensors"] = {**record["safetensors"], "total": None}
    return record


def parse_children(raw, model_id: str, problems: DataProblems) -> dict | None:
    """Normalise ``childrenModelCount`` (a dict by relation, or a bare count) to a dict.

    A bad count is missing and added to ``problems``; ``total`` is the sum of the relations
    when they are all valid, else the Hub's own ``total`` when valid.
    """
    if raw is None:
        return None
    raw = raw if isinstance(raw, dict) else {"total": raw}
    counts, bad = {}, False
    for name in (*RELATIONS, "total"):
        value = raw.get(name)
        kind = count_problem(value)
        if kind:
            problems.add(kind, model_id, f"childrenModelCount.{name}", value)
            bad = bad or name != "total"
        elif value is not None:
            counts[name] = int(value)
    relations = [counts[r] for r in RELATIONS if r in counts]
    counts["total"] = sum(relations) if relations and not bad else counts.get("total")
    return counts


def base_models_of(info) -> tuple[list[str] | None, str | None]:
    """Declared base model ids and relation, from ``baseModels`` or else the tags.

    ``None`` when neither field was returned (unknown); ``[]`` when tags were
    returned and declare no base model.
    """
    raw = info.base_models
    if isinstance(raw, dict) and raw.get("models"):
        ids = [m["id"] for m in raw["models"] if isinstance(m, dict) and m.get("id")]
        return ids, raw.get("relation")
    if info.tags is None:
        return (None, None) if raw is None else ([], None)
    ids, relation = [], None
    for tag in info.tags:
        if not tag.startswith("base_model:"):
            continue
        rest = tag[len("base_model:"):]
        head, _, tail = rest.partition(":")
        if head in RELATIONS and tail:
            relation = relation or head
        elif rest not in ids:
            ids.append(rest)
    return ids, relation


def model_row(info, problems: DataProblems) -> dict:
    """One ``ModelInfo`` (of a checked record) as a row of the models table (missing stays ``None``)."""
    tags = list(info.tags) if info.tags is not None else None
    license_ = next((t.split(":", 1)[1] for t in tags or [] if t.startswith("license:")), None)
    bases, relation = base_models_of(info)
    safetensors = info.safetensors
    gated = info.gated
    row = {
        "id": info.id,
        "namespace": info.id.split("/", 1)[0] if "/" in info.id else None,
        "author": info.author,
        "created_at": info.created_at,
        "last_modified": info.last_modified,
        "downloads": info.downloads,
        "downloads_all_time": info.downloads_all_time,
        "likes": info.likes,
        "pipeline_tag": info.pipeline_tag,
        "library_name": info.library_name,
        "license": license_,
        "gated": None if gated is None else str(gated),
        "params_total": getattr(safetensors, "total", None) if safetensors is not None else None,
        "base_models": bases,
        "base_relation": relation,
        "tags": tags,
    }
    children = parse_children(info.children_model_count, info.id, problems)
    if children:
        for rel in (*RELATIONS, "total"):
            row[f"children_{rel}"] = children.get(rel)
    return row

