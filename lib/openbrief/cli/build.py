"""``openbrief build`` and ``openbrief params``: check the parameters against the data, then publish.
"""
from __future__ import annotations

import json
from pathlib import Path

from openbrief.errors import UsageError
from openbrief.render import params, prewarm
from openbrief.render.publishing import NOTEBOOKS_DIR, notebook_path, publish
from openbrief.store.snapshot import ID_PATTERN, open_snapshot
from openbrief.cli.fetch import _fetch
from openbrief.cli.parser import typed


#: ``build`` options that only change what ``--live`` fetches.
LIVE_ONLY = ("orgs", "group", "registry", "top_n", "derivative_bases", "derivatives_per_base", "hub_top", "new_days",
             "budget", "timeout", "concurrency", "as_of", "resume")


def _refuse_conflicts(args) -> None:
    """``build`` options that contradict each other, or that nothing would read, are usage errors."""
    if args.live and args.snapshot != "latest":
        raise UsageError(f"--live briefs on the snapshot it fetches, not on --snapshot {args.snapshot}: "
                         "drop one of them")
    given = set(typed(args)) | {dest for dest in ("registry", "resume") if getattr(args, dest)}
    unread = [f"--{dest.replace('_', '-')}" for dest in LIVE_ONLY if dest in given]
    if unread and not args.live:
        one = len(unread) == 1
        raise UsageError(f"{', '.join(unread)} {'is a fetch option' if one else 'are fetch options'} and this build "
                         f"does not fetch: add --live or drop {'it' if one else 'them'}")


def cmd_build(args) -> int:
    prewarm.start()  # unless openbrief.cli started it: the kernel's interpreter starts while the input is checked
    try:
        return _cmd_build(args)
    finally:
        prewarm.discard()  # refused, failed or done: never left waiting


def _cmd_build(args) -> int:
    from openbrief import render
    from openbrief.store.snapshot import default_store

    _refuse_conflicts(args)
    given = params.read_params_file(args.params_file) if args.params_file else {}
    given.update(params.parse_pairs(args.p))
    for reserved in ("snapshot", "store"):
        if reserved in given:
            raise UsageError(f"pass {reserved} as --{reserved}, not as a parameter")
    params.validate(args.name, given)  # fail before fetching or starting a kernel
    render.notebook_path(args.name)
    briefs = render.default_briefs_dir(args.briefs, writable=True)  # before --live fetches anything
    snapshot = args.snapshot
    if args.live:
        snapshot = _fetch(args).id
    pdf = build(args.name, given, briefs_dir=briefs, store=default_store(args.store), snapshot=snapshot,
                lock_timeout=args.lock_timeout, quiet=args.quiet)
    print(pdf)
    return 0


def build(name: str, given: dict, *, briefs_dir: Path, store: Path, snapshot: str = "latest",
          lock_timeout: float = 600, notebooks_dir: Path = NOTEBOOKS_DIR, quiet: bool = True) -> Path:
    """Check notebook ``name``'s parameters against the snapshot's data, then publish its PDF.

    Everything that can be refused is refused here, before any kernel starts: the parameters,
    the snapshot (a damaged one is refused), the registry overrides, and the data-aware checks
    (a model the snapshot does not hold, an unknown group). ``latest`` is pinned to the snapshot
    it meant at build time.
    """
    from openbrief.brief import load

    notebook_path(name, notebooks_dir)
    values = params.validate(name, {**given, "snapshot": snapshot, "store": str(store)})
    chosen = open_snapshot(store, values["snapshot"])  # checked: a damaged snapshot is refused (exit 2)
    if not ID_PATTERN.fullmatch(chosen.id):  # output folders are named only from validated pieces
        raise UsageError(f"{str(chosen.path)!r} is not a snapshot folder: move it out of the store")
    data = load(chosen.id, str(store), values["registry"])  # also validates the registry overrides
    params.check_data(name, values, data)
    snap = data.snapshot
    values["snapshot"] = snap.id
    provenance = {
        "snapshot": {"id": snap.id, "fetched_at": snap.meta.get("fetched_at"), "endpoint": snap.meta.get("endpoint"),
                     "synthetic": bool(snap.meta.get("synthetic"))},
        # every snapshot whose rows the brief's figures read (pruning keeps them)
        "snapshots": [s.id for s in (data.previous, snap) if s is not None],
        "registry": getattr(data.registry, "version", None),
    }
    return publish(name, values, provenance, briefs_dir=briefs_dir, lock_timeout=lock_timeout,
                   notebooks_dir=notebooks_dir, quiet=quiet)


def cmd_params(args) -> int:
    rows = params.describe(args.name)
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in ("name", "type", "default")}
    print(f"{'name':{widths['name']}}  {'type':{widths['type']}}  {'default':{widths['default']}}  help")
    for r in rows:
        print(f"{r['name']:{widths['name']}}  {r['type']:{widths['type']}}  {r['default']:{widths['default']}}  {r['help']}")
    return 0
