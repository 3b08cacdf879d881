"""``openbrief metrics NAME``: every metric of ``openbrief.metrics``, exported for analysts.

The same loading and attribution as the notebooks (``brief.load``, which refuses a
damaged snapshot), the same functions, so an exported figure is the figure in the brief.
"""
from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from openbrief import metrics
from openbrief.cli.parser import bounded, typed
from openbrief.errors import UsageError
from openbrief.render.params import TOP_MAX, WINDOW_MAX_DAYS

BY_CHOICES = ("country", "bloc", "org", "family")  # family: root-foundations only
#: Options only some metrics read: given for another metric they are refused, never silently ignored.
USED_BY = {
    "by": ("download-share", "new-releases", "foundation-share", "concentration", "openness", "period-downloads",
           "root-foundations", "origin-shares"),
    "window": ("new-releases", "foundation-share", "root-foundations"),
    "split": ("root-foundations",),
    "base": ("derivatives",),
    "against": ("period-downloads",),
    "top": ("top-models",),
    "category": ("download-share", "new-releases", "foundation-share", "concentration", "openness", "period-downloads",
                 "top-models", "derivatives"),
    "universe": ("download-share", "new-releases", "foundation-share", "concentration", "openness", "period-downloads",
                 "top-models", "derivatives", "root-foundations", "origin-shares"),
}


