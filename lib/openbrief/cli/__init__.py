"""The ``openbrief`` command line: fetch, build, inspect.

Every failure a user can act on ends as one line on stderr (``openbrief: error: ...``) and an
exit code from ``openbrief.errors``. One module per command group, each thin over the stages.
"""
from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from openbrief.render import prewarm

# ``openbrief build ...``: the kernel's interpreter starts now, before this process's own imports
# (about a second), which then run beside it on the other core; cmd_build ends it whatever happens.
if prewarm.wanted(sys.argv):
    prewarm.start()

from openbrief import __version__  # noqa: E402 - after the early start above
from openbrief.errors import Interrupted, OpenbriefError  # noqa: E402
from openbrief.cli.build import cmd_build, cmd_params  # noqa: E402
from openbrief.cli.fetch import _fetch_args, cmd_fetch  # noqa: E402
from openbrief.cli.parser import _Parser, _store_args, bounded, redact  # noqa: E402
from openbrief.cli.snapshots import cmd_prune, cmd_snapshots, cmd_verify  # noqa: E402


def cmd_demo(args) -> int:
    from openbrief.cli import demo

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

    from openbrief.cli import categories as categories_cli
    from openbrief.cli import metrics as metrics_cli
    from openbrief.cli import registry as registry_cli

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
