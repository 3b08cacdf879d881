"""Openness: licence tiers and the registry's "fully open" flag.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from openbrief.store.schema import valid_counts
from openbrief.metrics.base import MetricResult, _groups, _one_snapshot, _ratio, _require, _sort_desc, _typed


#: Openness tiers, most open first.
LICENSE_TIERS = ("osi", "open_non_osi", "open_weight_restricted", "unknown")
TIER_LABELS = {
    "osi": "OSI-approved licence",
    "open_non_osi": "open, non-OSI licence (permissive or share-alike, e.g. CC-BY)",
    "open_weight_restricted": "open weights with restrictions (custom or use-restricted licence)",
    "unknown": "no licence stated",
}

# Hub licence identifiers (huggingface.co/docs/hub/repositories-licenses), lower case.
_OSI = frozenset({
    "apache-2.0", "mit", "bsd", "bsd-2-clause", "bsd-3-clause", "isc", "mpl-2.0",
    "agpl-3.0", "gpl", "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0",
    "afl-3.0", "artistic-2.0", "bsl-1.0", "ecl-2.0", "epl-1.0", "epl-2.0",
    "eupl-1.1", "eupl-1.2", "ms-pl", "ncsa", "osl-3.0", "postgresql", "unlicense",
    "zlib", "ofl-1.1", "lppl-1.3c",
})
_OPEN_NON_OSI = frozenset({
    "cc0-1.0", "odc-by", "odbl", "pddl", "cdla-permissive-1.0", "cdla-permissive-2.0",
    "cdla-sharing-1.0", "wtfpl", "bsd-3-clause-clear", "etalab-2.0", "gfdl",
    "openmdw-1.0", "lgpl-lr",
})
_UNKNOWN_LICENSES = frozenset({"", "unknown", "none", "null"})

# --------------------------------------------------------------------------- 7. openness

_DEF_OPENNESS = (
    "Openness by {by}: licence tier of each model from its Hub licence tag (osi; open_non_osi, "
    "e.g. CC-BY; open_weight_restricted, e.g. llama3, gemma, qwen, openrail, cc-by-nc, other; "
    "unknown = no licence) and the registry's fully-open flag, as model counts and as shares of "
    "the group's rolling 30-day downloads."
)


def license_tier(license: str | None) -> str:
    """Openness tier of a Hub licence identifier.

    - ``"osi"``: OSI-approved licences (apache-2.0, mit, bsd, bsd-2/3-clause, isc, mpl-2.0,
      gpl*, lgpl*, agpl-3.0, epl, eupl, ...).
    - ``"open_non_osi"``: open but not OSI-approved, without use restrictions (cc-by-*,
      cc-by-sa-*, cc0-1.0, odc-by, odbl, cdla-*, wtfpl, bsd-3-clause-clear, gfdl, openmdw-1.0...).
      CC-BY is not an OSI licence, hence its own tier.
    - ``"open_weight_restricted"``: every other stated licence: the model families' own
      (llama2..llama4, gemma, deepseek, qwen, tongyi-qianwen), openrail*, cc-by-nc*, cc-by-nd*,
      research-only licences, "other" and anything unrecognised (conservative: a licence not
      known to be open is treated as restricted).
    - ``"unknown"``: no licence (None, NA, empty) or the Hub value ``"unknown"``.

    Case-insensitive; a ``"license:"`` tag prefix is accepted.
    """
    if license is None or (not isinstance(license, str) and pd.isna(license)):
        return "unknown"
    if not isinstance(license, str):
        raise TypeError(f"license must be a string or None, not {type(license).__name__}")
    name = license.strip().lower().removeprefix("license:").strip()
    if name in _UNKNOWN_LICENSES:
        return "unknown"
    if name in _OSI:
        return "osi"
    if name in _OPEN_NON_OSI:
        return "open_non_osi"
    if name.startswith(("gpl-", "agpl-")) or (name.startswith("lgpl-") and name != "lgpl-lr"):
        return "osi"
    if name.startswith("cc-by") and not any(part in ("nc", "nd") for part in name.split("-")):
        return "open_non_osi"
    return "open_weight_restricted"


def openness(models: pd.DataFrame, by: str = "bloc") -> MetricResult:
    """Licence tiers and fully-open models per group, by count and by 30-day downloads.

    Definition: each model gets ``license_tier(license)``; per group, the number of models in
    each tier and ``<tier>_share`` = rolling 30-day downloads of the group's models in that tier
    over the group's downloads; likewise ``fully_open`` (models the registry marks as fully open:
    weights, data and code) and ``fully_open_share``.
    Universe: every model of the (single-snapshot) table.
    Missing values: a missing licence is the tier "unknown"; models with ``<NA>`` downloads are
    counted in the tier counts but not in the shares (coverage); a missing ``fully_open`` flag is
    not counted as fully open and is reported in ``coverage["fully_open_missing"]``; invalid
    counts (e.g. negative) are left out of the shares like missing ones (coverage). A group
    whose downloads are all missing or zero has ``<NA>`` shares.

    Rows (downloads desc, then group): ``group``, ``models``, one count per tier (``osi``,
    ``open_non_osi``, ``open_weight_restricted``, ``unknown``), ``fully_open``,
    ``downloads_30d``, one ``<tier>_share`` per tier, ``fully_open_share``.
    """
    _require(models, ["id", "license", "downloads", "fully_open", by], "models")
    df, dups = _one_snapshot(models, "models")
    codes, licenses = pd.factorize(df["license"])  # one tier per distinct licence, as a position in LICENSE_TIERS
    tier_of = [LICENSE_TIERS.index(license_tier(None if pd.isna(x) else str(x))) for x in licenses]
    tier = np.array([*tier_of, LICENSE_TIERS.index(license_tier(None))], dtype="int64")[codes]
    fully = df["fully_open"].astype("boolean")
    downloads, invalid = valid_counts(df["downloads"])
    frame = pd.DataFrame({"group": _groups(df, by), "downloads": downloads,
                          "fully_open": fully.fillna(False).to_numpy(dtype=bool)})
    known_downloads = downloads.fillna(0).to_numpy(dtype="int64")
    columns: dict[str, pd.Series] = {}
    for i, t in enumerate(LICENSE_TIERS):
        frame[t] = (tier == i).astype("int64")
        frame[f"{t}_dl"] = np.where(tier == i, known_downloads, 0)
    frame["fully_open_dl"] = np.where(frame["fully_open"].to_numpy(), known_downloads, 0)
    frame["fully_open_n"] = frame["fully_open"].astype("int64")
    grouped = frame.groupby("group", sort=True)
    columns["models"] = grouped.size()
    for t in LICENSE_TIERS:
        columns[t] = grouped[t].sum()
    columns["fully_open"] = grouped["fully_open_n"].sum()
    columns["downloads_30d"] = grouped["downloads"].sum(min_count=1)
    sums = {c: grouped[f"{c}_dl"].sum() for c in (*LICENSE_TIERS, "fully_open")}
    rows = pd.DataFrame(columns).rename_axis("group").reset_index()
    for c, s in sums.items():
        rows[f"{c}_share"] = _group_shares(s.reindex(rows["group"]).reset_index(drop=True), rows["downloads_30d"])
    dtypes = {"group": "string", "models": "Int64", **{t: "Int64" for t in LICENSE_TIERS},
              "fully_open": "Int64", "downloads_30d": "Int64",
              **{f"{c}_share": "Float64" for c in (*LICENSE_TIERS, "fully_open")}}
    rows = _typed(_sort_desc(rows, "downloads_30d", "group"), dtypes)

    total = frame["downloads"].sum(min_count=1)
    coverage = {
        "models": len(df),
        "models_with_license": int((tier != LICENSE_TIERS.index("unknown")).sum()),
        "models_with_downloads": int(frame["downloads"].notna().sum()),
        "models_missing_downloads": int((frame["downloads"].isna() & ~invalid).sum()),
        "models_with_invalid_downloads": int(invalid.sum()),
        "fully_open_missing": int(fully.isna().sum()),
        "tier_models": {t: int(frame[t].sum()) for t in LICENSE_TIERS},
        "tier_downloads_share": {t: _ratio(frame[f"{t}_dl"].sum(), total) for t in LICENSE_TIERS},
        "fully_open_models": int(frame["fully_open"].sum()),
        "fully_open_downloads_share": _ratio(frame["fully_open_dl"].sum(), total),
        "duplicate_ids_dropped": dups,
    }
    return MetricResult("openness", rows, coverage, _DEF_OPENNESS.format(by=by), {"by": by})


def _group_shares(part: pd.Series, whole: pd.Series) -> pd.Series:
    whole = whole.astype("Float64")
    return (part.astype("Float64") / whole.where(whole > 0, pd.NA)).astype("Float64")
