"""'openbrief registry': print, check and extend the attribution registry.

    openbrief registry [--registry FILE]... [--format table|csv|json]
    openbrief registry check [FILE] [--registry FILE]...
    openbrief registry unattributed --snapshot ID [--store DIR] [--limit N]
                                    [--registry FILE]... [--format table|csv|json]

'check' validates FILE alone (the shipped registry by default); with
'--registry' it validates the shipped registry plus those overrides, i.e.
exactly what a build would use. Problems go to stderr, one per line, as
'FILE:LINE: NAMESPACE: message'.

Exit codes: 0 ok; 2 invalid registry, bad usage or unknown snapshot id; other
'openbrief.errors' codes pass through (3: the store holds no snapshot).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys

import pandas as pd

from openbrief.cli.parser import bounded, typed
from openbrief.errors import OpenbriefError, UsageError
from openbrief.registry import (COLUMNS, OPTIONAL_COLUMNS, Registry, RegistryError, check, load,
                                unattributed_namespaces)

FORMATS = ("table", "csv", "json")
EXIT_OK, EXIT_INVALID = 0, 2


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``registry`` subcommand; ``args.func(args)`` returns the exit code."""
    p = subparsers.add_parser(
        "registry", help="print, check or extend the attribution registry",
        description=__doc__.split("\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(p, dest_suffix="")
    actions = p.add_subparsers(dest="registry_action", metavar="{check,unattributed}")
    c = actions.add_parser("check", help="validate a registry file and report every problem with its line")
    c.add_argument("file", nargs="?", help="registry file to validate alone (default: the shipped one)")
    _add_common(c, dest_suffix="_after", with_format=False)
    u = actions.add_parser("unattributed", help="namespaces of a snapshot that the registry does not know")
    u.add_argument("--snapshot", required=True, metavar="ID", help="snapshot id, or 'latest'")
    u.add_argument("--store", metavar="DIR", default=None,
                   help="snapshot store (default: $OPENBRIEF_STORE, else <repo>/store)")
    u.add_argument("--endpoint", help=argparse.SUPPRESS)  # taken by every snapshot command; unused here
    u.add_argument("--limit", type=bounded(int, 0, 100_000), default=50, metavar="N", help="show the top N, 0 for all")
    _add_common(u, dest_suffix="_after")
    p.set_defaults(func=run)
    return p


def _add_common(p: argparse.ArgumentParser, dest_suffix: str, with_format: bool = True) -> None:
    """``--registry`` (repeatable) and ``--format`` on the command and on each action.

    The action's copies use other ``dest`` names, so that options given before
    the action are not overwritten by the action's defaults.
    """
    suppress = argparse.SUPPRESS if dest_suffix else None
    p.add_argument("--registry", action="append", metavar="FILE", dest="registry_overrides" + dest_suffix,
                   default=suppress,
                   help="extra registry file that adds or corrects entries (repeatable; applied in order)")
    if with_format:
        p.add_argument("--format", choices=FORMATS, dest="registry_format" + dest_suffix,
                       default=suppress if dest_suffix else "table", help="output format (default: table)")


def run(args: argparse.Namespace) -> int:
    """Dispatch on the action; print problems and return 2 on an invalid registry."""
    overrides = [*(getattr(args, "registry_overrides", None) or []),
                 *(getattr(args, "registry_overrides_after", None) or [])]
    fmt = getattr(args, "registry_format_after", None) or getattr(args, "registry_format", "table")
    if "registry_format" in typed(args) and fmt != args.registry_format:
        raise UsageError(f"--format given twice ({args.registry_format!r} and {fmt!r}): give it once")
    action = getattr(args, "registry_action", None)
    try:
        if action == "check":
            return _check(getattr(args, "file", None), overrides)
        registry = load(overrides)
        if action == "unattributed":
            return _unattributed(registry, args.snapshot, args.store, args.limit, fmt)
        _emit(_registry_frame(registry), fmt, {"registry_version": registry.version})
        return EXIT_OK
    except RegistryError as e:
        _report(e.problems)
        return EXIT_INVALID
    except OpenbriefError as e:
        print(f"openbrief registry: {e}", file=sys.stderr)
        return getattr(e, "exit_code", EXIT_INVALID)


def _report(problems) -> None:
    for p in problems:
        print(p, file=sys.stderr)
    n = len(problems)
    print(f"registry invalid: {n} problem{'s' * (n != 1)}", file=sys.stderr)


def _check(file: str | None, overrides: list[str]) -> int:
    """Validate ``file`` alone, or the shipped registry with ``overrides``."""
    if file is not None and overrides:
        print("openbrief registry check: give either FILE or --registry, not both", file=sys.stderr)
        return EXIT_INVALID
    registry, problems = check(file, overrides)
    if problems:
        _report(problems)
        return EXIT_INVALID
    assert registry is not None
    print(f"registry ok: {len(registry)} namespaces, version {registry.version}")
    return EXIT_OK


def _registry_frame(registry: Registry) -> pd.DataFrame:
    df = registry.to_frame()
    df["fully_open"] = df["fully_open"].map({True: "yes", False: "no"})
    return df[[*COLUMNS, *OPTIONAL_COLUMNS]]


def _emit(df: pd.DataFrame, fmt: str, meta: dict[str, str]) -> None:
    """Write ``df`` to stdout: aligned table (meta as ``#`` lines), plain CSV, or JSON."""
    if fmt == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(df.columns)
        w.writerows(df.astype(object).where(df.notna(), "").itertuples(index=False))
    elif fmt == "json":
        rows = json.loads(df.to_json(orient="records"))
        print(json.dumps({**meta, "rows": rows}, indent=2, ensure_ascii=False))
    else:
        for k, v in meta.items():
            print(f"# {k}: {v}")
        shown = df.drop(columns=[c for c in ("source", "notes") if c in df.columns])
        print(shown.to_string(index=False) if len(shown) else "(none)")


def _open_snapshot(store: str | None, snapshot_id: str):
    """Open a snapshot through ``openbrief.store.snapshot`` (imported late: optional module), checked."""
    from openbrief.store.snapshot import default_store, open_snapshot
    return open_snapshot(default_store(store), snapshot_id)


def _unattributed(registry: Registry, snapshot_id: str, store: str | None, limit: int, fmt: str) -> int:
    """Print the snapshot's unknown namespaces, biggest 30-day downloads first, with their share."""
    snap = _open_snapshot(store, snapshot_id)
    # tracked models and the derivatives listed for them: derivatives are where unknown publishers show up
    listed = snap.derivatives.drop(columns=["listed_base"], errors="ignore")
    models = pd.concat([snap.models, listed], ignore_index=True).drop_duplicates("id") if len(listed) else snap.models
    table = unattributed_namespaces(models, registry)
    total = int(models["downloads"].sum()) if "downloads" in models.columns else 0
    missing = int(table["downloads"].sum())
    share = f"{missing / total:.1%}" if total else "n/a"
    meta = {"snapshot": str(snap.id), "registry_version": registry.version,
            "unattributed": f"{len(table)} namespaces, {missing:,} of {total:,} "
                            f"30-day rolling downloads ({share})"}
    _emit(table.head(limit) if limit > 0 else table, fmt, meta)
    return EXIT_OK
