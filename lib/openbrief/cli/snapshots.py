"""``openbrief snapshots``: list, verify and prune the store.
"""
from __future__ import annotations

import sys

from openbrief.errors import UsageError


def cmd_snapshots(args) -> int:
    """List the snapshots, oldest first; a damaged one (cheap check: meta and sizes) says why."""
    from openbrief.store.snapshot import Snapshot, default_store, scan

    store = default_store(args.store)
    entries = scan(store)
    if not entries:
        print(f"no snapshots in {store}", file=sys.stderr)
        return 0
    print(f"{'id':20}  {'fetched_at':20}  {'models':>7}  {'size':>9}  endpoint")
    for s in entries:
        if not isinstance(s, Snapshot):
            print(f"{s.path.name:20}  damaged: {s.reason}")
            continue
        size = sum(p.stat().st_size for p in s.path.iterdir() if p.is_file())
        print(f"{s.id:20}  {s.meta.get('fetched_at', ''):20}  {s.meta.get('rows', {}).get('models', 0):>7}  "
              f"{size / 1024:>7.0f}kB  {s.meta.get('endpoint', '')}")
    return 0


def cmd_verify(args) -> int:
    """Check every snapshot's files against its sha256, one line each; exit 2 when any is damaged."""
    from openbrief.store.snapshot import Snapshot, default_store, scan

    store = default_store(args.store)
    entries = scan(store, digests=True, rehash=True)
    for s in entries:
        print(f"{s.id:20}  ok" if isinstance(s, Snapshot) else f"{s.path.name:20}  damaged: {s.reason}")
    damaged = [s.path.name for s in entries if not isinstance(s, Snapshot)]
    if damaged:
        raise UsageError(f"{len(damaged)} of {len(entries)} snapshot(s) in {store} are damaged ({', '.join(damaged)}): "
                         "move them out of the store ('latest' skips them meanwhile) and fetch a new one")
    if not entries:
        print(f"no snapshots in {store}", file=sys.stderr)
    return 0


def cmd_prune(args) -> int:
    from openbrief import render
    from openbrief.store import retention
    from openbrief.store.snapshot import default_store

    store = default_store(args.store, writable=not args.dry_run)
    plan = retention.prune(store, render.default_briefs_dir(args.briefs), args.keep_weekly, args.keep_daily,
                         dry_run=args.dry_run)
    for warning in plan.warnings:
        print(f"openbrief: warning: {warning}", file=sys.stderr)
    verb = "would remove" if args.dry_run else "removed"
    gone = plan.remove if args.dry_run else plan.removed
    for sid in gone:
        print(f"{verb} {sid} ({plan.sizes.get(sid, 0) / 1024:.0f} kB): {plan.reasons[sid]}")
    for sid in plan.keep:
        print(f"kept {sid}: {plan.reasons[sid]}")
    print(f"{len(gone)} snapshot(s) {'would be removed' if args.dry_run else 'removed'}, {len(plan.keep)} kept")
    return 0
