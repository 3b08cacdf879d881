"""The ``openbrief`` command line: fetch, build, inspect.

Every failure a user can act on ends as one line on stderr
(``openbrief: error: ...``) and an exit code from ``openbrief.errors``.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

from openbrief import __version__
from openbrief.errors import OpenbriefError, UsageError


TOKEN_SHAPED = re.compile(r"\bhf_[A-Za-z0-9]{6,}")


def redact(text: str) -> str:
    """Hide anything shaped like a Hugging Face token (it must never reach a log)."""
    return TOKEN_SHAPED.sub("hf_***", text)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2, like every other usage error
        self.exit(2, f"openbrief: error: {redact(message)} (see '{self.prog} --help')\n")


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="snapshot store folder (default: $OPENBRIEF_STORE, else store/ in the repo)")
    p.add_argument("--endpoint", help="Hub endpoint (default: $HF_ENDPOINT, else https://huggingface.co)")


def _fetch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--orgs", help="comma-separated namespaces to track instead of the registry's")
    p.add_argument("--group", help="track only these registry groups: blocs, country codes, organisation "
                                   "types or namespaces, comma-separated (e.g. CN,US)")
    p.add_argument("--registry", action="append", default=[], metavar="FILE",
                   help="extra registry CSV that adds or corrects entries (repeatable)")
    p.add_argument("--top-n", type=int, default=100, help="models whose derivatives are counted (default 100)")
    p.add_argument("--derivative-bases", type=int, default=20,
                   help="top models whose derivatives are listed (default 20)")
    p.add_argument("--derivatives-per-base", type=int, default=50, help="derivatives listed per base (default 50)")
    p.add_argument("--budget", type=int, default=None,
                   help="most requests this run may send (default 400; 900 with a Hub token)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds before a request times out (default 30)")
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
    from openbrief import fetch
    from openbrief.hub import Hub, default_budget, resolve_endpoint
    from openbrief.snapshot import default_store

    for name in ("top_n", "derivative_bases", "derivatives_per_base"):
        if getattr(args, name) < 0:
            raise UsageError(f"--{name.replace('_', '-')} must be 0 or more")
    if args.budget is not None and args.budget < 1:
        raise UsageError("--budget must be at least 1")
    if args.timeout <= 0:
        raise UsageError("--timeout must be greater than 0")
    fetched_at = _parse_as_of(args.as_of) if args.as_of else None
    orgs = _tracked(args)
    hub = Hub(resolve_endpoint(args.endpoint), timeout=args.timeout, budget=args.budget or default_budget())
    plan = fetch.Plan(orgs, args.top_n, args.derivative_bases, args.derivatives_per_base)
    return fetch.run(hub, plan, default_store(args.store), fetched_at=fetched_at, quiet=args.quiet,
                     resume=args.resume)


def _tracked(args) -> list[str]:
    """The namespaces to fetch: ``--orgs``, else the registry's (optionally one ``--group``)."""
    from openbrief import registry

    reg = registry.load(args.registry)  # an invalid registry stops here, before any request
    if args.orgs:
        orgs = [o.strip() for o in args.orgs.split(",") if o.strip()]
        if not orgs:
            raise UsageError("--orgs names no namespace")
        return orgs
    try:
        return registry.tracked_namespaces(reg, args.group, include_aliases=True)
    except ValueError as err:
        raise UsageError(f"--group: {err}") from None


def _parse_as_of(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--as-of {text!r} is not an ISO time such as 2026-08-22T01:15:24Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    if when > datetime.now(timezone.utc):
        raise UsageError(f"--as-of {text} is in the future")
    return when


def cmd_build(args) -> int:
    from openbrief import params, render
    from openbrief.snapshot import default_store

    given = params.read_params_file(args.params_file) if args.params_file else {}
    given.update(params.parse_pairs(args.p))
    for reserved in ("snapshot", "store"):
        if reserved in given:
            raise UsageError(f"pass {reserved} as --{reserved}, not as a parameter")
    params.validate(args.name, given)  # fail before fetching or starting a kernel
    render.notebook_path(args.name)
    snapshot = args.snapshot
    if args.live:
        snapshot = _fetch(args).id
    pdf = render.build(args.name, given, briefs_dir=render.default_briefs_dir(args.briefs),
                       store=default_store(args.store), snapshot=snapshot, lock_timeout=args.lock_timeout,
                       quiet=args.quiet)
    print(pdf)
    return 0


def cmd_params(args) -> int:
    from openbrief import params

    rows = params.describe(args.name)
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in ("name", "type", "default")}
    print(f"{'name':{widths['name']}}  {'type':{widths['type']}}  {'default':{widths['default']}}  help")
    for r in rows:
        print(f"{r['name']:{widths['name']}}  {r['type']:{widths['type']}}  {r['default']:{widths['default']}}  {r['help']}")
    return 0


