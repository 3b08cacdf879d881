"""The replay Hub's data: recorded records loaded and checked, and the catalogue that answers
listings (filters, sorting, paging) and single-model lookups as the Hub does.
"""
from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any


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
        self._orders: dict[str, list[dict]] = {}
        self._by_namespace: dict[str, list[dict]] = {}
        for record in self.records:
            self._by_namespace.setdefault(_namespace(record["id"]).lower(), []).append(record)
        self._tag_index: dict[str, list[dict]] | None = None
        self._index_lock = threading.Lock()

    def _count_children(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for record in self.records:
            for relation, base in set(parent_links(record)):
                if relation in RELATIONS:
                    per_base = counts.setdefault(base, dict.fromkeys(RELATIONS, 0))
                    per_base[relation] += 1
        return counts

    def _sorted(self, key: str | None) -> list[dict]:
        """The records in ``key`` order (the data's own without one), sorted once per key."""
        if key is None:
            return self.records
        if key not in self._orders:
            self._orders[key] = sort_records(self.records, key)
        return self._orders[key]

    def _tagged(self, filters: list[str]) -> list[dict]:
        """The records that every ``filter`` value matches, in the data's order, through an index of
        :func:`effective_tags` built on the first filtered listing."""
        with self._index_lock:
            if self._tag_index is None:
                index: dict[str, list[dict]] = {}
                for record in self.records:
                    for tag in effective_tags(record):
                        index.setdefault(tag, []).append(record)
                self._tag_index = index
        shortest = min((self._tag_index.get(f, []) for f in filters), key=len)
        wanted = set(filters)
        return [r for r in shortest if wanted <= effective_tags(r)]

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

    def list_models(self, params: Mapping[str, list[str]], offset: int = 0,
                    size: int | None = None) -> tuple[list[dict], int]:
        """One page of a listing, projected: ``size`` items from ``offset`` (all without ``size``),
        and how many items the whole listing holds (over every page)."""
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

        sort = _last(params, "sort")
        if sort is not None and sort not in SORT_KEYS:
            raise HubError(400, f"invalid sort {sort!r}; expected one of {sorted(SORT_KEYS)}")
        author, filters = _last(params, "author"), params.get("filter", [])
        few = (self._tagged(filters) if filters else
               self._by_namespace.get(author.lower(), []) if author is not None else None)
        pool = self._sorted(sort) if few is None else sort_records(few, sort) if sort else few
        checked = any(params.get(name) for name in ("author", "search", "pipeline_tag", "filter"))
        selected = [r for r in pool if _matches(r, params)] if checked else pool
        limit = _last(params, "limit")
        if limit is not None:
            if not limit.isdigit():
                raise HubError(400, f"invalid limit {limit!r}")
            selected = selected[: int(limit)]
        page = selected[offset:] if size is None else selected[offset: offset + size]

        if expand:
            names: Iterable[str] = ["_id", "id", *expand]
        elif flags["full"]:
            return [self._full(r, with_children=False) for r in page], len(selected)
        else:
            names = [*DEFAULT_LIST_FIELDS,
                     *(["cardData"] if flags["cardData"] else []),
                     *(["config"] if flags["config"] else [])]
        return [self._project(r, names) for r in page], len(selected)

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
