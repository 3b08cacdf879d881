"""What notebooks call: load a snapshot for a brief, and show things the house way.

Notebooks stay thin: parameters, ``brief.load(...)``, metrics, charts, a few
sentences. Formatting of numbers and tables lives here so every brief reads
the same; no metric is computed here.
"""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass

import pandas as pd

from openbrief import __version__
from openbrief.snapshot import (Snapshot, default_store, list_snapshots, newest_sound, open_snapshot, order_key,
                                warn_skipped)

META_MIME = "application/vnd.openbrief+json"
SYNTHETIC_NOTICE = "SYNTHETIC DATA: every figure in this brief is made up (openbrief demo)"


@dataclass
class BriefData:
    """A snapshot, attributed, with the snapshot before it (for week-over-week figures)."""

    snapshot: Snapshot
    registry: object
    models: pd.DataFrame
    derivatives: pd.DataFrame
    previous: Snapshot | None
    history: list[Snapshot]

    @property
    def as_of(self) -> pd.Timestamp:
        return self.snapshot.fetched_at

    @property
    def synthetic(self) -> bool:
        return bool(self.snapshot.meta.get("synthetic"))

    @property
    def everything(self) -> pd.DataFrame:
        """Tracked models and listed derivatives together, each id once (for lineage metrics)."""
        listed = self.derivatives.drop(columns=["listed_base"], errors="ignore")
        both = pd.concat([self.models, listed], ignore_index=True) if len(listed) else self.models
        return both.drop_duplicates("id", keep="first").reset_index(drop=True)

    @property
    def history_models(self) -> pd.DataFrame:
        """Every snapshot up to this one, attributed, as one long table."""
        from openbrief.history import load_history
        from openbrief.registry import attribute

        columns = ["id", "namespace", "query", "downloads", "downloads_all_time", "base_models"]
        return attribute(load_history(self.snapshot.path.parent, end=self.as_of, columns=columns), self.registry)

    @property
    def previous_models(self) -> pd.DataFrame | None:
        if self.previous is None:
            return None
        from openbrief.registry import attribute

        return attribute(self.previous.models, self.registry)


def load(snapshot: str = "latest", store: str = "", registry: str | list[str] = "") -> BriefData:
    """Open ``snapshot`` from ``store`` and attribute its models with the registry (+ overrides).

    ``registry`` is an override file, or a list of them ('' = none). The snapshot and the one
    before it are checked against their ``snapshot.json`` (a damaged one: exit 2; a damaged
    previous one is skipped, with a warning).
    """
    from openbrief import registry as reg

    store_path = default_store(store or None)
    snap = open_snapshot(store_path, snapshot or "latest")
    overrides = [registry] if isinstance(registry, str) and registry else list(registry or [])
    registry_obj = reg.load(overrides)
    history = [s for s in list_snapshots(store_path) if order_key(s.id) <= order_key(snap.id)]
    previous, skipped = newest_sound([s for s in history if s.id != snap.id])  # verified like the snapshot
    warn_skipped(skipped)
    return BriefData(
        snapshot=snap,
        registry=registry_obj,
        models=reg.attribute(snap.models, registry_obj),
        derivatives=reg.attribute(snap.derivatives, registry_obj),
        previous=previous,
        history=history,
    )


# ---------------------------------------------------------------- escaping

_MD_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character


def md_escape(text) -> str:
    """``text`` as Markdown that shows it literally, on one line.

    For anything a user or a data source controls (titles, organisation names,
    model ids, Hub fields) and every sentence built from them: each ASCII
    punctuation character is backslash-escaped (CommonMark), so no link, image,
    HTML tag, entity, emphasis, code span, table cell or math survives, and line
    breaks become spaces, so no heading or list can start.
    """
    return _MD_PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))


def html_escape(text) -> str:
    """``text`` as HTML text or attribute value that shows it literally (``<>&"'`` escaped)."""
    return html.escape(str(text), quote=True)


# ---------------------------------------------------------------- formatting

def fmt_count(n) -> str:
    """1234 -> '1,234'; 1_234_567 -> '1.23M'; missing -> '–'."""
    if n is None or n is pd.NA or (isinstance(n, float) and math.isnan(n)):
        return "–"
    n = float(n)
    for limit, suffix in ((1e9, "B"), (1e6, "M")):
        if abs(n) >= limit:
            return f"{n / limit:.2f}{suffix}"
    return f"{n:,.0f}"


