"""The registry's entries: reading, validating and merging registry CSV files.
"""
from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import pandas as pd

from openbrief.errors import UsageError


#: The registry shipped in the package.
SHIPPED = Path(__file__).resolve().parent / "data" / "registry.csv"

#: Required columns, in order; the optional columns may follow them (any of them, in this order).
COLUMNS = ("namespace", "organisation", "country", "bloc", "org_type",
           "parent", "aliases", "fully_open", "source")
OPTIONAL_COLUMNS = ("notes", "name_ja")
#: Per language, the optional column with an organisation's established name in it (e.g. アレン人工知能研究所).
LOCAL_NAME_COLUMNS = {"ja": "name_ja"}
_HEADER_TEXT = ",".join(COLUMNS) + "".join(f"[,{c}]" for c in OPTIONAL_COLUMNS)

#: Organisation types, exactly as written in the file.
ORG_TYPES = ("big tech", "AI lab/startup", "academic", "non-profit",
             "government", "community", "intermediary", "individual")
INTERMEDIARY = "intermediary"
#: Personal accounts: typed, never given a country (always ``ZZ``), never an origin.
INDIVIDUAL = "individual"
#: Types that are never an origin: lineage passes through them, fetches do not track them.
NOT_ORIGINS = (INTERMEDIARY, INDIVIDUAL)
UNATTRIBUTED = "unattributed"

#: ISO 3166-1 alpha-2 officially assigned codes (249).
ISO_3166_ALPHA2 = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM
BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX
CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG
GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR
IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV
LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE
NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO
RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF
WS YE YT ZA ZM ZW
""".split())
#: Two codes beyond the assigned ones: ``EU`` (exceptionally reserved by ISO
#: 3166/MA for the European Union; multinational EU consortia) and ``ZZ``
#: (unknown, the CLDR convention; allowed for intermediaries only).
EU_CODE, UNKNOWN_COUNTRY = "EU", "ZZ"
COUNTRY_CODES = ISO_3166_ALPHA2 | {EU_CODE, UNKNOWN_COUNTRY}

EU_MEMBERS = frozenset("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU "
                       "MT NL PL PT RO SK SI ES SE".split())
GULF = frozenset("AE SA QA KW BH OM".split())  # the Gulf Cooperation Council

#: Named blocs and their countries; every other country is in ``Other``.
BLOC_COUNTRIES: dict[str, frozenset[str]] = {
    "US": frozenset({"US"}),
    "CN": frozenset({"CN", "HK", "MO"}),
    "EU": EU_MEMBERS | {EU_CODE},
    "UK": frozenset({"GB"}),
    "JP": frozenset({"JP"}),
    "KR": frozenset({"KR"}),
    "Gulf": GULF,
    "CA": frozenset({"CA"}),
    "IN": frozenset({"IN"}),
    "IL": frozenset({"IL"}),
    "CH": frozenset({"CH"}),
}
BLOCS = (*BLOC_COUNTRIES, "Other")

_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_URL_RE = re.compile(r"^https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?:[/?#]\S*)?$")
_VERSION_RE = re.compile(r"^#\s*version\s*:\s*(\S+)\s*$", re.IGNORECASE)
MAX_LINEAGE_HOPS = 5


def bloc_of(country: str) -> str:
    """The bloc of an ISO country code: a named bloc that lists it, else ``Other``."""
    for bloc, countries in BLOC_COUNTRIES.items():
        if country in countries:
            return bloc
    return "Other"


@dataclass(frozen=True)
class Problem:
    """One validation problem: where (file, line) and which namespace."""

    line: int | None
    namespace: str
    message: str
    file: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file or "registry"
        return f"{where}: {self.namespace or '-'}: {self.message}"


class RegistryError(UsageError):
    """An invalid registry (exit code 2): every problem found, one per line of the message."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__(f"invalid registry ({n} problem{'s' * (n != 1)}):\n"
                         + "\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Entry:
    """One namespace of the registry, and the file and line it came from."""

    namespace: str
    organisation: str
    country: str
    bloc: str
    org_type: str
    parent: str
    aliases: tuple[str, ...]
    fully_open: bool
    source: tuple[str, ...]
    notes: str = ""
    name_ja: str = ""
    file: str = ""
    line: int = 0

    @property
    def is_intermediary(self) -> bool:
        """True for re-uploaders, quantisers and converters (never origins)."""
        return self.org_type == INTERMEDIARY

    @property
    def is_origin(self) -> bool:
        """False for intermediaries and individuals: lineage passes through them to a base."""
        return self.org_type not in NOT_ORIGINS

    def as_row(self) -> dict[str, str]:
        """The entry as file fields (aliases and sources joined with ``;``)."""
        return {"namespace": self.namespace, "organisation": self.organisation,
                "country": self.country, "bloc": self.bloc, "org_type": self.org_type,
                "parent": self.parent, "aliases": ";".join(self.aliases),
                "fully_open": "yes" if self.fully_open else "no",
                "source": ";".join(self.source), "notes": self.notes, "name_ja": self.name_ja}


