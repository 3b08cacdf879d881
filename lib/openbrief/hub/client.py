"""Fetching from the Hugging Face Hub, and nothing else.

Everything goes through the real ``huggingface_hub`` client pointed at an
endpoint (the Hub, or a replay Hub on 127.0.0.1). This module turns the
client's ``ModelInfo`` objects into plain rows (see ``schema.MODEL_COLUMNS``);
it never aggregates. Missing fields stay ``None``.

Bad data is not a failure: each record is checked before it becomes a row
(:mod:`openbrief.hub.records`: :func:`check_record`, :class:`DataProblems`).

Robustness, because scheduled runs have nobody watching:
- every request gets a timeout (the client has none by default);
- every request is counted against a per-run budget, so a run stays within the
  Hub's anonymous limit (500 requests per 5 minutes);
- ``model_info`` is retried here with back-off that honours ``Retry-After`` and
  ``RateLimit`` headers (the client retries only ``list_models`` pages);
- a 429 or an exhausted ``RateLimit`` pauses every worker of a concurrent fetch, not one
  (:class:`RateGate`), and the budget is counted before each request is sent, under a lock.
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
from huggingface_hub import HfApi
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import BadRequestError, HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.utils import _http as hf_http
from huggingface_hub.utils import build_hf_headers, hf_raise_for_status, http_backoff, set_client_factory

from openbrief import __version__
from openbrief.errors import SourceError
from openbrief.hub.records import DataProblems, check_record, hub_datetime, parse_children, record_row
from openbrief.store.schema import LIST_EXPAND

# huggingface_hub 2.4 builds every user agent with ``detect_agent()``, which fetches
# ``{HF_ENDPOINT, else https://huggingface.co}/api/agent-harnesses`` once a day whatever endpoint
# the ``HfApi`` has, and counts it against our budget. openbrief sends the fetch plan's requests
# only: telemetry is off for the whole process (the library reads this flag at each call).
hf_constants.HF_HUB_DISABLE_TELEMETRY = True

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


def pause_for(response: httpx2.Response) -> float | None:
    """Seconds every request must wait after ``response``: a 429 (the server's ``RateLimit`` or
    ``Retry-After`` + 1 s, as the client waits, else 1 s), or any answer whose ``RateLimit`` says no
    request is left (its reset + 1 s); None when the Hub asks for no pause."""
    if response.status_code == 429:
        return retry_wait(response, 1)
    info = hf_http.parse_ratelimit_headers(response.headers)
    return float(info.reset_in_seconds) + 1 if info is not None and info.remaining == 0 else None


class RateGate:
    """One pause for every worker of a run: when any answer asks for a pause (:func:`pause_for`),
    no request of the run is sent before it ends (the request that is waiting is not yet counted
    against the budget). ``sleep`` is the run's, so that tests can make it instant."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep):
        self.sleep = sleep
        self.until = 0.0            # time.monotonic() before which no request is sent
        self._lock = threading.Lock()

    def observe(self, response: httpx2.Response) -> None:
        wait = pause_for(response)
        if wait is not None:
            with self._lock:
                self.until = max(self.until, time.monotonic() + wait)

    def wait(self, request: httpx2.Request | None = None) -> None:
        with self._lock:
            until = self.until
        while (delay := until - time.monotonic()) > 0:
            self.sleep(delay)
            with self._lock:
                if self.until <= until:  # not extended meanwhile
                    return
                until = self.until


def _client_factory(timeout: float, counter: RequestCounter, gate: RateGate) -> Callable[[], httpx2.Client]:
    def set_timeout(request: httpx2.Request) -> None:
        # huggingface_hub passes timeout=None explicitly, which overrides a client
        # default; a request extension is the one place it cannot override.
        request.extensions["timeout"] = httpx2.Timeout(timeout).as_dict()

    def factory() -> httpx2.Client:
        return httpx2.Client(
            event_hooks={"request": [gate.wait, counter, set_timeout, hf_http.hf_request_event_hook],
                         "response": [gate.observe]},
            follow_redirects=True,
            timeout=timeout,
        )

    return factory


@dataclass
class Hub:
    """A configured client for one run: endpoint, timeout, budget, user agent, and the pause that
    every worker of the run keeps when the Hub asks for one (:class:`RateGate`). Its methods may be
    called from several threads at once (huggingface_hub's shared ``httpx2`` client is thread-safe)."""

    endpoint: str
    timeout: float = DEFAULT_TIMEOUT
    budget: int = DEFAULT_BUDGET
    max_retries: int = 5
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self.counter = RequestCounter(self.budget)
        self.gate = RateGate(self.sleep)
        self.refused_expand: list[str] = []
        self._refused_lock = threading.Lock()
        self.problems = DataProblems()
        set_client_factory(_client_factory(self.timeout, self.counter, self.gate))
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
        return [record_row(record, self.problems) for record in records if record is not None]

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
            with self._refused_lock:  # two listings may learn it at once
                self.refused_expand.extend(e for e in refused if e not in self.refused_expand)
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
                    rows.append(record_row(record, self.problems))
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
        return None if record is None else record_row(record, self.problems)

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
        return hub_datetime(record["createdAt"]) if record and record.get("createdAt") else None
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