def fmt_share(x, digits: int = 1) -> str:
    """0.1234 -> '12.3%'; missing -> '–'."""
    if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * float(x):.{digits}f}%"


def fmt_signed(n) -> str:
    """+1.2M / −3,400; missing -> '–'."""
    if n is None or n is pd.NA or (isinstance(n, float) and math.isnan(n)):
        return "–"
    return ("+" if float(n) >= 0 else "−") + fmt_count(abs(float(n)))


def fmt_date(ts) -> str:
    if ts is None or ts is pd.NaT or pd.isna(ts):
        return "–"
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%d")


def fmt_time(ts) -> str:
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")


def table_html(df: pd.DataFrame, columns: dict[str, str], formats: dict | None = None,
               numeric: tuple[str, ...] = (), css_class: str = "ob-table") -> str:
    """An HTML table of ``columns`` (name -> header), values formatted, text escaped.

    ``css_class="ob-table ob-facts"`` sets an item/value list, every value left-aligned.
    """
    formats = formats or {}
    head = "".join(f'<th class="{"num" if c in numeric else ""}">{html_escape(h)}</th>' for c, h in columns.items())
    body = []
    for _, row in df.iterrows():
        cells = []
        for col in columns:
            value = row[col]
            text = formats[col](value) if col in formats else ("–" if _missing(value) else str(value))
            cells.append(f'<td class="{"num" if col in numeric else ""}">{html_escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(columns)}">No rows.</td></tr>')
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------- display

def show(markdown: str) -> None:
    """Display Markdown written in a notebook; put every value in it through :func:`md_escape`."""
    from IPython.display import Markdown, display

    display(Markdown(markdown))


def show_html(text: str) -> None:
    """Display HTML built here (tables escape their cells); values in it go through :func:`html_escape`."""
    from IPython.display import HTML, display

    display(HTML(text))


def show_figure(fig) -> None:
    """Display a chart as a deterministic vector image (no repr is left behind)."""
    from IPython.display import SVG, display

    from openbrief.charts import figure_to_svg

    display(SVG(figure_to_svg(fig)))


def cover(title: str, data: BriefData, subtitle: str = "") -> None:
    """The brief's cover: title, as-of time, and the synthetic-data notice when it applies.

    Also publishes the page metadata (running header, notice on every page) for the renderer.
    """
    from IPython.display import display

    notice = SYNTHETIC_NOTICE if data.synthetic else ""
    display({META_MIME: {"title": title, "as_of": fmt_date(data.as_of), "notice": notice}}, raw=True)
    lines = [f"# {md_escape(title)}", ""]
    if subtitle:
        lines += [f"**{md_escape(subtitle)}**", ""]
    lines.append(f"Data as of **{fmt_time(data.as_of)}** (snapshot `{data.snapshot.id}`), "
                 f"from {md_escape(data.snapshot.meta.get('endpoint', 'unknown source'))}.")
    if notice:
        lines += ["", f'<div class="ob-notice">{html_escape(notice)}.</div>']
    show("\n".join(lines))


def provenance_rows(data: BriefData) -> list[tuple[str, str]]:
    """The evidence trail: where the data came from and what produced this brief."""
    meta = data.snapshot.meta
    versions = meta.get("versions", {})
    rows = [
        ("Snapshot", data.snapshot.id),
        ("Fetched at", meta.get("fetched_at", "–")),
        ("Endpoint", meta.get("endpoint", "–")),
        ("Models in snapshot", fmt_count(meta.get("rows", {}).get("models"))),
        ("Derivatives listed", fmt_count(meta.get("rows", {}).get("derivatives"))),
        ("Requests sent", fmt_count(meta.get("requests"))),
        ("Organisations tracked", str(len(meta.get("tracked_orgs", [])))),
        ("Fields the source refused", ", ".join(meta.get("expand_refused", [])) or "none"),
        ("Registry", getattr(data.registry, "version", "–")),
        ("Earlier snapshots in store", str(len(data.history) - 1)),
        ("huggingface_hub (fetch)", versions.get("huggingface_hub", "–")),
        ("openbrief (fetch / brief)", f"{versions.get('openbrief', '–')} / {__version__}"),
    ]
    if data.synthetic:
        rows.insert(0, ("Data", "SYNTHETIC (generated by openbrief demo)"))
    return rows