def cmd_snapshots(args) -> int:
    from openbrief.snapshot import default_store, list_snapshots

    store = default_store(args.store)
    snaps = list_snapshots(store)
    if not snaps:
        print(f"no snapshots in {store}", file=sys.stderr)
        return 0
    print(f"{'id':20}  {'fetched_at':20}  {'models':>7}  {'size':>9}  endpoint")
    for s in snaps:
        size = sum(p.stat().st_size for p in s.path.iterdir() if p.is_file())
        print(f"{s.id:20}  {s.meta.get('fetched_at', ''):20}  {s.meta.get('rows', {}).get('models', 0):>7}  "
              f"{size / 1024:>7.0f}kB  {s.meta.get('endpoint', '')}")
    return 0


def cmd_prune(args) -> int:
    from openbrief import history, render
    from openbrief.snapshot import default_store

    if args.keep_weekly < 0 or args.keep_daily < 0:
        raise UsageError("--keep-weekly and --keep-daily must be 0 or more")
    plan = history.prune(default_store(args.store), render.default_briefs_dir(args.briefs), args.keep_weekly,
                         args.keep_daily, dry_run=args.dry_run)
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


def cmd_demo(args) -> int:
    from openbrief import demo

    print(demo.run(store=args.store, briefs=args.briefs, quiet=args.quiet))
    return 0


def cmd_replay(args) -> int:
    from openbrief import replay

    return replay.run(args) or 0


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="openbrief", description="Weekly policy briefs on open-weight AI adoption.")
    parser.add_argument("--version", action="version", version=f"openbrief {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("fetch", help="fetch a new snapshot from the Hub")
    _store_args(p)
    _fetch_args(p)
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("build", help="execute a notebook and render its PDF brief")
    p.add_argument("name", help="notebook name: weekly, spotlight or compare")
    p.add_argument("-p", nargs=2, action="append", metavar=("KEY", "VALUE"), help="set a parameter")
    p.add_argument("--params-file", help="YAML file of parameters (-p wins over it)")
    p.add_argument("--snapshot", default="latest", help="snapshot id, or 'latest' (default)")
    p.add_argument("--live", action="store_true", help="fetch a new snapshot first and brief on it")
    p.add_argument("--briefs", help="output folder (default: $OPENBRIEF_BRIEFS, else briefs/ in the repo)")
    p.add_argument("--lock-timeout", type=float, default=600,
                   help="seconds to wait for another build on the same briefs folder (default 600)")
    _store_args(p)
    _fetch_args(p)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("params", help="list a notebook's parameters")
    p.add_argument("name")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_params)

    p = sub.add_parser("snapshots", help="list the snapshots in the store; 'prune' removes old ones")
    _store_args(p)
    p.set_defaults(func=cmd_snapshots)
    actions = p.add_subparsers(dest="action", parser_class=_Parser)
    q = actions.add_parser("prune", help="remove old snapshots by a retention rule")
    _store_args(q)
    q.add_argument("--keep-weekly", type=int, required=True, metavar="N",
                   help="keep the newest snapshot of each of the last N ISO weeks")
    q.add_argument("--keep-daily", type=int, required=True, metavar="M",
                   help="keep the newest snapshot of each of the last M UTC days")
    q.add_argument("--briefs", help="briefs folder whose manifests protect snapshots (default: briefs/)")
    q.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    q.set_defaults(func=cmd_prune)

    p = sub.add_parser("demo", help="build a weekly brief offline, on synthetic data")
    p.add_argument("--store", help="demo snapshot store (default: store-demo/ in the repo)")
    p.add_argument("--briefs", help="output folder (default: briefs/ in the repo)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("replay-hub", help="serve recorded model records as a local Hub on 127.0.0.1")
    from openbrief import replay

    replay.add_arguments(p)
    p.set_defaults(func=cmd_replay)

    from openbrief import metrics_cli, registry_cli

    registry_cli.add_parser(sub)
    metrics_cli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except OpenbriefError as err:
        print(f"openbrief: error: {redact(str(err))}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("openbrief: interrupted; nothing half-written was left behind", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
