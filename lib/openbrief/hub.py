"""Fetching from the Hugging Face Hub, and nothing else.

Everything goes through the real ``huggingface_hub.HfApi`` client pointed at an
endpoint (the Hub, or a replay Hub on 127.0.0.1). This module turns the
client's ``ModelInfo`` objects into plain rows (see ``schema.MODEL_COLUMNS``);
it never aggregates. Missing fields stay ``None``.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx2
from huggingface_hub import HfApi
from huggingface_hub.errors import BadRequestError, HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.utils import _http as hf_http
from huggingface_hub.utils import set_client_factory

from openbrief import __version__
from openbrief.errors import SourceError
from openbrief.schema import LIST_EXPAND, RELATIONS

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
        set_client_factory(_client_factory(self.timeout, self.counter))
        self.api = HfApi(endpoint=self.endpoint, library_name="openbrief", library_version=__version__)

    @property
    def requests_sent(self) -> int:
        return self.counter.sent

    def list_models(self, query: dict, expand: Iterable[str] = LIST_EXPAND) -> list[dict]:
        """All models for one ``list_models`` query (e.g. ``{"author": "Qwen"}``) as rows.

        The Hub may refuse on its listing route the ``expand`` fields that only
        the single-model route serves (``baseModels`` among them): on a 400 the
        query is sent once more without them, they are recorded in
        ``self.refused_expand`` and left missing (base models then come from
        the ``base_model:`` tags).
        """
        expand = [e for e in expand if e not in self.refused_expand]
        try:
            try:
                infos = list(self.api.list_models(**query, expand=expand))
            except BadRequestError:
                refused = [e for e in expand if e in MODEL_INFO_ONLY_EXPAND]
                if not refused:
                    raise
                self.refused_expand.extend(refused)
                infos = list(self.api.list_models(**query, expand=[e for e in expand if e not in refused]))
        except SourceError:
            raise
        except Exception as err:  # noqa: BLE001 - every failure becomes one clear line
            raise SourceError(f"listing models {_fmt(query)} from {self.endpoint} failed: {_describe(err)}") from err
        return [model_row(info) for info in infos]

    def children_counts(self, model_id: str) -> dict | None:
        """``childrenModelCount`` of one model by relation, or ``None`` if the Hub gave none."""
        info = self._model_info(model_id, expand=["childrenModelCount"])
        return parse_children(info.children_model_count) if info is not None else None

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


def parse_children(raw) -> dict | None:
    """Normalise ``childrenModelCount`` (a dict by relation, or a bare int) to a dict."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return {"total": raw}
    if isinstance(raw, dict):
        counts = {rel: int(raw[rel]) for rel in RELATIONS if isinstance(raw.get(rel), int)}
        counts["total"] = sum(counts.values()) if counts else raw.get("total")
        return counts
    return None


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


def model_row(info) -> dict:
    """One ``ModelInfo`` as a row of the models table (missing stays ``None``)."""
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
    children = parse_children(info.children_model_count)
    if children:
        for rel in (*RELATIONS, "total"):
            row[f"children_{rel}"] = children.get(rel)
    return row