@dataclass(frozen=True)
class RegistryFile:
    """A file a registry was read from: its path, version comment and sha256."""

    path: str
    label: str | None
    sha256: str

    def describe(self) -> str:
        """``name [version] sha256:<12 hex>``."""
        label = f" {self.label}" if self.label else ""
        return f"{Path(self.path).name}{label} sha256:{self.sha256[:12]}"


@dataclass(frozen=True)
class Registry:
    """Validated entries plus a case-insensitive index of namespaces and aliases."""

    entries: tuple[Entry, ...]
    files: tuple[RegistryFile, ...] = ()
    _index: dict[str, Entry] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, Entry] = {}
        for e in self.entries:
            for key in (e.namespace, *e.aliases):
                index.setdefault(key.lower(), e)
        object.__setattr__(self, "_index", index)

    @property
    def version(self) -> str:
        """Base file's version and sha256 prefix, then each override with its sha256.

        E.g. ``2026-11-27.1 sha256:0123456789ab + overrides: extra.csv sha256:...``.
        """
        if not self.files:
            return "in-memory"
        base, *extra = self.files
        text = f"{base.label or 'unversioned'} sha256:{base.sha256[:12]}"
        if extra:
            text += " + overrides: " + ", ".join(f.describe() for f in extra)
        return text

    @property
    def overrides(self) -> tuple[RegistryFile, ...]:
        """The override files, in the order they were applied."""
        return self.files[1:]

    def lookup(self, namespace: str | None) -> Entry | None:
        """The entry of a namespace or alias, case-insensitively; None when unknown."""
        if not isinstance(namespace, str) or not namespace:
            return None
        return self._index.get(namespace.strip().lower())

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __contains__(self, namespace: object) -> bool:
        return isinstance(namespace, str) and self.lookup(namespace) is not None

    def to_frame(self) -> pd.DataFrame:
        """The entries as a DataFrame (file columns; ``fully_open`` as bool)."""
        rows = [{**e.as_row(), "fully_open": e.fully_open} for e in self.entries]
        return pd.DataFrame(rows, columns=[*COLUMNS, *OPTIONAL_COLUMNS])


# ----------------------------------------------------------------- reading

def _split(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(";") if p.strip())


def _row_problems(f: dict[str, str]) -> list[str]:
    """Field rules of one row; each broken rule gives one message."""
    msgs = []
    ns = f["namespace"]
    if not ns:
        msgs.append("missing namespace")
    elif not _NAMESPACE_RE.match(ns):
        msgs.append(f"invalid namespace {ns!r} (letters, digits, '-', '_', '.')")
    if not f["organisation"]:
        msgs.append("missing organisation")
    country, bloc, org_type = f["country"], f["bloc"], f["org_type"]
    if country not in COUNTRY_CODES:
        msgs.append(f"unknown country code {country!r} "
                    "(expected ISO 3166-1 alpha-2 in upper case, e.g. 'US')")
    elif org_type == INDIVIDUAL and country != UNKNOWN_COUNTRY:
        msgs.append(f"an individual is never given a country: write 'ZZ', not {country!r}")
    elif country == UNKNOWN_COUNTRY and org_type not in NOT_ORIGINS:
        msgs.append("country 'ZZ' (unknown) is allowed only for intermediaries and individuals")
    if bloc not in BLOCS:
        msgs.append(f"unknown bloc {bloc!r} (expected one of {', '.join(BLOCS)})")
    elif country in COUNTRY_CODES and bloc != bloc_of(country):
        msgs.append(f"bloc {bloc!r} does not match country {country!r} "
                    f"(expected {bloc_of(country)!r})")
    if org_type not in ORG_TYPES:
        msgs.append(f"unknown org_type {org_type!r} (expected one of {', '.join(ORG_TYPES)})")
    if f["fully_open"] not in ("yes", "no"):
        msgs.append(f"fully_open must be 'yes' or 'no', got {f['fully_open']!r}")
    sources = _split(f["source"])
    if not sources:
        msgs.append("missing source")
    for s in sources:
        if not _URL_RE.match(s):
            msgs.append(f"source is not an http(s) URL: {s!r}")
    seen: set[str] = set()
    for a in _split(f["aliases"]):
        if not _NAMESPACE_RE.match(a):
            msgs.append(f"invalid alias {a!r}")
        elif a.lower() == ns.lower():
            msgs.append(f"alias {a!r} repeats the namespace")
        elif a.lower() in seen:
            msgs.append(f"alias {a!r} listed twice")
        seen.add(a.lower())
    return msgs


