"""Convert recorded third-party Hub data into ``/api/models``-shaped records.

Why: the real Hub is unreachable here, but real responses recorded by others
sit in ``shared/hubdata`` (see its PROVENANCE.md). These converters turn them
into the Hub's own JSON shape so that :mod:`openbrief.replay` can serve them to
the real ``huggingface_hub`` client. What a recording lacks stays absent (never
0 or ``null``-turned-value): ``ModelInfo`` then reports ``None``. Odd values (a
negative count, a fraction, text where a number belongs, a date that does not
parse) are kept as recorded: the Hub's raw output is what openbrief's fetch checks.
An item that is not an object or has no id is reported with its file and index.

The converted records are test and demo data derived from third-party files:
write them to temporary or local folders, never into the repository.

Three recordings are understood:

* ``trending-2026-08/YYYY-MM-DD.json``: ``{"date", "fetched_at", "source",
  "models": [{"id", "likes", "downloads", "pipeline_tag", "library_name",
  "createdAt", "lastModified"}]}`` (:func:`trending_day_records`,
  :func:`trending_day_meta`, :func:`trending_folder_records`);
* ``model-tree-2025-04/*.json``: ``{"models": [{"model_id", "metadata" (a JSON
  string with ``modelId``, ``sha``, ``tags``, ``downloads``,
  ``pipeline_tag``), "depth", ...}]}`` (:func:`model_tree_records`);
* ``new-models-2026-09-27/*.csv``: an hourly stream of newly created models
  (:func:`new_models_records`).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

RELATIONS = ("finetune", "adapter", "quantized", "merge")
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class TrendingDayMeta:
    """What a trending snapshot says about itself."""

    date: str               # "YYYY-MM-DD", the recorder's local day
    fetched_at: datetime    # when it was fetched, in UTC
    source: str | None
    model_count: int


def _namespace(model_id: str) -> str | None:
    return model_id.split("/", 1)[0] if "/" in model_id else None


def _zulu(value):
    """An ISO date in the ``...Z`` form that ``ModelInfo`` parses; any other value as it is."""
    return value[: -len("+00:00")] + "Z" if isinstance(value, str) and value.endswith("+00:00") else value


def _model_id(path, index: int, item, key: str) -> str:
    """The id of ``models[index]``, or a ValueError naming the file and the index."""
    model_id = item.get(key) if isinstance(item, dict) else None
    if not isinstance(model_id, str) or not model_id:
        raise ValueError(f"{path}: models[{index}] is not a model object with an {key!r}: {item!r:.80}")
    return model_id


def _put(record: dict, key: str, value: object) -> None:
    """Set ``key`` only when the recording has a value for it."""
    if value is not None:
        record[key] = value


def _read_json(path: str | Path) -> dict:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err.msg}, line {err.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ValueError(f"{path}: expected an object with a 'models' list")
    return data


def trending_day_records(path: str | Path) -> list[dict]:
    """Hub-shaped records of one trending snapshot, in the recording's order.

    Keeps ``id``, ``author`` (the namespace), ``likes``, ``downloads``,
    ``pipeline_tag``, ``library_name``, ``createdAt`` and ``lastModified``
    when the recording has them; ``downloadsAllTime``, ``tags``, ``baseModels``
    and ``safetensors`` were never recorded and stay absent.
    """
    records = []
    for index, item in enumerate(_read_json(path)["models"]):
        record = {"id": _model_id(path, index, item, "id")}
        _put(record, "author", _namespace(record["id"]))
        for key in ("likes", "downloads", "pipeline_tag", "library_name"):
            _put(record, key, item.get(key))
        for key in ("createdAt", "lastModified"):
            _put(record, key, _zulu(item.get(key)))
        records.append(record)
    return records


def trending_day_meta(path: str | Path) -> TrendingDayMeta:
    """The snapshot's date, its ``fetched_at`` as a UTC datetime, source and size."""
    data = _read_json(path)
    fetched = datetime.fromisoformat(data["fetched_at"])
    if fetched.tzinfo is None:
        raise ValueError(f"{path}: fetched_at {data['fetched_at']!r} has no time zone")
    return TrendingDayMeta(
        date=data.get("date") or Path(path).stem,
        fetched_at=fetched.astimezone(timezone.utc),
        source=data.get("source"),
        model_count=len(data["models"]),
    )


def trending_folder_records(folder: str | Path) -> dict[str, list[dict]]:
    """``{day: records}`` for every ``YYYY-MM-DD.json`` in a trending folder."""
    files = sorted(f for f in Path(folder).glob("*.json") if _DAY_RE.match(f.stem))
    if not files:
        raise ValueError(f"{folder}: no YYYY-MM-DD.json snapshot")
    return {f.stem: trending_day_records(f) for f in files}


