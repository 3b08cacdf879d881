"""The ``openbrief`` command line: fetch, build, inspect.

Every failure a user can act on ends as one line on stderr
(``openbrief: error: ...``) and an exit code from ``openbrief.errors``.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import re
import signal
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

from openbrief import __version__
from openbrief.errors import Interrupted, OpenbriefError, UsageError
from openbrief.params import Range


TOKEN_SHAPED = re.compile(r"\bhf_[A-Za-z0-9]{6,}")


def redact(text: str) -> str:
    """Hide anything shaped like a Hugging Face token (it must never reach a log)."""
    return TOKEN_SHAPED.sub("hf_***", text)


#: Where ``_Once`` records the scalar options typed on the command line.
TYPED = "_typed_options"


def typed(args) -> dict:
    """The scalar options typed on the command line (``dest: value``), not those left at their default."""
    return getattr(args, TYPED, {})


def bounded(kind: type, low, high, *, unit: str = "", open_low: bool = False):
    """An argparse ``type``: a finite ``kind`` (int or float) within a ``params.Range``, else exit 2.

    ``_Parser`` adds the range to the option's help.
    """
    allowed = Range(low, high, unit, open_low)

    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole number' if kind is int else 'number'}; "
                                             f"give one {allowed}") from None
        problem = allowed.problem(value)
        if problem:
            raise argparse.ArgumentTypeError(f"{text} {problem}")
        return value

    convert.range = allowed
    return convert


class _Once(argparse._StoreAction):
    """A scalar option: given again with another value it is refused, never silently overwritten."""

    def __call__(self, parser, namespace, values, option_string=None):
        seen = vars(namespace).setdefault(TYPED, {})
        if seen.get(self.dest, values) != values:
            parser.error(f"{self.option_strings[-1]} given twice ({seen[self.dest]!r} and {values!r}): give it once")
        seen[self.dest] = values
        setattr(namespace, self.dest, values)


class _Subcommands(argparse._SubParsersAction):
    """Keeps the options typed before a subcommand (``snapshots --store X prune``).

    argparse would reset them to the subcommand's defaults; typed again there with another
    value, they are refused like any scalar option given twice.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        before = dict(typed(namespace))
        super().__call__(parser, namespace, values, option_string)
        after = vars(namespace).setdefault(TYPED, {})
        for dest, value in before.items():
            if after.get(dest, value) != value:
                parser.error(f"--{dest.replace('_', '-')} given twice ({value!r} and {after[dest]!r}): give it once")
            after[dest] = value
            setattr(namespace, dest, value)


class _Parser(argparse.ArgumentParser):
    """openbrief's parser: errors are one line (exit 2), scalar options may be given once (``_Once``),
    subcommands keep the options typed before them, and a ``bounded`` option's help states its range."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _Subcommands)

    def add_argument(self, *args, **kwargs):
        if args and args[0].startswith("-") and kwargs.get("action", "store") == "store":
            kwargs["action"] = _Once
        allowed = getattr(kwargs.get("type"), "range", None)
        if allowed is not None and kwargs.get("help"):
            default = kwargs.get("default")
            kwargs["help"] += f" ({allowed}" + (f"; default {default})" if default is not None else ")")
        return super().add_argument(*args, **kwargs)

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
    p.add_argument("--top-n", type=bounded(int, 0, 1000), default=100, help="models whose derivatives are counted")
    p.add_argument("--derivative-bases", type=bounded(int, 0, 1000), default=20,
                   help="top models whose derivatives are listed")
    p.add_argument("--derivatives-per-base", type=bounded(int, 0, 1000), default=50, help="derivatives listed per base")
    p.add_argument("--budget", type=bounded(int, 1, 100_000), default=None,
                   help="most requests this run may send: 400 by default, 900 with a Hub token")
    p.add_argument("--timeout", type=bounded(float, 0, 600, unit="seconds", open_low=True), default=30.0,
                   help="how long a request may take")
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

    fetched_at = _parse_as_of(args.as_of) if args.as_of else None
    orgs = _tracked(args)
    hub = Hub(resolve_endpoint(args.endpoint), timeout=args.timeout, budget=args.budget or default_budget())
    plan = fetch.Plan(orgs, args.top_n, args.derivative_bases, args.derivatives_per_base)
    return fetch.run(hub, plan, default_store(args.store, writable=True), fetched_at=fetched_at, quiet=args.quiet,
                     resume=args.resume)


def _tracked(args) -> list[str]:
    """The namespaces to fetch: ``--orgs``, else the registry's (optionally one ``--group``)."""
    from openbrief import registry
    from openbrief.params import split_list

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


