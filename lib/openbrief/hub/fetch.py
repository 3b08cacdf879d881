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

Independent requests run on a few workers (:mod:`.pool`): after the first organisation's listing
(alone, so that it learns whether the Hub refuses an ``expand``), the other organisations' listings
beside the whole-Hub top listing and the new-model window (each a chain of pages); then the counts
and derivative listings; then each round of ancestors and the built-upon counts. Every step reads
its results in plan order and every budget decision is taken from the plan or between steps, never
from timing, so the snapshot is the same whatever the timing; one worker is the sequential fetch.
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
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock

from openbrief import __version__
from openbrief.hub import census
from openbrief.hub.client import Hub, has_token
from openbrief.hub.pool import DEFAULT_CONCURRENCY, Workers
from openbrief.hub.records import valid_model_id
from openbrief.errors import SourceError, UsageError, WriteError
from openbrief.store.schema import DERIVATIVE_COLUMNS, LIST_EXPAND, MODEL_COLUMNS, RELATIONS, conform, to_arrow
from openbrief.store.snapshot import Snapshot, acquire, read_parquet, write_snapshot


@dataclass
class Plan:
    """What one fetch asks: the tracked organisations' listings, ``childrenModelCount`` of their
    ``top_n`` models and the derivatives of ``derivative_bases`` of them; the whole-Hub census:
    the ``hub_top`` models by downloads (0: none), every model created in the ``new_days``
    before the fetch (0: none), ``childrenModelCount`` of the ``built_upon`` most declared bases
    and up to ``ancestors`` missing bases asked by id. ``hub_size`` is what the coverage estimate
    of the top listing assumes."""

    orgs: Sequence[str]
    top_n: int = 100
    derivative_bases: int = 20
    derivatives_per_base: int = 50
    hub_top: int = census.DEFAULT_HUB_TOP
    new_days: float = census.DEFAULT_NEW_DAYS
    built_upon: int = census.DEFAULT_BUILT_UPON
    ancestors: int = census.DEFAULT_ANCESTORS
    hub_size: int = census.HUB_SIZE

    def estimate(self, to_list: int) -> dict[str, int]:
        """Requests of each step: ``to_list`` organisations still to list (a page each, and one
        more should the Hub refuse an ``expand``); the new-model window at ``census.NEW_PER_DAY``."""
        top = self.top_n
        return {"organisations": to_list + (1 if to_list else 0),
                "hub top": census.pages(self.hub_top) if self.hub_top else 0,
                "new models": census.window_pages(self.new_days) if self.new_days else 0,
                "model_info": top + (self.built_upon + self.ancestors if self.hub_top or self.new_days else 0),
                "derivative listings": min(self.derivative_bases, top)}


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

    def done(self) -> dict[str, tuple[pd.DataFrame, dict]]:
        """Listing key -> (its rows, its sidecar: ``listed_at`` and, for the new-model window, how
        far it got); one saved without its time is listed again."""
        found = {}
        for p in sorted(self.path.glob("*.parquet")):
            try:
                info = json.loads(p.with_suffix(".json").read_text())
                pd.Timestamp(info["listed_at"]).tz_convert("UTC")  # a UTC time, or not ours
                found[p.stem] = (read_parquet(p, MODEL_COLUMNS), info)
            except (OSError, ValueError, KeyError, TypeError, AttributeError):  # half-saved, or not ours
                continue
        return found

    def lock(self, timeout: float) -> FileLock:
        """Two runs of the same plan share this progress: the second waits for the first."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.path) + ".lock", timeout=timeout)

    def save(self, key: str, rows: pd.DataFrame | list[dict], listed_at: str, **info) -> None:
        """Keep one listing's rows (a conformed frame, or the rows themselves) and its sidecar."""
        tmp = self.path / f".{key}.tmp"
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            if isinstance(rows, list):   # straight to Arrow: much cheaper than conforming a frame per listing
                pq.write_table(pa.Table.from_pylist(rows, schema=to_arrow(MODEL_COLUMNS)), tmp)
            else:
                rows.to_parquet(tmp, index=False, schema=to_arrow(MODEL_COLUMNS))
            tmp.rename(self.path / f"{key}.parquet")
            tmp.write_text(json.dumps({"listed_at": listed_at, **info}))
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
        extra_meta: dict | None = None, resume: bool = False, lock_timeout: float = 600,
        concurrency: int = DEFAULT_CONCURRENCY) -> Snapshot:
    """Fetch everything in ``plan`` through ``hub`` and write one snapshot into ``store``.

    Independent requests run on ``concurrency`` workers (:mod:`openbrief.hub.pool`; 1: one after
    the other); the snapshot is the same whatever their timing. A second run of the same plan on
    the same store waits up to ``lock_timeout`` seconds for the first (then refuses with
    ``LockedError``).
    """
    partial = Partial(store, hub.endpoint, plan)
    with acquire(partial.lock(lock_timeout), f"a fetch of the same organisations into {store}"), \
            Workers(concurrency) as workers:
        return _run(hub, plan, store, partial, workers, fetched_at=fetched_at, quiet=quiet, extra_meta=extra_meta,
                    resume=resume)