def add_parser(sub) -> None:
    p = sub.add_parser("metrics", help="compute one metric on a snapshot and export it")
    p.add_argument("name", choices=sorted(metrics.METRICS), help="the metric")
    p.add_argument("--snapshot", default="latest", help="snapshot id, or 'latest' (default)")
    p.add_argument("--store", help="snapshot store folder (default: $OPENBRIEF_STORE, else store/ in the repo)")
    p.add_argument("--endpoint", help=argparse.SUPPRESS)
    p.add_argument("--registry", action="append", default=[], help="extra registry CSV (repeatable)")
    p.add_argument("--by", choices=BY_CHOICES, help="grouping (default: bloc; org for concentration; family: "
                                                     "root-foundations only)")
    p.add_argument("--split", choices=metrics.ROOT_SPLITS, help="root-foundations within each relation or publisher bloc")
    p.add_argument("--window", type=bounded(int, 1, WINDOW_MAX_DAYS, unit="days"), default=30,
                   help="days before the snapshot (new releases, foundations)")
    p.add_argument("--base", nargs="+", action="extend", metavar="MODEL_ID",
                   help="base models for derivatives (repeatable)")
    p.add_argument("--against", help="earlier snapshot for period-downloads (default: the one before)")
    p.add_argument("--top", type=bounded(int, 1, TOP_MAX), default=15, help="rows of top-models")
    p.add_argument("--category", choices=metrics.SELECTIONS, default="all",
                   help="which models count: a category ('openbrief categories'), the llm-curated universe, "
                        "or all (default, comparable with earlier exports); definitions compares them all")
    p.add_argument("--universe", choices=metrics.HUB_UNIVERSES, default="tracked",
                   help="which rows of the snapshot: tracked (the registry's organisations, default), hub-top "
                        "(the whole Hub's most downloaded) or new (the window's new models)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(func=run)


def compute(args) -> tuple[metrics.MetricResult, str, str | None]:
    """The metric asked for, the snapshot id it was computed on, and its grouping."""
    from openbrief import brief

    given = set(typed(args)) | ({"base"} if args.base else set())
    for option, users in USED_BY.items():
        if option in given and args.name not in users:
            raise UsageError(f"--{option} does not apply to {args.name} (only to {', '.join(users)}): drop it")
    data = brief.load(args.snapshot, args.store or "", args.registry)
    end = data.as_of
    start = end - pd.Timedelta(days=args.window)
    by = args.by or ("org" if args.name == "concentration" else "bloc")
    name = args.name
    whole = data.models  # definitions compares every universe of the snapshot
    try:
        data.models = metrics.select_universe(data.models, args.universe)
    except ValueError as err:
        raise UsageError(f"{name}: {err}") from None
    models = metrics.select(data.models, args.category)
    try:
        if name == "download-share":
            result = metrics.download_share(models, by=by)
        elif name == "new-releases":
            result = metrics.new_releases(models, start, end, by=by)
        elif name == "foundation-share":
            result = metrics.foundation_share(metrics.select(data.everything, args.category), start, end, by=by)
        elif name == "concentration":
            result = metrics.concentration(models, by=by)
        elif name == "openness":
            result = metrics.openness(models, by=by)
        elif name == "top-models":
            result, by = metrics.top_models(models, n=args.top), None
        elif name == "derivatives":
            both = metrics.derivatives(models, data.derivatives, bases=args.base)
            result, by = metrics.derivatives_by_base(both), None
        elif name == "period-downloads":
            earlier = _earlier(data, args.against)
            try:  # a universe the earlier snapshot lacks is refused
                metrics.select_universe(earlier, args.universe)
            except ValueError as err:
                raise UsageError(f"{name}: the earlier snapshot: {err}") from None
            # the earlier snapshot's rows in the universe (what left it is "only in earlier"), and
            # the earlier row of every model counted now, wherever it was listed then
            keep = metrics.in_hub_universe(earlier, args.universe) | earlier["id"].isin(models["id"])
            earlier = metrics.select(earlier[keep.to_numpy()], args.category)
            result = metrics.period_downloads(earlier, models, by=args.by)
            by = args.by
        elif name in ("root-foundations", "origin-shares"):
            rooted = metrics.with_roots(whole, data.registry).loc[models.index]  # ancestors from the whole snapshot
            result = (metrics.root_foundations(rooted, start, end, by=by, split=args.split) if name == "root-foundations"
                      else metrics.origin_shares(rooted, by=by))
        elif name == "definitions":
            result, by = metrics.definitions(whole), None
        else:  # relative-adoption
            from openbrief.store.history import load_history

            history = load_history(data.snapshot.path.parent, end=end)
            result, by = metrics.relative_adoption(history), None
    except ValueError as err:  # a metric's own check, e.g. an unknown base model
        raise UsageError(f"{name}: {err}") from None
    return result, data.snapshot.id, by


def _earlier(data, against: str | None) -> pd.DataFrame:
    from openbrief.registry import attribute
    from openbrief.store.snapshot import open_snapshot, order_key

    if against:
        snap = open_snapshot(data.snapshot.path.parent, against)  # checked, like the snapshot itself
        if order_key(snap.id) >= order_key(data.snapshot.id):
            raise UsageError(f"--against {against} is not earlier than snapshot {data.snapshot.id}")
        return attribute(snap.models, data.registry)
    if data.previous is None:
        raise UsageError(f"period-downloads needs two snapshots and the store holds none before {data.snapshot.id}: "
                         "fetch again later, or pass --against ID")
    return data.previous_models


def run(args) -> int:
    result, snapshot_id, by = compute(args)
    payload = metrics.to_json(result, snapshot_id, by)
    if args.name in USED_BY["category"]:
        payload["category"] = args.category
    if args.name in USED_BY["universe"]:
        payload["universe"] = args.universe
    if args.format == "json":
        json.dump(payload, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    rows = pd.DataFrame(payload["rows"])
    if args.format == "csv":
        rows.to_csv(sys.stdout, index=False)
        return 0
    scope = f", category {args.category}" if args.name in USED_BY["category"] else ""
    print(f"{result.name} on snapshot {snapshot_id}" + (f", by {by}" if by else "") + scope)
    print(rows.to_string(index=False) if not rows.empty else "(no rows)")
    print(f"\nDefinition: {result.definition}")
    print("Coverage: " + "; ".join(f"{k}={v}" for k, v in payload["coverage"].items()))
    return 0