def read_file(path: str | Path, display: str | None = None
              ) -> tuple[list[Entry], list[Problem], RegistryFile]:
    """Parse one registry file into entries and per-line problems.

    Rules: UTF-8; ``#`` comment and blank lines skipped; the first other line is
    the header (the required columns, optionally ``notes``); each record is one
    line with exactly as many fields as the header. Rows with field problems are
    still returned (so that duplicates are found too); callers must treat any
    problem as fatal. Cross-entry rules are in :func:`validate_entries`.
    """
    path = Path(path)
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        return [], [Problem(None, "", f"cannot read registry file: {e.strerror or e}", name)], \
            RegistryFile(str(path), None, "")
    meta = RegistryFile(str(path), None, hashlib.sha256(raw).hexdigest())
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return [], [Problem(None, "", f"not UTF-8 text ({e.reason} at byte {e.start})", name)], meta

    entries: list[Entry] = []
    problems: list[Problem] = []
    header: list[str] | None = None
    label = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            m = _VERSION_RE.match(stripped)
            if m and label is None:
                label = m.group(1)
            continue
        try:
            fields = [x.strip() for x in next(csv.reader([line], strict=True))]
        except csv.Error as e:
            ns = line.split(",", 1)[0].strip().strip('"')
            problems.append(Problem(lineno, ns, f"malformed CSV: {e}", name))
            continue
        if header is None:
            extra = fields[len(COLUMNS):]
            if fields[:len(COLUMNS)] != list(COLUMNS) or extra != [c for c in OPTIONAL_COLUMNS if c in extra]:
                problems.append(Problem(lineno, "", "wrong columns: expected header "
                                        f"{_HEADER_TEXT}, got {','.join(fields)}", name))
                return entries, problems, RegistryFile(str(path), label, meta.sha256)
            header = fields
            continue
        ns = fields[0] if fields else ""
        if len(fields) != len(header):
            problems.append(Problem(lineno, ns, f"expected {len(header)} fields, got {len(fields)}", name))
            continue
        f = dict(zip(header, fields))
        for column in OPTIONAL_COLUMNS:
            f.setdefault(column, "")
        problems += [Problem(lineno, ns, m, name) for m in _row_problems(f)]
        entries.append(Entry(
            namespace=ns, organisation=f["organisation"], country=f["country"],
            bloc=f["bloc"], org_type=f["org_type"], parent=f["parent"],
            aliases=_split(f["aliases"]), fully_open=f["fully_open"] == "yes",
            source=_split(f["source"]), notes=f["notes"], name_ja=f["name_ja"], file=name, line=lineno))
    if header is None:
        problems.append(Problem(None, "", f"no header line: expected {_HEADER_TEXT}", name))
    return entries, problems, RegistryFile(str(path), label, meta.sha256)


def _at(e: Entry, other: Entry) -> str:
    return f"line {other.line}" if other.file == e.file else f"{other.file}:{other.line}"


def validate_entries(entries: Iterable[Entry]) -> list[Problem]:
    """Cross-entry rules, each problem reported at the later entry's line.

    * a namespace appears once (case-insensitive);
    * an alias is not another entry's namespace;
    * an alias belongs to one entry only (it must resolve to exactly one).
    """
    problems: list[Problem] = []
    names: dict[str, Entry] = {}
    entries = list(entries)
    for e in entries:
        key = e.namespace.lower()
        if key in names:
            first = names[key]
            spelled = "" if first.namespace == e.namespace else f" as {first.namespace!r}"
            problems.append(Problem(e.line, e.namespace,
                                    f"duplicate namespace (first at {_at(e, first)}{spelled})", e.file))
        else:
            names[key] = e
    owners: dict[str, Entry] = {}
    for e in entries:
        for a in e.aliases:
            key = a.lower()
            if key in names and names[key] is not e:
                other = names[key]
                problems.append(Problem(e.line, e.namespace, f"alias {a!r} clashes with namespace "
                                        f"{other.namespace!r} at {_at(e, other)}", e.file))
            elif key in owners and owners[key] is not e:
                other = owners[key]
                problems.append(Problem(e.line, e.namespace, f"alias {a!r} resolves to two entries: "
                                        f"also an alias of {other.namespace!r} at {_at(e, other)}", e.file))
            else:
                owners.setdefault(key, e)
    return problems


