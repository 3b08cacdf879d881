"""One fetch run: which queries to send, in what order, and the snapshot it makes.

The plan is fixed and small enough for the Hub's anonymous limit:
1. ``list_models(author=ORG)`` for every tracked organisation (a page per 1,000 models);
2. ``model_info(expand=childrenModelCount)`` for the ``top_n`` most-downloaded models;
3. ``list_models(filter=base_model:ID, sort=downloads, limit=L)`` for the
   ``derivative_bases`` most-downloaded models: their most-downloaded derivatives.
No snapshot is written unless every step succeeded. So that a failed run need
not start over, the rows of each organisation already listed are kept in
``<store>/.partial/<run-key>/`` (never read as a snapshot), each with the time it
was listed; ``resume=True`` reuses them for the same endpoint and plan if none is
older than ``RESUME_MAX_AGE``, and a successful run deletes them. ``snapshot.json``
says when each organisation was listed (``listed_at``) and, for a resumed run, which
organisations an earlier run listed and the span of the listings (``resumed``).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import huggingface_hub
import pandas as pd
from filelock import FileLock

from openbrief import __version__
from openbrief.hub.client import Hub, has_token
from openbrief.errors import SourceError, UsageError, WriteError
from openbrief.store.schema import DERIVATIVE_COLUMNS, LIST_EXPAND, MODEL_COLUMNS, RELATIONS, conform, to_arrow
from openbrief.store.snapshot import Snapshot, acquire, read_parquet, write_snapshot


@dataclass
class Plan:
    orgs: Sequence[str]
    top_n: int = 100
    derivative_bases: int = 20
    derivatives_per_base: int = 50


class Progress:
    """A progress bar for people, one line per stage for cron (``quiet``)."""

    def __init__(self, quiet: bool, stream=sys.stderr):
        self.quiet, self.stream = quiet, stream

    def stage(self, name: str, items: Sequence):
        if self.quiet:
            print(f"openbrief fetch: {name} ({len(items)})", file=self.stream, flush=True)
            return items
        from tqdm.auto import tqdm

        return tqdm(items, desc=name, file=self.stream, leave=False)


#: The oldest listing ``--resume`` reuses: a scheduler's retries come within hours, and one
#: weekly snapshot must not mix days.
RESUME_MAX_AGE = timedelta(hours=6)


class Partial:
    """Organisations already listed by an unfinished run, kept for ``--resume``."""

    def __init__(self, store, endpoint: str, plan: Plan):
        key = json.dumps({"endpoint": endpoint, "orgs": list(plan.orgs)}, sort_keys=True)
        self.path = Path(store) / ".partial" / hashlib.sha256(key.encode()).hexdigest()[:16]

    def done(self) -> dict[str, tuple[pd.DataFrame, str]]:
        """Organisation key -> (its rows, when they were listed); one saved without its time is listed again."""
        found = {}
        for p in sorted(self.path.glob("*.parquet")):
            try:
                listed_at = json.loads(p.with_suffix(".json").read_text())["listed_at"]
                pd.Timestamp(listed_at).tz_convert("UTC")  # a UTC time, or not ours
                found[p.stem] = (read_parquet(p, MODEL_COLUMNS), listed_at)
            except (OSError, ValueError, KeyError, TypeError):  # half-saved, or by an older openbrief
                continue
        return found

    def lock(self, timeout: float) -> FileLock:
        """Two runs of the same plan share this progress: the second waits for the first."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.path) + ".lock", timeout=timeout)

    def save(self, key: str, frame: pd.DataFrame, listed_at: str) -> None:
        tmp = self.path / f".{key}.tmp"
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            frame.to_parquet(tmp, index=False, schema=to_arrow(MODEL_COLUMNS))
            tmp.rename(self.path / f"{key}.parquet")
            tmp.write_text(json.dumps({"listed_at": listed_at}))
            tmp.rename(self.path / f"{key}.json")
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise WriteError(f"could not save fetch progress in {self.path}: {err}; "
                             "the store's snapshots are unchanged") from err

    def clear(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _key(org: str) -> str:
    return hashlib.sha256(org.encode()).hexdigest()[:16]


def run(hub: Hub, plan: Plan, store, *, fetched_at: datetime | None = None, quiet: bool = True,
        extra_meta: dict | None = None, resume: bool = False, lock_timeout: float = 600) -> Snapshot:
    """Fetch everything in ``plan`` through ``hub`` and write one snapshot into ``store``.

    A second run of the same plan on the same store waits up to ``lock_timeout``
    seconds for the first (then refuses with ``LockedError``).
    """
    partial = Partial(store, hub.endpoint, plan)
    with acquire(partial.lock(lock_timeout), f"a fetch of the same organisations into {store}"):
        return _run(hub, plan, store, partial, fetched_at=fetched_at, quiet=quiet, extra_meta=extra_meta,
                    resume=resume)


def _run(hub: Hub, plan: Plan, store, partial: Partial, *, fetched_at, quiet, extra_meta, resume) -> Snapshot:
    progress = Progress(quiet)
    started = datetime.now(timezone.utc)
    if not resume:
        partial.clear()
    done = partial.done()
    if resume and done:
        oldest = min(when for _, when in done.values())
        if started - pd.Timestamp(oldest) > RESUME_MAX_AGE:
            raise UsageError(f"the organisations saved for --resume in {partial.path} were listed from {oldest}, "
                             f"more than {RESUME_MAX_AGE.total_seconds() / 3600:g} hours ago, and one snapshot must "
                             "not mix listings that far apart: run without --resume to list them all again")
        print(f"openbrief fetch: resuming: {len(done)} of {len(plan.orgs)} organisations already listed",
              file=sys.stderr)
    queries, frames, listed_at = [], [], {}
    for org in progress.stage("listing organisations", list(plan.orgs)):
        query = {"author": org}
        queries.append({"route": "list_models", **query, "expand": LIST_EXPAND})
        if _key(org) in done:
            frame, listed_at[org] = done[_key(org)]
            frames.append(frame)
            continue
        try:
            rows = [{**row, "query": f"author={org}"} for row in hub.list_models(query)]
        except Exception:
            listed = len(partial.done())
            if listed:
                print(f"openbrief fetch: {listed} of {len(plan.orgs)} organisations were listed before the failure; "
                      "run again with --resume to skip them", file=sys.stderr)
            raise
        frame = conform(pd.DataFrame(rows), MODEL_COLUMNS)
        listed_at[org] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        partial.save(_key(org), frame, listed_at[org])
        frames.append(frame)
    models = pd.concat(frames, ignore_index=True) if frames else conform(pd.DataFrame(), MODEL_COLUMNS)
    models = models.drop_duplicates("id", keep="first").reset_index(drop=True)
    if models.empty:
        partial.clear()
        if hub.problems:
            raise UsageError(f"{hub.endpoint} listed no usable model for the {len(plan.orgs)} organisations tracked: "
                             f"data problems {hub.problems.line()}; retrying will not help. No snapshot was written")
        raise SourceError(f"{hub.endpoint} returned no model for any of the {len(plan.orgs)} organisations tracked: "
                          "is it a Hub endpoint? No snapshot was written")

    top = top_ids(models, plan.top_n)
    counts = {}
    for model_id in progress.stage("counting derivatives", top):
        counts[model_id] = hub.children_counts(model_id)
    if top:
        queries.append({"route": "model_info", "expand": ["childrenModelCount"], "ids": len(top)})
    models = with_children(models, counts)

    derivative_rows = []
    bases = top[: plan.derivative_bases]
    for base in progress.stage("listing derivatives", bases):
        query = {"filter": f"base_model:{base}", "sort": "downloads", "limit": plan.derivatives_per_base}
        for row in hub.list_models(query):
            derivative_rows.append({**row, "query": f"filter=base_model:{base}", "listed_base": base})
    if bases:
        queries.append({"route": "list_models", "filter": "base_model:<top models>", "sort": "downloads",
                        "limit": plan.derivatives_per_base, "bases": len(bases), "expand": LIST_EXPAND})
    derivatives = conform(pd.DataFrame(derivative_rows), DERIVATIVE_COLUMNS)

    meta = {
        "endpoint": hub.endpoint,
        "retrieved_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "authenticated": has_token(),
        "queries": queries,
        "tracked_orgs": list(plan.orgs),
        "listed_at": listed_at,
        "plan": {"top_n": plan.top_n, "derivative_bases": plan.derivative_bases,
                 "derivatives_per_base": plan.derivatives_per_base},
        "requests": hub.requests_sent,
        "expand_refused": hub.refused_expand,
        "data_problems": hub.problems.summary(),
        "versions": {"openbrief": __version__, "huggingface_hub": huggingface_hub.__version__},
        **(extra_meta or {}),
    }
    resumed = sorted(org for org in listed_at if _key(org) in done)
    if resumed:  # an earlier run listed these: the snapshot mixes listing times, and says so
        meta["resumed"] = {"orgs": resumed, "listed_between": [min(listed_at.values()), max(listed_at.values())]}
    if hub.problems:
        print(f"openbrief fetch: data problems {hub.problems.line()}: bad values are missing in the snapshot, "
              "left-out records and examples under data_problems in its snapshot.json", file=sys.stderr)
    snap = write_snapshot(store, {"models": models, "derivatives": derivatives}, meta, fetched_at or started)
    partial.clear()
    return snap


def top_ids(models: pd.DataFrame, n: int) -> list[str]:
    """Ids of the ``n`` most-downloaded models (missing downloads last, ties by id)."""
    if n <= 0 or models.empty:
        return []
    ranked = models.dropna(subset=["downloads"]).sort_values(["downloads", "id"], ascending=[False, True])
    return ranked["id"].head(n).tolist()


def with_children(models: pd.DataFrame, counts: dict[str, dict | None]) -> pd.DataFrame:
    """Fill the ``children_*`` columns from ``childrenModelCount`` results; others stay missing."""
    if not counts:
        return models
    models = models.copy()
    for rel in (*RELATIONS, "total"):
        col = f"children_{rel}"
        fetched = pd.Series(pd.array([(counts.get(i) or {}).get(rel) for i in models["id"]], dtype="Int64"),
                            index=models.index)
        models[col] = fetched.fillna(models[col].astype("Int64"))
    return models