#: ``build`` options that only change what ``--live`` fetches.
LIVE_ONLY = ("orgs", "group", "registry", "top_n", "derivative_bases", "derivatives_per_base", "budget", "timeout",
             "as_of", "resume")


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
    from openbrief import params, render
    from openbrief.snapshot import default_store

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
    pdf = render.build(args.name, given, briefs_dir=briefs,
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
    """List the snapshots, oldest first; a damaged one (cheap check: meta and sizes) says why."""
    from openbrief.snapshot import Snapshot, default_store, scan

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
    from openbrief.snapshot import Snapshot, default_store, scan

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
    from openbrief import history, render
    from openbrief.snapshot import default_store

    store = default_store(args.store, writable=not args.dry_run)
    plan = history.prune(store, render.default_briefs_dir(args.briefs), args.keep_weekly, args.keep_daily,
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
    p.add_argument("--lock-timeout", type=bounded(float, 0, 86400, unit="seconds"), default=600,
                   help="how long to wait for another build on the same briefs folder")
    _store_args(p)
    _fetch_args(p)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("params", help="list a notebook's parameters")
    p.add_argument("name")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_params)

    p = sub.add_parser("snapshots", help="list the snapshots in the store; 'prune' removes old ones, "
                                         "'verify' checks them")
    _store_args(p)
    p.set_defaults(func=cmd_snapshots)
    actions = p.add_subparsers(dest="action", parser_class=_Parser)
    q = actions.add_parser("prune", help="remove old snapshots by a retention rule")
    _store_args(q)
    q.add_argument("--keep-weekly", type=bounded(int, 0, 10_000), required=True, metavar="N",
                   help="keep the newest snapshot of each of the last N ISO weeks")
    q.add_argument("--keep-daily", type=bounded(int, 0, 10_000), required=True, metavar="M",
                   help="keep the newest snapshot of each of the last M UTC days")
    q.add_argument("--briefs", help="briefs folder whose manifests protect snapshots (default: briefs/)")
    q.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    q.set_defaults(func=cmd_prune)
    q = actions.add_parser("verify", help="check every snapshot's files against snapshot.json (full sha256)")
    _store_args(q)
    q.set_defaults(func=cmd_verify)

    p = sub.add_parser("demo", help="build a weekly brief offline, on synthetic data")
    p.add_argument("--store", help="demo snapshot store (default: store-demo/ in the repo)")
    p.add_argument("--briefs", help="output folder (default: briefs/ in the repo)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("replay-hub", help="serve recorded model records as a local Hub on 127.0.0.1")
    from openbrief import replay

    replay.add_arguments(p)
    p.set_defaults(func=cmd_replay)

    from openbrief import categories_cli, metrics_cli, registry_cli

    registry_cli.add_parser(sub)
    categories_cli.add_parser(sub)
    metrics_cli.add_parser(sub)
    return parser


INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


def _interrupt(signum, frame):
    """Unwind on SIGINT or SIGTERM (``Interrupted``); a second one may not cut the clean-up short."""
    for other in INTERRUPTS:
        signal.signal(other, signal.SIG_IGN)
    raise Interrupted(signum)


@contextlib.contextmanager
def _interruptible():
    """SIGINT and SIGTERM raise ``Interrupted`` inside this block (SIGTERM's default would kill
    the process without running a single ``finally``); the previous handlers come back after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _interrupt) for signum in INTERRUPTS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        with _interruptible():
            return args.func(args)
    except OpenbriefError as err:
        print(f"openbrief: error: {redact(str(err))}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt as err:  # Interrupted, or Ctrl-C outside the main thread's handler
        signum = getattr(err, "signum", signal.SIGINT)
        print(f"openbrief: error: stopped by {signal.Signals(signum).name}; nothing half-written was left behind",
              file=sys.stderr)
        return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
