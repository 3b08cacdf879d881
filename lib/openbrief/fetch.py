"""One fetch run: which queries to send, in what order, and the snapshot it makes.

The plan is fixed and small enough for the Hub's anonymous limit:
1. ``list_models(author=ORG)`` for every tracked organisation (a page per 1,000 models);
2. ``model_info(expand=childrenModelCount)`` for the ``top_n`` most-downloaded models;
3. ``list_models(filter=base_model:ID, sort=downloads, limit=L)`` for the
   ``derivative_bases`` most-downloaded models: their most-downloaded derivatives.
Nothing is written unless every step succeeded.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import huggingface_hub
import pandas as pd

from openbrief import __version__
from openbrief.hub import Hub, has_token
from openbrief.schema import DERIVATIVE_COLUMNS, LIST_EXPAND, MODEL_COLUMNS, RELATIONS, conform
from openbrief.snapshot import Snapshot, write_snapshot

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


def run(hub: Hub, plan: Plan, store, *, fetched_at: datetime | None = None, quiet: bool = True,
        extra_meta: dict | None = None) -> Snapshot:
    """Fetch everything in ``plan`` through ``hub`` and write one snapshot into ``store``."""
    progress = Progress(quiet)
    started = datetime.now(timezone.utc)
    queries, rows = [], []
    for org in progress.stage("listing organisations", list(plan.orgs)):
        query = {"author": org}
        queries.append({"route": "list_models", **query, "expand": LIST_EXPAND})
        for row in hub.list_models(query):
            rows.append({**row, "query": f"author={org}"})
    models = conform(pd.DataFrame(rows), MODEL_COLUMNS).drop_duplicates("id", keep="first")

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
        "plan": {"top_n": plan.top_n, "derivative_bases": plan.derivative_bases,
                 "derivatives_per_base": plan.derivatives_per_base},
        "requests": hub.requests_sent,
        "expand_refused": hub.refused_expand,
        "versions": {"openbrief": __version__, "huggingface_hub": huggingface_hub.__version__},
        **(extra_meta or {}),
    }
    return write_snapshot(store, {"models": models, "derivatives": derivatives}, meta, fetched_at or started)


def top_ids(models: pd.DataFrame, n: int) -> list[str]:
    """Ids of the ``n`` most-downloaded models (missing downloads last, ties by id)."""
    if n <= 0 or models.empty:
        return []
    ranked = models.dropna(subset=["downloads"]).sort_values(["downloads", "id"], ascending=[False, True])
    return ranked["id"].head(n).tolist()


def with_children(models: pd.DataFrame, counts: dict[str, dict | None]) -> pd.DataFrame:
    """Fill the ``children_*`` columns from ``childrenModelCount`` results; others stay missing."""
    models = models.copy()
    for rel in (*RELATIONS, "total"):
        col = f"children_{rel}"
        values = models["id"].map(lambda i: (counts.get(i) or {}).get(rel))
        models[col] = values.where(values.notna(), models[col]).astype("Int64")
    return models