def show_provenance(data: BriefData) -> None:
    frame = pd.DataFrame(provenance_rows(data), columns=["item", "value"])
    show_html(table_html(frame, {"item": "Item", "value": "Value"}, css_class="ob-table ob-facts"))


def coverage_text(coverage: dict) -> str:
    """A metric's coverage dict as 'key: value' text; shares as percentages, other floats rounded."""
    parts = []
    for key, value in coverage.items():
        if isinstance(value, float):
            value = fmt_share(value) if "share" in key else f"{value:,.2f}"
        elif isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value)) or "none"
        elif isinstance(value, dict):
            value = "; ".join(f"{k}={v}" for k, v in value.items()) or "none"
        parts.append(f"{key.replace('_', ' ')}: {'–' if value in (None, '') else value}")
    return "; ".join(parts)


def show_methodology(results) -> None:
    """Each metric used: its definition and its coverage, as a table."""
    frame = pd.DataFrame([{"metric": r.name, "definition": r.definition, "coverage": coverage_text(r.coverage)}
                          for r in results])
    show_html(table_html(frame, {"metric": "Metric", "definition": "Definition", "coverage": "Coverage"}))


# ---------------------------------------------------------------- section tables

def period_table(period) -> str:
    """Downloads between the two snapshots by bloc, with how many models had both cumulative counts."""
    rows = period.rows
    return table_html(rows, {"group": "Bloc", "downloads_period": "Downloads in the period", "share": "Share",
                             "ok": "Models counted", "missing": "Missing", "negative": "Anomalous", "new": "New"},
                      {"downloads_period": fmt_count, "share": fmt_share},
                      numeric=("downloads_period", "share", "ok", "missing", "negative", "new"))


def releases_table(releases, limit: int = 12) -> str:
    """New releases per bloc, naming up to ``limit`` models each."""
    rows = releases.rows[releases.rows["releases"] > 0].copy()
    rows["models"] = rows["ids"].map(lambda ids: ", ".join(list(ids)[:limit]) + (" …" if len(ids) > limit else ""))
    return table_html(rows, {"group": "Bloc", "releases": "New models", "models": "Models"}, numeric=("releases",))


def derivatives_table(derivs, top: int = 10) -> str:
    """The bases with the most derivatives by the Hub's own count (childrenModelCount)."""
    rows = derivs.rows[derivs.rows["source"] == "childrenModelCount"].dropna(subset=["total"])
    rows = rows[rows["total"] > 0].sort_values(["total", "base"], ascending=[False, True]).head(top)
    if rows.empty:
        return "<p>The Hub reported no derivatives for the models whose derivatives were counted.</p>"
    cols = {"base": "Base model", "finetune": "Fine-tunes", "adapter": "Adapters", "quantized": "Quantised",
            "merge": "Merges", "total": "Total"}
    return table_html(rows, cols, {c: fmt_count for c in cols if c != "base"}, numeric=tuple(c for c in cols if c != "base"))


def openness_table(openness) -> str:
    """Licence tiers per bloc, as shares of the bloc's 30-day downloads."""
    cols = {"group": "Bloc", "models": "Models", "osi_share": "OSI-approved", "open_non_osi_share": "Open, non-OSI",
            "open_weight_restricted_share": "Restricted", "unknown_share": "Unknown", "fully_open_share": "Fully open"}
    shares = [c for c in cols if c.endswith("_share")]
    return table_html(openness.rows, cols, {c: fmt_share for c in shares}, numeric=("models", *shares))


def anomalies_table(odd: pd.DataFrame) -> str:
    return table_html(odd, {"id": "Model", "kind": "Anomaly", "detail": "Detail"})


def tracked_queries(data: BriefData) -> set[str] | None:
    """The listing queries the snapshot ran (so a model can only 'vanish' from a query run again)."""
    orgs = data.snapshot.meta.get("tracked_orgs")
    return {f"author={o}" for o in orgs} if orgs else None


