"""The Hub's records made rows of the models table, and the bad values found on the way.

This is the one place where the Hub's records become rows, and each record is checked here first
(:func:`check_record`). A count that is negative, not an integer or beyond int64, or a date that
does not parse, becomes missing (never 0); a record whose id is not a Hub repo id is left out.
Each is recorded in :class:`DataProblems`, which the snapshot keeps.
"""
from __future__ import annotations

import re
import threading
from datetime import datetime, timezone

from huggingface_hub import ModelInfo
from huggingface_hub.utils import parse_datetime, validate_repo_id

from openbrief.store.schema import RELATIONS, count_problem

#: Count fields of a listed record (``safetensors.total`` and ``childrenModelCount`` are checked too).
COUNT_FIELDS = ("downloads", "downloadsAllTime", "likes")
DATE_FIELDS = ("createdAt", "lastModified")


class DataProblems:
    """Bad values found in the Hub's records: how many of each kind, and a few examples of each.

    Kinds: ``negative-count``, ``non-integer-count``, ``count-beyond-int64``, ``unparsable-date``,
    ``malformed-field`` (tags, baseModels or safetensors not in the Hub's shape): the value is
    missing in the snapshot; ``invalid-id``, ``not-a-record``: the record is left out.
    Thread-safe, and the same whatever order the problems were met in (concurrent listings).
    """

    EXAMPLES_PER_KIND = 10
    RAW_CHARS = 80

    def __init__(self) -> None:
        self.kinds: dict[str, int] = {}
        self._found: dict[tuple, dict] = {}
        self._lock = threading.Lock()

    def add(self, kind: str, model_id: str | None, field: str | None, raw) -> None:
        """Count one bad value; the same one met again (a model listed by several queries) counts once."""
        key = (kind, model_id, field) if model_id is not None else (kind, field, repr(raw))
        with self._lock:
            if key in self._found:
                return
            self._found[key] = {"kind": kind, "id": model_id, "field": field, "raw": self._short(repr(raw))}
            self.kinds[kind] = self.kinds.get(kind, 0) + 1

    @property
    def examples(self) -> list[dict]:
        """Up to ``EXAMPLES_PER_KIND`` of each kind, by id, field, kind and value."""
        with self._lock:
            found = sorted(self._found.values(), key=lambda e: (e["id"] or "", e["field"] or "", e["kind"], e["raw"]))
        kept: dict[str, int] = {}
        out = []
        for example in found:
            kept[example["kind"]] = kept.get(example["kind"], 0) + 1
            if kept[example["kind"]] <= self.EXAMPLES_PER_KIND:
                out.append(example)
        return out

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


_HUB_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z")


def hub_datetime(text) -> datetime:
    """``parse_datetime``, the client's parser of the Hub's dates: the same value, through the much
    faster ``fromisoformat`` when ``text`` has the Hub's own shape (a whole-Hub fetch parses ~100,000)."""
    if isinstance(text, str) and _HUB_TIME.fullmatch(text):
        try:
            return datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)
        except ValueError:
            pass   # out of range: the client's parser says how
    return parse_datetime(text)


def _parses(date) -> bool:
    try:
        hub_datetime(date)
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


def record_row(record: dict, problems: DataProblems) -> dict:
    """A record :func:`check_record` returned as a row: its ``ModelInfo`` (:func:`model_row`), the
    dates parsed once, by :func:`hub_datetime`."""
    row = model_row(ModelInfo(**{k: v for k, v in record.items() if k not in DATE_FIELDS}), problems)
    row["created_at"], row["last_modified"] = (hub_datetime(record[name]) if record.get(name) else None
                                               for name in DATE_FIELDS)
    return row


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

