"""Each notebook's parameters, declared with types and allowed values.

Parameters are checked here, before any kernel starts: an unknown name, a
wrong type or an impossible value is a ``UsageError`` whose message says how to
fix it. The notebooks' ``parameters`` cells hold the same defaults (a test keeps
the two in step).
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from openbrief import i18n
from openbrief.errors import UsageError

TITLE_MAX = 120
TOP_MAX = 1000
WINDOW_MAX_DAYS = 3660


@dataclass(frozen=True)
class Range:
    """The values a number may take: finite, from ``low`` to ``high`` (``low`` excluded when ``open_low``).

    Declared once with each numeric parameter here and each numeric CLI option (``cli.bounded``).
    """

    low: int | float
    high: int | float
    unit: str = ""
    open_low: bool = False

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.open_low:
            return f"more than {self.low} and at most {self.high}{unit}"
        return f"between {self.low} and {self.high}{unit}"

    def problem(self, value: int | float) -> str | None:
        """What is wrong with ``value`` ('must be between ...'), or None."""
        above = value > self.low if self.open_low else value >= self.low
        return None if math.isfinite(value) and above and value <= self.high else f"must be {self}"


@dataclass(frozen=True)
class Param:
    name: str
    type: type  # str, int, float, bool or list (of str)
    default: Any
    help: str
    choices: tuple | None = None
    check: Callable[[Any], str | None] | None = None  # returns a problem, or None
    bounds: Range | None = None  # every int and float parameter has one
    path: bool = False  # a file or folder: made absolute against the caller's current folder

    @property
    def type_name(self) -> str:
        return "list of str" if self.type is list else self.type.__name__


def _snapshot_ref(value: str) -> str | None:
    if value == "latest" or re.fullmatch(r"\d{8}T\d{6}Z(-\d{1,3})?", value):
        return None
    return "must be 'latest' or a snapshot id such as 20260822T011524Z ('openbrief snapshots' lists them)"


def _title(value: str) -> str | None:
    if not value.strip():
        return "must not be empty"
    if len(value) > TITLE_MAX:
        return f"must be at most {TITLE_MAX} characters"
    if any(ord(c) < 32 for c in value):
        return "must not contain control characters"
    return None


def _model_id(value: str) -> str | None:
    if re.fullmatch(r"[A-Za-z0-9][\w.\-]*/[\w.\-]+", value):
        return None
    return "must be a Hub model id such as deepseek-ai/DeepSeek-R1"


def _existing_file(value: str) -> str | None:
    if not value or Path(value).is_file():
        return None
    return "does not exist or is not a file (a relative path is relative to the current folder)"


def _groups(value: list) -> str | None:
    if len(value) < 2:
        return "needs at least two groups, e.g. -p groups CN,US"
    return None


#: The model categories and universes a brief may be restricted to: ``openbrief.metrics.SELECTIONS``
#: (rendering knows no metric, so they are listed here; a test keeps the two equal).
CATEGORY_CHOICES = ("llm", "embedding", "image-generation", "speech-audio", "vision", "other", "unknown",
                    "llm-curated", "all")
_CATEGORY_HELP = ("which models count: a category ('openbrief categories'), the llm-curated universe, "
                  "or all")


def _category(default: str, extra: tuple[str, ...] = (), help_: str = _CATEGORY_HELP) -> Param:
    return Param("category", str, default, help_, choices=extra + CATEGORY_CHOICES)


COMMON = (
    Param("snapshot", str, "latest", "snapshot id to brief on, or 'latest'", check=_snapshot_ref),
    Param("store", str, "", "snapshot store folder ('' = OPENBRIEF_STORE or store/ in the repo)", path=True),
    Param("registry", str, "", "extra registry CSV that adds or corrects attributions ('' = none)",
          check=_existing_file, path=True),
)
#: The brief's language: English or any language with a catalogue (``openbrief.i18n.languages``).
LANG = Param("lang", str, i18n.SOURCE_LANG, "language of the brief's text", choices=i18n.languages())

NOTEBOOKS: dict[str, tuple[Param, ...]] = {
    "weekly": COMMON + (
        Param("title", str, i18n.N_("Open-weight AI adoption: weekly brief"), "title on the cover and every page", check=_title),
        Param("by", str, "country", "grouping for download shares", choices=("country", "bloc", "org")),
        Param("top", int, 15, "how many models the top-models table lists", bounds=Range(1, TOP_MAX)),
        Param("window", int, 7, "days before the snapshot that count as 'this period' for new releases",
              bounds=Range(1, WINDOW_MAX_DAYS, "days")),
        _category("llm", help_=_CATEGORY_HELP + " (the By category and Definitions matter sections show the others)"),
        LANG,
    ),
    "spotlight": COMMON + (
        Param("model", str, "deepseek-ai/DeepSeek-R1", "the model to put in the spotlight", check=_model_id),
        Param("title", str, i18n.N_("Model spotlight"), "title on the cover and every page", check=_title),
        _category("own", ("own",), "which models its peers are drawn from: 'own' (the model's own category), "
                                   "a category, the llm-curated universe, or all"),
        LANG,
    ),
    "compare": COMMON + (
        Param("groups", list, ["CN", "US", "EU"],
              "blocs, country codes or organisations to compare (comma-separated, or a list such as [CN, US])",
              check=_groups),
        Param("by", str, "bloc", "what the groups are", choices=("country", "bloc", "org")),
        Param("window", int, 30, "days before the snapshot that count as the period",
              bounds=Range(1, WINDOW_MAX_DAYS, "days")),
        Param("title", str, i18n.N_("Open-weight AI adoption: comparison"), "title on the cover and every page", check=_title),
        _category("llm"),
        LANG,
    ),
    "explore": COMMON + (_category("all"),),
}

#: Notebooks that are never rendered as briefs.
SANDBOXES = {"explore"}


def specs(notebook: str) -> tuple[Param, ...]:
    try:
        return NOTEBOOKS[notebook]
    except KeyError:
        raise UsageError(f"unknown notebook {notebook!r}: choose one of {', '.join(sorted(NOTEBOOKS))}") from None


def defaults(notebook: str) -> dict[str, Any]:
    return {p.name: p.default for p in specs(notebook)}


def coerce(param: Param, raw: Any) -> Any:
    """``raw`` (a CLI string or a YAML value) as ``param.type``, or a ``UsageError``."""
    fix = f"see 'openbrief params {{nb}}' ({param.name}: {param.type_name}, {param.help})"
    if param.type is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise ValueError(f"{raw!r} is not true or false; {fix}")
    if param.type is int:
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError(f"{raw!r} is not a whole number; {fix}")
        try:
            return int(str(raw).strip()) if not isinstance(raw, (int, float)) else int(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a whole number; {fix}") from None
    if param.type is float:
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{raw!r} is not a number; {fix}") from None
    if param.type is list:
        try:
            return split_list(raw)
        except ValueError as err:
            raise ValueError(f"{err}; {fix}") from None
    if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not text; {fix}")
    if param.path and raw != "":
        return str(Path(str(raw)).expanduser().resolve())  # a kernel runs in another folder
    return str(raw)


def split_list(raw: Any) -> list[str]:
    """A list given as a YAML list, as ``a,b``, or in list syntax (``[a, b]``, ``["a","b"]``).

    Every item is text (in list syntax ``NO`` stays Norway; a YAML file must quote it). An empty
    item, or one given twice (compared case-insensitively, as registry groups are), is a ValueError.
    """
    if isinstance(raw, str) and raw.lstrip().startswith("["):
        try:
            raw = yaml.load(raw, Loader=yaml.BaseLoader)  # BaseLoader: every scalar stays text
        except yaml.YAMLError:
            raise ValueError(f"{raw!r} is not a list such as [CN, US]") from None
    if not isinstance(raw, (str, list)):
        raise ValueError(f"{raw!r} is not a list")
    items = raw.split(",") if isinstance(raw, str) else raw
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"item {item!r} of {raw!r} is not text (in YAML, quote it: 'NO')")
    items = [item.strip() for item in items]
    if "" in items:
        raise ValueError(f"{raw!r} has an empty item")
    seen: set[str] = set()
    for item in items:
        if item.casefold() in seen:
            raise ValueError(f"{raw!r} names {item} twice")
        seen.add(item.casefold())
    return items


def validate(notebook: str, given: dict[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with ``given``, each checked; raises ``UsageError`` naming every fix."""
    declared = {p.name: p for p in specs(notebook)}
    problems = []
    for name in given:
        if name not in declared:
            problems.append(f"unknown parameter {name!r} (known: {', '.join(declared)})")
    values = defaults(notebook)
    for name, raw in given.items():
        param = declared.get(name)
        if param is None:
            continue
        try:
            value = coerce(param, raw)
        except ValueError as err:
            problems.append(f"parameter {name}: {str(err).replace('{nb}', notebook)}")
            continue
        if param.choices and value not in param.choices:
            problems.append(f"parameter {name}: {value!r} is not one of {', '.join(map(str, param.choices))}")
            continue
        problem = ((param.bounds.problem(value) if param.bounds else None)
                   or (param.check(value) if param.check else None))
        if problem:
            problems.append(f"parameter {name}: {value!r} {problem}")
            continue
        values[name] = value
    if problems:
        raise UsageError(f"{notebook}: " + "; ".join(problems))
    return values