def model_facts(data: BriefData, model_id: str) -> list[tuple[str, str]]:
    """What the snapshot says of one model, as (item, value) rows; missing fields say so."""
    from openbrief.metrics import TIER_LABELS, license_tier, size_class

    rows = data.everything[data.everything["id"] == model_id]
    if rows.empty:
        return [("Model", f"{model_id} is not in snapshot {data.snapshot.id}")]
    m = rows.iloc[0]
    params = m["params_total"]
    tier = license_tier(None if pd.isna(m["license"]) else m["license"])
    facts = [
        ("Model", model_id),
        ("Organisation", f"{m['org']} ({m['org_type']})"),
        ("Country / bloc", f"{m['country']} / {m['bloc']}"),
        ("Downloads, last 30 days", fmt_count(m["downloads"])),
        ("Downloads, all time", fmt_count(m["downloads_all_time"])),
        ("Likes", fmt_count(m["likes"])),
        ("Created", fmt_date(m["created_at"])),
        ("Licence", f"{'–' if pd.isna(m['license']) else m['license']} ({TIER_LABELS.get(tier, tier)})"),
        ("Parameters", "not published" if pd.isna(params) else f"{fmt_count(params)} ({size_class(params)})"),
    ]
    if isinstance(m["base_models"], list) and m["base_models"]:
        facts.append(("Built on", f"{', '.join(m['base_models'])} ({m['base_relation'] or 'relation unknown'})"))
    return facts


def show_facts(rows: list[tuple[str, str]]) -> None:
    show_html(table_html(pd.DataFrame(rows, columns=["item", "value"]), {"item": "", "value": ""},
                         css_class="ob-table ob-facts"))


def side_by_side(groups: list[str], **results) -> pd.DataFrame:
    """One row per group, one column per named metric value: ``name=(result, column)``.

    Groups a metric has no row for get a missing value, never 0.
    """
    frame = pd.DataFrame({"group": groups})
    for name, (result, column) in results.items():
        values = result.rows.drop_duplicates("group").set_index("group")[column]
        frame[name] = frame["group"].map(values)
    return frame


def period_note(period) -> str | None:
    """Why downloads in the period are missing, when they are (never shown as zero)."""
    cov = period.coverage
    if cov.get("ok"):
        share = cov.get("ok_share")
        return None if share is None or share >= 0.99 else (
            f"Downloads in the period are known for {cov['ok']} of {cov['models']} models ({fmt_share(share)}); "
            "the others lack a cumulative download count (downloadsAllTime) in one of the snapshots and are left "
            "out, not counted as zero.")
    return ("Downloads in the period cannot be computed: they need cumulative download counts (downloadsAllTime) "
            f"in both snapshots, and the source returned none for {cov.get('missing', 0)} of {cov.get('models', 0)} "
            "models. They are shown as missing, not as zero.")


def licence_note(openness) -> str | None:
    """Say so when the snapshot carries no licence at all (e.g. a source without tags)."""
    cov = openness.coverage
    if cov.get("models") and not cov.get("models_with_license"):
        return ("No model in this snapshot carries a licence tag (the source returned no tags), "
                "so every licence tier below is 'unknown'.")
    return None


def relative_adoption_html(ram) -> str:
    """The latest Relative Adoption Metric of each model, or why it could not be computed."""
    cov = ram.coverage
    rows = ram.rows.dropna(subset=["ram"])
    if rows.empty:
        return ("<p>The Relative Adoption Metric (ATOM v2) could not be computed for any model yet: it compares "
                "cumulative downloads at the same day since release with the 10th model of the same size class, "
                f"and needs more history. This store holds {cov.get('snapshots', 0)} snapshot(s); "
                f"{cov.get('models_missing_params', 0)} of {cov.get('models', 0)} models have no parameter count, and "
                f"{cov.get('models_without_downloads_all_time', 0)} of the others no cumulative downloads.</p>")
    latest = rows.sort_values("day").groupby("id", as_index=False).last()
    latest = latest.sort_values(["ram", "id"], ascending=[False, True]).head(10)
    return table_html(latest, {"id": "Model", "size_class": "Size class", "day": "Days since release",
                               "cumulative": "Downloads (all time)", "ram": "RAM"},
                      {"cumulative": fmt_count, "ram": lambda v: f"{float(v):.2f}"},
                      numeric=("day", "cumulative", "ram"))


def group_colors(groups, by: str) -> dict[str, str] | None:
    """Chart colours for groups: a country takes its bloc's colour (FR and DE share the EU's)."""
    if by != "country":
        return None
    from openbrief.charts import bloc_color
    from openbrief.registry import bloc_of

    return {g: bloc_color(g if g == "unattributed" else bloc_of(g)) for g in groups}
