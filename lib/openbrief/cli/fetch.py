"""``openbrief fetch``, and the fetch that ``build --live`` runs first.
"""
from __future__ import annotations

import argparse
from datetime import datetime, timezone

from openbrief.errors import UsageError
from openbrief.cli.parser import bounded
from openbrief.hub import census
from openbrief.hub.pool import DEFAULT_CONCURRENCY


def _fetch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--orgs", help="comma-separated namespaces to track instead of the registry's")
    p.add_argument("--group", help="track only these registry groups: blocs, country codes, organisation "
                                   "types or namespaces, comma-separated (e.g. CN,US)")
    p.add_argument("--registry", action="append", default=[], metavar="FILE",
                   help="extra registry CSV that adds or corrects entries (repeatable)")
    p.add_argument("--top-n", type=bounded(int, 0, 1000), default=100, help="models whose derivatives are counted")
    p.add_argument("--derivative-bases", type=bounded(int, 0, 1000), default=20,
                   help="top models whose derivatives are listed")
    p.add_argument("--derivatives-per-base", type=bounded(int, 0, 1000), default=50, help="derivatives listed per base")
    p.add_argument("--hub-top", type=bounded(int, 0, 1_000_000), default=census.DEFAULT_HUB_TOP,
                   help="the whole Hub's most-downloaded models to list (0: none)")
    p.add_argument("--new-days", type=bounded(float, 0, 366, unit="days"), default=census.DEFAULT_NEW_DAYS,
                   help="list every model created in these days before the fetch (0: none)")
    p.add_argument("--budget", type=bounded(int, 1, 100_000), default=None,
                   help="most requests this run may send: 400 by default, 900 with a Hub token")
    p.add_argument("--timeout", type=bounded(float, 0, 600, unit="seconds", open_low=True), default=30.0,
                   help="how long a request may take")
    p.add_argument("--concurrency", type=bounded(int, 1, 32), default=DEFAULT_CONCURRENCY,
                   help=f"requests in flight at once (default {DEFAULT_CONCURRENCY}; 1: one after the other); "
                        "a 429 pauses them all, and the budget holds for them all")
    p.add_argument("--as-of", help="UTC time the data was fetched from the Hub, for replays of recordings "
                                   "(default: now)")
    p.add_argument("--quiet", action="store_true", help="no progress bars: one line per stage (for cron)")
    p.add_argument("--resume", action="store_true",
                   help="reuse the organisations a failed run with the same endpoint and list already fetched")


def cmd_fetch(args) -> int:
    snap = _fetch(args)
    print(f"snapshot {snap.id}: {snap.meta['rows']['models']} models, "
          f"{snap.meta['rows'].get('derivatives', 0)} derivatives, {snap.meta['requests']} requests")
    print(snap.path)
    return 0


def _fetch(args):
    from openbrief.hub import fetch
    from openbrief.hub.client import Hub, default_budget, resolve_endpoint
    from openbrief.store.snapshot import default_store

    fetched_at = _parse_as_of(args.as_of) if args.as_of else None
    orgs = _tracked(args)
    hub = Hub(resolve_endpoint(args.endpoint), timeout=args.timeout, budget=args.budget or default_budget())
    plan = fetch.Plan(orgs, args.top_n, args.derivative_bases, args.derivatives_per_base, hub_top=args.hub_top,
                      new_days=args.new_days)
    return fetch.run(hub, plan, default_store(args.store, writable=True), fetched_at=fetched_at, quiet=args.quiet,
                     resume=args.resume, concurrency=args.concurrency)


def _tracked(args) -> list[str]:
    """The namespaces to fetch: ``--orgs``, else the registry's (optionally one ``--group``)."""
    from openbrief import registry
    from openbrief.render.params import split_list

    if args.orgs is not None:
        for other, given in (("--group", args.group is not None), ("--registry", bool(args.registry))):
            if given:
                raise UsageError(f"--orgs names the namespaces itself and {other} would be ignored: drop one of them")
        try:
            return split_list(args.orgs)
        except ValueError as err:
            raise UsageError(f"--orgs: {err}") from None
    reg = registry.load(args.registry)  # an invalid registry stops here, before any request
    try:
        group = None if args.group is None else split_list(args.group)
        return registry.tracked_namespaces(reg, group, include_aliases=True)
    except ValueError as err:
        raise UsageError(f"--group: {err}") from None


def _parse_as_of(text: str) -> datetime:
    """``--as-of`` as a UTC time that a snapshot id can carry: from 1970 to now.

    1970 is Unix time 0: no recording of the Hub is older, and every earlier year either
    has fewer than the id's four digits or is out of reach of the tools that read the store.
    """
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        when = (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise UsageError(f"--as-of {text!r} is not an ISO time such as 2026-08-22T01:15:24Z") from None
    if when.year < 1970:
        raise UsageError(f"--as-of {text} is before 1970: give a UTC time from 1970-01-01T00:00:00Z to now")
    if when > datetime.now(timezone.utc):
        raise UsageError(f"--as-of {text} is in the future")
    return when
