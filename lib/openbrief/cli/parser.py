"""openbrief's argument parser: one-line errors, scalar options given once, bounded numbers.
"""
from __future__ import annotations

import argparse
import re

from openbrief.render.params import Range


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