def _run(hub: Hub, plan: Plan, store, partial: Partial, workers: Workers, *, fetched_at, quiet, extra_meta,
         resume) -> Snapshot:
    progress = Progress(quiet)
    started = datetime.now(timezone.utc)
    if not resume:
        partial.clear()
    done = partial.done()
    if resume and done:
        oldest = min(info["listed_at"] for _, info in done.values())
        if started - pd.Timestamp(oldest) > RESUME_MAX_AGE:
            raise UsageError(f"the listings saved for --resume in {partial.path} were listed from {oldest}, "
                             f"more than {RESUME_MAX_AGE.total_seconds() / 3600:g} hours ago, and one snapshot must "
                             "not mix listings that far apart: run without --resume to list them all again")
        listed = sum(_key(org) in done for org in plan.orgs)
        print(f"openbrief fetch: resuming: {listed} of {len(plan.orgs)} organisations already listed",
              file=sys.stderr)
    window = _window(plan, done, fetched_at or started)
    announce(plan, hub, [o for o in plan.orgs if _key(o) not in done], window)
    queries = [{"route": "list_models", "author": org, "expand": LIST_EXPAND} for org in plan.orgs]

    def list_org(org: str) -> tuple[pd.DataFrame | list[dict], str]:
        """An organisation's rows as listed now, else its frame saved by an earlier run."""
        if _key(org) in done:
            frame, info = done[_key(org)]
            return frame, info["listed_at"]
        rows, stamp = [{**row, "query": f"author={org}"} for row in hub.list_models({"author": org})], _now()
        partial.save(_key(org), rows, stamp)
        return rows, stamp

    to_list = [org for org in plan.orgs if _key(org) not in done]
    try:
        # the first listing goes alone, so that an ``expand`` the Hub refuses is learned once
        first = {org: workers.submit(list_org, org) for org in to_list[:1]}
        workers.gather(first.values())
        if window is not None:  # its pages follow each other, beside every other step
            saved = _saved_window(done, window)
            room = _window_room(hub, plan, len(to_list[1:]), done)
            window_call = workers.submit(_new_window, hub, partial, window, saved, room,
                                         plan.built_upon + plan.ancestors)
        top_call = workers.submit(_hub_top, hub, plan, partial, done)   # beside the organisations
        calls = [first.get(org) or workers.submit(list_org, org) for org in plan.orgs]
        listed = workers.gather(progress.stage("listing organisations", calls))
    except Exception:
        listed = sum(_key(o) in partial.done() for o in plan.orgs)
        if listed:
            print(f"openbrief fetch: {listed} of {len(plan.orgs)} organisations were listed before the failure; "
                  "run again with --resume to skip them", file=sys.stderr)
        raise
    listed_at = {org: stamp for org, (_, stamp) in zip(plan.orgs, listed)}
    tracked = _in_order([rows for rows, _ in listed])
    tracked = tracked.drop_duplicates("id", keep="first").reset_index(drop=True)
    if tracked.empty:
        partial.clear()
        if hub.problems:
            raise UsageError(f"{hub.endpoint} listed no usable model for the {len(plan.orgs)} organisations tracked: "
                             f"data problems {hub.problems.line()}; retrying will not help. No snapshot was written")
        raise SourceError(f"{hub.endpoint} returned no model for any of the {len(plan.orgs)} organisations tracked: "
                          "is it a Hub endpoint? No snapshot was written")

    census_meta = {}
    if plan.hub_top:
        queries.append({"route": "list_models", "sort": "downloads", "direction": -1, "limit": plan.hub_top,
                        "expand": LIST_EXPAND})
    listing_top = plan.hub_top and f"{HUB_TOP_KEY}-{plan.hub_top}" not in done
    [hub_top] = workers.gather(progress.stage("listing the whole Hub's top models", [top_call]) if listing_top
                               else [top_call])
    if plan.hub_top:
        census_meta["hub_top"] = {"asked": plan.hub_top, "listed": len(hub_top),
                                  "coverage": census.coverage(hub_top["downloads"], plan.hub_top, plan.hub_size)}

    def derivatives_of(base: str) -> list[dict]:
        query = {"filter": f"base_model:{base}", "sort": "downloads", "limit": plan.derivatives_per_base}
        return [{**row, "query": f"filter=base_model:{base}", "listed_base": base} for row in hub.list_models(query)]

    top = top_ids(tracked, plan.top_n)
    bases = top[: plan.derivative_bases]
    count_calls, derivative_calls = workers.map(hub.children_counts, top), workers.map(derivatives_of, bases)
    counts = dict(zip(top, workers.gather(progress.stage("counting derivatives", count_calls))))
    if top:
        queries.append({"route": "model_info", "expand": ["childrenModelCount"], "ids": len(top)})
    derivative_rows = [row for rows in workers.gather(progress.stage("listing derivatives", derivative_calls))
                       for row in rows]
    if bases:
        queries.append({"route": "list_models", "filter": "base_model:<top models>", "sort": "downloads",
                        "limit": plan.derivatives_per_base, "bases": len(bases), "expand": LIST_EXPAND})
    derivatives = conform(pd.DataFrame(derivative_rows), DERIVATIVE_COLUMNS)

    new = conform(pd.DataFrame(), MODEL_COLUMNS)
    if window is not None:
        listing = not saved[1]["complete"] and (saved[2] is not None or not saved[1]["pages"])
        [(new, census_meta["new_window"])] = workers.gather(
            progress.stage("listing the models created since " + window["start"], [window_call]) if listing
            else [window_call])
        queries.append({"route": "list_models", "sort": "createdAt", "direction": -1, "expand": LIST_EXPAND,
                        "created_from": window["start"], "created_to": window["end"]})
    models = census.merge_listed([tracked, hub_top, new])
    if plan.hub_top or window is not None:
        models, census_meta["ancestors"] = _ancestors(hub, plan, models, queries, progress, workers)
        asked = [b for b in census.most_built_upon(models, plan.built_upon, set(counts))
                 if models.loc[models["id"] == b, "children_total"].isna().all()]
        asked = asked[: max(0, hub.counter.budget - hub.requests_sent)]
        calls = progress.stage("counting children of the most built-upon bases",
                               workers.map(hub.children_counts, asked))
        counts.update(zip(asked, workers.gather(calls)))
        census_meta["built_upon"] = asked
        if asked:
            queries.append({"route": "model_info", "expand": ["childrenModelCount"], "ids": len(asked),
                            "why": "the bases the census rows declare most"})
    models = with_children(models, counts)

    meta = {
        "endpoint": hub.endpoint,
        "retrieved_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "authenticated": has_token(),
        "queries": queries,
        "tracked_orgs": list(plan.orgs),
        "listed_at": listed_at,
        "plan": {"top_n": plan.top_n, "derivative_bases": plan.derivative_bases,
                 "derivatives_per_base": plan.derivatives_per_base, "hub_top": plan.hub_top,
                 "new_days": plan.new_days, "built_upon": plan.built_upon, "ancestors": plan.ancestors,
                 "hub_size": plan.hub_size},
        "requests": hub.requests_sent,
        "budget": hub.counter.budget,
        "expand_refused": hub.refused_expand,
        "data_problems": hub.problems.summary(),
        "versions": {"openbrief": __version__, "huggingface_hub": huggingface_hub.__version__},
        **census_meta,
        **(extra_meta or {}),
    }
    resumed = sorted(org for org in listed_at if _key(org) in done)
    if resumed:  # an earlier run listed these: the snapshot mixes listing times, and says so
        meta["resumed"] = {"orgs": resumed, "listed_between": [min(listed_at.values()), max(listed_at.values())]}
    if hub.problems:
        print(f"openbrief fetch: data problems {hub.problems.line()}: bad values are missing in the snapshot, "
              "left-out records and examples under data_problems in its snapshot.json", file=sys.stderr)
    snap = write_snapshot(store, {"models": models, "derivatives": derivatives}, meta, fetched_at or started)
    if census_meta.get("new_window", {}).get("complete", True):
        partial.clear()
    else:  # kept, so that --resume continues the window where this run stopped
        print(f"openbrief fetch: the new-model window is covered from {census_meta['new_window']['covered_from']} "
              f"only (request budget {hub.counter.budget}): run again with --resume to continue it", file=sys.stderr)
    return snap