def base_models_from_tags(tags: Iterable[str]) -> dict | None:
    """The Hub's ``baseModels`` value from ``base_model:RELATION:ORG/NAME`` tags.

    The Hub gives a model one relation; if tags ever name several, the first
    relation met wins and only its bases are listed. ``None`` without such tags.
    """
    relation, models = None, []
    for tag in tags if isinstance(tags, (list, tuple)) else ():
        parts = tag.split(":", 2) if isinstance(tag, str) else ()
        if len(parts) != 3 or parts[0] != "base_model" or parts[1] not in RELATIONS:
            continue
        relation = relation or parts[1]
        if parts[1] == relation and {"id": parts[2]} not in models:
            models.append({"id": parts[2]})
    return {"relation": relation, "models": models} if relation else None


def model_tree_records(path: str | Path) -> list[dict]:
    """Hub-shaped records of a recorded model tree, root first.

    From each model's ``metadata`` JSON string: ``id``, ``author`` (the
    namespace), ``sha``, ``tags`` (licence included, as ``license:...``),
    ``downloads``, ``pipeline_tag``; ``baseModels`` is derived from the
    ``base_model:RELATION:...`` tags (the root has none).
    """
    records = []
    for index, item in enumerate(_read_json(path)["models"]):
        try:
            meta = json.loads(item["metadata"]) if isinstance(item["metadata"], str) else item["metadata"]
        except (KeyError, TypeError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: models[{index}] has no readable 'metadata' ({err})") from None
        if not isinstance(meta, dict):
            raise ValueError(f"{path}: models[{index}] has no readable 'metadata' (not an object)")
        source, key = (meta, "modelId") if meta.get("modelId") else (item, "model_id")
        model_id = _model_id(path, index, source, key)
        record = {"id": model_id}
        _put(record, "author", _namespace(model_id))
        for key in ("sha", "tags", "downloads", "pipeline_tag"):
            _put(record, key, meta.get(key))
        _put(record, "baseModels", base_models_from_tags(meta.get("tags") or ()))
        records.append(record)
    return records


def new_models_records(folder: str | Path) -> list[dict]:
    """Hub-shaped records of a recorded stream of new models (``new-models-*/`` hourly CSVs with
    the header ``created_at,model,author,downloads,likes,tags``), newest first.

    ``tags`` is ``; ``-separated and was cut at about 200 characters, the cut marked with "…":
    a cut tag is dropped, never completed. ``baseModels`` comes from the surviving
    ``base_model:RELATION:...`` tags. An id recorded more than once (a repo re-created) keeps
    its latest row. Counts that are not whole numbers are kept as recorded text.
    """
    import csv

    files = sorted(Path(folder).glob("*.csv"))
    if not files:
        raise ValueError(f"{folder}: no CSV file of new models")
    latest: dict[str, dict] = {}
    for path in files:
        with path.open(encoding="utf-8", newline="") as fh:
            for line, row in enumerate(csv.DictReader(fh), start=2):
                model_id = row.get("model")
                if not model_id:
                    raise ValueError(f"{path}:{line}: no model id")
                tags = [t.strip() for t in (row.get("tags") or "").split(";")]
                tags = [t for t in tags if t and not t.endswith("…")]
                record = {"id": model_id, "author": row.get("author") or _namespace(model_id),
                          "createdAt": _zulu(row.get("created_at")), "tags": tags}
                for key in ("downloads", "likes"):
                    value = row.get(key)
                    _put(record, key, int(value) if value and value.isdigit() else (value or None))
                _put(record, "baseModels", base_models_from_tags(tags))
                if model_id not in latest or (record["createdAt"] or "") >= (latest[model_id]["createdAt"] or ""):
                    latest[model_id] = record
    return sorted(latest.values(), key=lambda r: (r["createdAt"] or "", r["id"]), reverse=True)


def write_jsonl(records: Iterable[Mapping], path: str | Path) -> Path:
    """Write records as JSON Lines (one object a line, UTF-8); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def write_day_folder(days: Mapping[str, Iterable[Mapping]], folder: str | Path) -> Path:
    """Write ``{day: records}`` as ``folder/YYYY-MM-DD.jsonl`` files for the replay Hub."""
    folder = Path(folder)
    for day in days:
        if not _DAY_RE.match(day):
            raise ValueError(f"day {day!r} is not YYYY-MM-DD")
    folder.mkdir(parents=True, exist_ok=True)
    for day, records in days.items():
        write_jsonl(records, folder / f"{day}.jsonl")
    return folder