def merge(base: Sequence[Entry], override: Sequence[Entry]) -> list[Entry]:
    """Apply an override file's entries to ``base`` (rules in the module docstring).

    Same namespace (case-insensitive): the override replaces the entry, keeping
    the old aliases and adding its own. Namespace equal to an earlier alias: the
    alias is removed from the earlier entry and the override is added. Else the
    override is appended.
    """
    out = list(base)
    for new in override:
        key = new.namespace.lower()
        for i, old in enumerate(out):
            if old.namespace.lower() == key:
                kept = tuple(a for a in old.aliases if a.lower() not in {x.lower() for x in new.aliases})
                out[i] = replace(new, aliases=kept + new.aliases)
                break
            if key in {a.lower() for a in old.aliases}:
                out[i] = replace(old, aliases=tuple(a for a in old.aliases if a.lower() != key))
        else:
            out.append(new)
    return out


def _display(path: Path) -> str:
    return "openbrief/data/registry.csv" if path.resolve() == SHIPPED else str(path)


def check(base: str | Path | None = None,
          overrides: Sequence[str | Path] = ()) -> tuple[Registry | None, list[Problem]]:
    """Read ``base`` (the shipped registry by default) and apply ``overrides``.

    Returns the registry (None when any problem was found) and every problem of
    every file, in file and line order: a file's own rules are checked on that
    file, cross-entry rules on each file alone and, when every file is valid,
    on the merged result.
    """
    paths = [Path(base) if base is not None else SHIPPED, *map(Path, overrides)]
    merged: list[Entry] = []
    problems: list[Problem] = []
    files: list[RegistryFile] = []
    for path in paths:
        entries, probs, meta = read_file(path, _display(path))
        problems += sorted(probs + validate_entries(entries), key=lambda p: p.line or 0)
        files.append(meta)
        merged = merge(merged, entries)
    if not problems:  # clashes created by combining files
        problems = validate_entries(merged)
    if problems:
        return None, problems
    return Registry(tuple(merged), tuple(files)), []


def load(overrides: Sequence[str | Path] | str | Path = (), base: str | Path | None = None) -> Registry:
    """The shipped (or ``base``) registry with ``overrides`` applied; raises RegistryError."""
    if isinstance(overrides, (str, Path)):
        overrides = [overrides]
    registry, problems = check(base, overrides)
    if problems:
        raise RegistryError(problems)
    assert registry is not None
    return registry


def as_registry(registry: Registry | str | Path | Sequence[str | Path] | None = None) -> Registry:
    """The ``registry`` parameter of notebooks and functions.

    None: the shipped registry. A Registry: itself. A path or a list of paths:
    the shipped registry with those override files applied, in order.
    """
    if isinstance(registry, Registry):
        return registry
    if registry is None:
        return load()
    return load(registry)


def lookup(namespace: str | None, registry: Registry | None = None) -> Entry | None:
    """The entry of ``namespace`` (case-insensitive, following aliases), or None."""
    return as_registry(registry).lookup(namespace)


def display_name(org: str, lang: str, registry: Registry | None = None) -> str:
    """How a brief in ``lang`` names organisation ``org`` (the registry's ``organisation``).

    Its established name in that language (``name_ja`` for ``ja``) where the registry (the shipped
    one by default) records one, else ``org`` as the organisation writes itself.
    """
    column = LOCAL_NAME_COLUMNS.get(lang)
    return _local_names(registry or _shipped(), column).get(org, org) if column else org


@lru_cache(maxsize=None)
def _shipped() -> Registry:
    return load()


@lru_cache(maxsize=32)
def _local_names(registry: Registry, column: str) -> dict[str, str]:
    """organisation -> its name in ``column``, from the first entry that has one."""
    names: dict[str, str] = {}
    for e in registry.entries:
        if getattr(e, column):
            names.setdefault(e.organisation, getattr(e, column))
    return names
