"""The attribution registry: Hub namespace -> organisation, HQ country, bloc and type.

Attribution policy
------------------
* A model's origin is the headquarters of the organisation that owns its Hub
  namespace, looked up in the registry (``data/registry.csv``; a reviewed file).
* Intermediaries (re-uploaders, quantisers, converters) are their own
  ``org_type`` and are never an origin; so are ``individual`` personal accounts,
  which are never given a country (``ZZ``).
* Namespaces the registry does not know are ``"unattributed"``: never guessed
  from tags, model cards or the ``region:`` tag (a storage region, not an origin).
* Lineage: a derivative can also be attributed to the origin of its first
  declared base model (following aliases and case), and to its root
  (:func:`lineage_roots`: the first ancestor an organisation owns).
* Namespaces compare case-insensitively; an alias (an old namespace such as
  ``THUDM`` for ``zai-org``) resolves to its entry.

File format
-----------
CSV with the header ``namespace,organisation,country,bloc,org_type,parent,
aliases,fully_open,source`` and the optional trailing columns ``notes`` and ``name_ja`` (the
organisation's established Japanese name, e.g. アレン人工知能研究所, where there is one:
:func:`display_name`). Lines
starting with ``#`` and blank lines are ignored; ``# version: YYYY-MM-DD.N``
names the file's version. One record per physical line, so that every problem
names the file's true line number. ``aliases`` and ``source`` are
``;``-separated; ``fully_open`` is ``yes`` or ``no``.

Overrides: later files add entries or replace entries with the same namespace
(case-insensitive); a replacing entry keeps the earlier entry's aliases and may
add more; an override whose namespace is an earlier entry's alias takes that
alias over. The registry's ``version`` names every file with a sha256 prefix.


The package: :mod:`.entries` (reading, validating, merging files) and :mod:`.attribution`
(looking models up). May import: openbrief.errors only (no stage above it).
"""
from openbrief.registry.entries import (
    BLOCS,
    BLOC_COUNTRIES,
    COLUMNS,
    COUNTRY_CODES,
    EU_CODE,
    EU_MEMBERS,
    Entry,
    GULF,
    INDIVIDUAL,
    INTERMEDIARY,
    ISO_3166_ALPHA2,
    LOCAL_NAME_COLUMNS,
    MAX_LINEAGE_HOPS,
    NOT_ORIGINS,
    OPTIONAL_COLUMNS,
    ORG_TYPES,
    Problem,
    Registry,
    RegistryError,
    RegistryFile,
    SHIPPED,
    UNATTRIBUTED,
    UNKNOWN_COUNTRY,
    as_registry,
    bloc_of,
    check,
    display_name,
    load,
    lookup,
    merge,
    read_file,
    validate_entries,
)
from openbrief.registry.attribution import (
    LINEAGE_STATUSES,
    attribute,
    lineage_roots,
    tracked_namespaces,
    unattributed_namespaces,
)

__all__ = [
    "BLOCS",
    "BLOC_COUNTRIES",
    "COLUMNS",
    "COUNTRY_CODES",
    "EU_CODE",
    "EU_MEMBERS",
    "Entry",
    "GULF",
    "INDIVIDUAL",
    "INTERMEDIARY",
    "LOCAL_NAME_COLUMNS",
    "ISO_3166_ALPHA2",
    "MAX_LINEAGE_HOPS",
    "NOT_ORIGINS",
    "OPTIONAL_COLUMNS",
    "ORG_TYPES",
    "Problem",
    "Registry",
    "RegistryError",
    "RegistryFile",
    "SHIPPED",
    "UNATTRIBUTED",
    "UNKNOWN_COUNTRY",
    "as_registry",
    "LINEAGE_STATUSES",
    "attribute",
    "lineage_roots",
    "bloc_of",
    "check",
    "display_name",
    "load",
    "lookup",
    "merge",
    "read_file",
    "tracked_namespaces",
    "unattributed_namespaces",
    "validate_entries",
]