def _in_order(parts: list[pd.DataFrame | list[dict]]) -> pd.DataFrame:
    """One frame of listings in order: saved frames as they are, each run of listed rows conformed
    once (conforming is what costs, not the rows)."""
    frames, rows = [], []
    for part in parts:
        if isinstance(part, list):
            rows.extend(part)
            continue
        if rows:
            frames.append(conform(pd.DataFrame(rows), MODEL_COLUMNS))
            rows = []
        frames.append(part)
    if rows or not frames:
        frames.append(conform(pd.DataFrame(rows), MODEL_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


NEW_KEY, HUB_TOP_KEY = "new-window", "hub-top"


def _window(plan: Plan, done: dict, end: datetime) -> dict | None:
    """The new-model window: the saved one being resumed, else the ``new_days`` before ``end``."""
    if not plan.new_days:
        return None
    if NEW_KEY in done and done[NEW_KEY][1].get("days") == plan.new_days:
        info = done[NEW_KEY][1]
        return {"start": info["start"], "end": info["end"], "days": plan.new_days}
    end = pd.Timestamp(end).tz_convert("UTC").floor("s")
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return {"start": (end - timedelta(days=plan.new_days)).strftime(fmt), "end": end.strftime(fmt),
            "days": plan.new_days}


def announce(plan: Plan, hub: Hub, to_list: list[str], window: dict | None) -> dict[str, int]:
    """Say on stderr, before any request, what the plan will send and the budget it must fit."""
    parts = plan.estimate(len(to_list))
    total = sum(parts.values())
    text = [f"{len(plan.orgs)} namespaces ({len(to_list)} to list)"]
    if plan.hub_top:
        text.append(f"hub top {plan.hub_top} ({parts['hub top']} pages)")
    if window is not None:
        text.append(f"new models since {window['start']} (about {parts['new models']} pages)")
    text.append(f"up to {parts['model_info']} model_info, {parts['derivative listings']} derivative listings")
    print(f"openbrief fetch: plan: {', '.join(text)}: about {total} requests of budget {hub.counter.budget}",
          file=sys.stderr, flush=True)
    return parts


def _hub_top(hub: Hub, plan: Plan, partial: Partial, done: dict) -> pd.DataFrame:
    """The ``hub_top`` most-downloaded models of the whole Hub (saved for ``--resume``); its pages
    follow each other, beside the other listings."""
    if not plan.hub_top:
        return conform(pd.DataFrame(), MODEL_COLUMNS)
    query = {"sort": "downloads", "direction": -1, "limit": plan.hub_top}
    key = f"{HUB_TOP_KEY}-{plan.hub_top}"
    if key in done:
        return done[key][0]
    frame = conform(pd.DataFrame([{**row, "query": "hub-top"} for row in hub.list_models(query)]), MODEL_COLUMNS)
    partial.save(key, frame, _now())
    return frame


def _window_room(hub: Hub, plan: Plan, orgs_left: int, done: dict) -> int:
    """Pages the new-model window may take, decided before it starts (so that it runs beside the
    other steps and still ends where one worker would end it): the budget left, less the plan's
    estimate of the steps to come (a page per organisation left, the top listing's pages, a request
    per count and per derivative listing) and the room kept for the ancestors and bases."""
    top_pages = census.pages(plan.hub_top) if plan.hub_top and f"{HUB_TOP_KEY}-{plan.hub_top}" not in done else 0
    return (hub.counter.budget - hub.requests_sent - orgs_left - top_pages - plan.top_n
            - min(plan.derivative_bases, plan.top_n) - plan.built_upon - plan.ancestors)


def _saved_window(done: dict, window: dict) -> tuple[pd.DataFrame, dict, str | None]:
    """What an earlier run listed of ``window`` (nothing, unless resumed): its rows, its state and
    the URL of its next page (None: from the first page, or nothing left)."""
    saved = done.get(NEW_KEY) if done.get(NEW_KEY, (None, {}))[1].get("start") == window["start"] else None
    frame, info = saved if saved else (conform(pd.DataFrame(), MODEL_COLUMNS), {"pages": 0, "next_url": None,
                                                                                  "covered_from": None})
    state = {**window, "pages": info["pages"], "covered_from": info["covered_from"],
             "complete": bool(info.get("complete")), "listed_at": info.get("listed_at", _now())}
    return frame, state, info["next_url"]


def _new_window(hub: Hub, partial: Partial, window: dict, saved: tuple, allowed: int,
                keep: int) -> tuple[pd.DataFrame, dict]:
    """Every model created in the window after what was ``saved``, a page at a time: at most
    ``allowed`` pages, and none once only ``keep`` requests of the budget are left (kept for the
    steps after it). Saved after each page, so that a failed page or a budget that ends the window
    early leaves ``--resume`` the rest; returns the rows and ``new_window``."""
    frame, state, resumed_from = saved
    state = dict(state)
    if not state["complete"] and (resumed_from is not None or not state["pages"]):
        try:
            frame = _list_window(hub, partial, window, state, frame, resumed_from, allowed, keep)
        except Exception:
            if state["pages"]:
                print(f"openbrief fetch: {state['pages']} pages of the new-model window were listed before the "
                      "failure; run again with --resume to continue it", file=sys.stderr)
            raise
    if state["complete"]:
        state["covered_from"] = window["start"]
    meta = {k: state[k] for k in ("start", "end", "covered_from", "complete", "pages")}
    return frame.drop_duplicates("id", keep="first").reset_index(drop=True), {**meta, "models": len(frame)}


def _list_window(hub: Hub, partial: Partial, window: dict, state: dict, frame: pd.DataFrame,
                 next_url: str | None, allowed: int, keep: int) -> pd.DataFrame:
    """List pages of the window from ``next_url`` (None: its first page) while ``allowed`` and more
    than ``keep`` requests of the budget are left, updating ``state`` and saving the rows after each page."""
    start, end = (pd.Timestamp(window[k]).to_pydatetime() for k in ("start", "end"))
    frames = [frame]
    for page in hub.created_pages(start, end, next_url) if allowed > 0 else ():
        frames.append(conform(pd.DataFrame([{**row, "query": "new"} for row in page.rows]), MODEL_COLUMNS))
        state["pages"] += 1
        if page.oldest is not None:
            state["covered_from"] = max(page.oldest, start).strftime("%Y-%m-%dT%H:%M:%SZ")
        state["complete"], allowed = page.next_url is None, allowed - 1
        frame = pd.concat([f for f in frames if len(f)] or [frame], ignore_index=True)
        frames = [frame]
        partial.save(NEW_KEY, frame, state["listed_at"], days=window["days"], next_url=page.next_url,
                     **{k: state[k] for k in ("start", "end", "pages", "covered_from", "complete")})
        if state["complete"] or allowed <= 0 or hub.counter.budget - hub.requests_sent <= keep:
            break
    return frame


def _ancestors(hub: Hub, plan: Plan, models: pd.DataFrame, queries: list, progress: Progress,
               workers: Workers) -> tuple[pd.DataFrame, dict]:
    """Ask by id the bases the rows declare most that no row holds, in rounds (an ancestor's own
    missing base comes next; the ids of one round on the workers), each id once, so that a cycle of
    declared bases ends; bounded by ``plan.ancestors`` and the budget. A base the Hub no longer has
    (404) is recorded, never fatal."""
    asked, found, missing = set(), [], []
    while len(asked) < plan.ancestors:
        room = min(plan.ancestors - len(asked), hub.counter.budget - hub.requests_sent)
        wanted = [b for b in census.missing_bases(models, asked) if valid_model_id(b)][: max(0, room)]
        if not wanted:
            break
        expand = [*LIST_EXPAND, "childrenModelCount"]
        calls = [workers.submit(hub.model_record, model_id, expand) for model_id in wanted]
        asked.update(wanted)
        for model_id, row in zip(wanted, workers.gather(progress.stage("asking for missing ancestors", calls))):
            if row is None:
                missing.append(model_id)
            else:
                found.append({**row, "query": "ancestor", "listed_by": ["ancestor"]})
        if found:  # ids no row holds: new rows
            models = pd.concat([models, conform(pd.DataFrame(found), MODEL_COLUMNS)], ignore_index=True)
            found = []
    if asked:
        queries.append({"route": "model_info", "expand": [*LIST_EXPAND, "childrenModelCount"], "ids": len(asked),
                        "why": "declared bases no listed row holds"})
    left = len(census.missing_bases(models, asked))
    return models, {"asked": len(asked), "found": len(asked) - len(missing), "missing": sorted(missing),
                    "not_asked": left}


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
