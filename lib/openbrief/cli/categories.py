"""'openbrief categories': print the model categories and their rules, or a universe's rules.

    openbrief categories [--format table|csv|json]
    openbrief categories --universe NAME [--format table|csv|json]

Without --universe: every category with its description, then the rules of
data/categories.csv (field, value, category, reason) in the order they are tried.
With --universe: the universe's description and its exclusion rules (kind,
pattern, reason; 'all' has none).

Exit codes: 0 ok; 2 unknown universe.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys

import pandas as pd

from openbrief.metrics.categories import CATEGORIES, UNIVERSES, check_universe, load_categories, load_universe

FORMATS = ("table", "csv", "json")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``categories`` subcommand; ``args.func(args)`` returns the exit code."""
    p = subparsers.add_parser(
        "categories", help="print the model categories and their rules, or a universe's rules",
        description=__doc__.split("\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--universe", metavar="NAME", help=f"print this universe's rules ({', '.join(UNIVERSES)})")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Print the categories, or the rules of ``--universe`` (an unknown name: UsageError, exit 2)."""
    if args.universe is None:
        rules = load_categories()
        meta = {"version": rules.version, "categories": dict(CATEGORIES)}
        columns = ["field", "value", "category", "reason"]
    else:
        rules = load_universe(check_universe(args.universe))
        meta = {"universe": args.universe, "description": UNIVERSES[args.universe], "version": rules.version}
        columns = ["kind", "pattern", "reason"]
    _emit(rules.table[columns], args.format, meta)
    return 0


def _emit(rules: pd.DataFrame, fmt: str, meta: dict) -> None:
    """Rules to stdout: an aligned table after ``#`` meta lines, plain CSV, or JSON with the meta."""
    if fmt == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(rules.columns)
        w.writerows(rules.itertuples(index=False))
    elif fmt == "json":
        print(json.dumps({**meta, "rules": rules.to_dict(orient="records")}, indent=2, ensure_ascii=False))
    else:
        for key, value in meta.items():
            if isinstance(value, dict):
                width = max(map(len, value))
                print(f"# {key}:", *(f"#   {k:{width}}  {v}" for k, v in value.items()), sep="\n")
            else:
                print(f"# {key}: {value}")
        print(rules.to_string(index=False) if len(rules) else "(no rules)")