def parse_pairs(pairs: list[list[str]] | None) -> dict[str, str]:
    """``-p KEY VALUE`` pairs as a dict; a KEY given again with another value is a ``UsageError``."""
    given: dict[str, str] = {}
    for key, value in pairs or []:
        if given.get(key, value) != value:
            raise UsageError(f"-p {key} given twice ({given[key]!r} and {value!r}): give it once")
        given[key] = value
    return given


def read_params_file(path: str | Path) -> dict[str, Any]:
    """Parameters from a YAML mapping file (UTF-8); anything else is a ``UsageError``."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"parameters file {path} does not exist") from None
    except IsADirectoryError:
        raise UsageError(f"parameters file {path} is a folder: give a YAML file") from None
    except OSError as err:
        raise UsageError(f"parameters file {path} cannot be read: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise UsageError(f"parameters file {path} is not UTF-8 text (byte {err.start}): save it as UTF-8") from None
    except yaml.YAMLError as err:
        raise UsageError(f"parameters file {path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise UsageError(f"parameters file {path} must be a YAML mapping of name: value")
    return data


def describe(notebook: str) -> list[dict[str, str]]:
    """Rows for ``openbrief params NAME``."""
    rows = []
    for p in specs(notebook):
        help_ = p.help + (f" (one of: {', '.join(p.choices)})" if p.choices else "")
        help_ += f" ({p.bounds})" if p.bounds else ""
        default = ",".join(p.default) if p.type is list else repr(p.default)
        rows.append({"name": p.name, "type": p.type_name, "default": default, "help": help_})
    return rows


def check_data(notebook: str, values: dict[str, Any], data) -> None:
    """Checks that need the snapshot: the spotlight's model and the compared groups must exist.

    ``data`` is a ``brief.BriefData`` (loading it already validated the registry overrides).
    """
    if notebook == "spotlight":
        ids = set(data.everything["id"].astype(str))
        model = values["model"]
        if model not in ids:
            near = sorted(i for i in ids if i.lower() == model.lower())
            hint = f"did you mean {near[0]}? " if near else ""
            raise UsageError(f"spotlight: model {model!r} is not in snapshot {data.snapshot.id}: {hint}"
                             "ids are case-sensitive; 'openbrief metrics top-models' lists the models")
    if notebook == "compare":
        by = values["by"]
        known = set(data.models[by].dropna().astype(str))
        unknown = [g for g in values["groups"] if g not in known]
        if unknown:
            raise UsageError(f"compare: no model of snapshot {data.snapshot.id} has {by} {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(known))}")
