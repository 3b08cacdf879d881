"""The whole-Hub census of a fetch: its settings, the request estimate the plan announces, the
share of the Hub's downloads the top-N listing covers, and which bases and ancestors to ask for.

Pure functions on rows and DataFrames; :mod:`openbrief.hub.fetch` sends the requests.
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd

#: Most items the Hub puts on one ``/api/models`` page.
PAGE_CAP = 1000
#: The top 20,000 by 30-day downloads: 20 pages, and about 0.7% of the Hub's ~3M repos, which
#: take nearly all of its downloads (1.5% of repos take 99.2%, HF, Aug 2026).
DEFAULT_HUB_TOP = 20_000
#: The weekly brief's period.
DEFAULT_NEW_DAYS = 7
#: Models created on the Hub a day (2,000 to 2,500 in late 2026): what the plan's estimate assumes.
NEW_PER_DAY = 2_500
#: Public model repos on the Hub (about 3M by late 2026): what the coverage estimate assumes.
HUB_SIZE = 3_000_000
#: Bases most declared by the listed rows whose ``childrenModelCount`` is asked.
DEFAULT_BUILT_UPON = 20
#: Most declared bases that no listed row holds asked by id (``model_info``).
DEFAULT_ANCESTORS = 30


def pages(items: float) -> int:
    return max(1, math.ceil(items / PAGE_CAP))


def window_pages(days: float) -> int:
    """Pages the new-model window is expected to take: its models plus the one older item that ends it."""
    return pages(days * NEW_PER_DAY + 1)


def coverage(downloads: pd.Series, top: int, hub_size: int = HUB_SIZE) -> dict:
    """Share of the Hub's 30-day downloads the listed top ``top`` models hold (``downloads`` of
    the rows the ``hub-top`` query listed).

    - ``complete``: fewer rows than asked came back, so the listing reached the Hub's end: 100%;
    - ``share_at_least``: no unlisted model has more downloads than the last listed one, so the
      rest of the Hub (``hub_size`` minus the listed) holds at most that many each;
    - ``share_estimated``: a power law ``downloads = c * rank^-a`` fitted (least squares on logs)
      over the listed ranks from ``top/10`` to the last with downloads > 0, summed from the next
      rank to ``hub_size``.
    """
    d = np.sort(pd.to_numeric(downloads, errors="coerce").dropna().to_numpy(dtype=float))[::-1]
    d = d[d >= 0]
    n, listed = len(d), float(d.sum())
    out = {"method": "power-law fit of downloads against rank over the listed top, extrapolated to the "
                     "assumed Hub size; lower bound: every unlisted model at the last listed count",
           "listed_models": n, "listed_downloads": int(listed), "assumed_hub_size": hub_size}
    if n < top or n >= hub_size or listed == 0:
        return {**out, "complete": n < top, "share_at_least": 1.0 if n < top else None,
                "share_estimated": 1.0 if n < top else None}
    lower = listed / (listed + d[-1] * (hub_size - n))
    positive = np.flatnonzero(d > 0)
    ranks = np.arange(1, n + 1, dtype=float)
    lo, hi = max(0, top // 10 - 1), int(positive[-1]) + 1
    if hi - lo < 10:
        return {**out, "complete": False, "share_at_least": round(lower, 4), "share_estimated": None}
    slope, intercept = np.polyfit(np.log(ranks[lo:hi]), np.log(d[lo:hi]), 1)
    a = -slope
    # sum of c r^-a for r in (n, hub_size], by the integral from n + 1/2 to hub_size + 1/2
    x0, x1 = n + 0.5, hub_size + 0.5
    tail = math.exp(intercept) * (math.log(x1 / x0) if abs(a - 1) < 1e-9 else (x1 ** (1 - a) - x0 ** (1 - a)) / (1 - a))
    tail = max(0.0, min(tail, d[-1] * (hub_size - n)))
    return {**out, "complete": False, "fit": {"exponent": round(float(a), 4), "ranks": [lo + 1, hi]},
            "share_at_least": round(lower, 4), "share_estimated": round(listed / (listed + tail), 4)}


def declared_bases(models: pd.DataFrame) -> Counter:
    """How many listed rows declare each base model (every declared base counts)."""
    counts: Counter = Counter()
    for bases in models["base_models"].dropna():
        counts.update(dict.fromkeys(bases, 1))
    return counts


def most_built_upon(models: pd.DataFrame, k: int, skip: set[str]) -> list[str]:
    """The ``k`` bases most declared by the rows that the rows themselves hold, ``skip`` left out
    (ties by id): the bases whose ``childrenModelCount`` the census asks."""
    held = set(models["id"])
    ranked = sorted(declared_bases(models).items(), key=lambda kv: (-kv[1], kv[0]))
    return [b for b, _ in ranked if b in held and b not in skip][:max(0, k)]


def missing_bases(models: pd.DataFrame, asked: set[str]) -> list[str]:
    """Declared bases that no row holds and that were not asked before, most declared first."""
    held = set(models["id"])
    ranked = sorted(declared_bases(models).items(), key=lambda kv: (-kv[1], kv[0]))
    return [b for b, _ in ranked if b not in held and b not in asked]


def merge_listed(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per model id from the listings in plan order: the first listing's row, with
    ``listed_by`` every query (``query`` column) that listed it, in plan order. At least one
    frame must have rows."""
    both = pd.concat([f for f in frames if len(f)], ignore_index=True)
    pairs = both[["id", "query"]].dropna().drop_duplicates()
    several = pairs["id"].duplicated(keep=False)
    labels = pd.Series([[q] for q in pairs.loc[~several, "query"]], index=pairs.loc[~several, "id"], dtype=object)
    if several.any():  # few ids: listed by more than one query
        labels = pd.concat([labels, pairs[several].groupby("id", sort=False)["query"].agg(list)])
    first = both.drop_duplicates("id", keep="first").reset_index(drop=True)
    first["listed_by"] = first["id"].map(labels)
    return first
