"""Categories and definitions in the briefs (issue 12): ``metrics.select``, ``metrics.by_category``,
the weekly brief's first line, "By category" and "Definitions matter", ``-p category`` on every
notebook, ``openbrief metrics --category`` and ``openbrief metrics definitions``.

Expected figures are direct sums over the snapshot's rows, written out here; the synthetic world
(``world``) has text-generation models (category llm) and text-to-image ones (image-generation).
"""
from __future__ import annotations

import html
import json
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from openbrief import brief, metrics, registry
from openbrief.brief import findings
from openbrief.errors import UsageError
from openbrief.render import params
from openbrief.replay import ReplayHub, synthetic
from openbrief.replay.recordings import write_jsonl
from openbrief.store.schema import conform
from clirun import FETCH_ARGS, clean_env, must, one_clear_error, openbrief, run_main

SHARES = ("CN", "US", "EU", "rest", "unattributed")


def table(rows: list[dict]) -> pd.DataFrame:
    """Hand-made models, attributed by the shipped registry."""
    return registry.attribute(conform(pd.DataFrame([{"snapshot_id": "s", **r} for r in rows])))


def pdf_text(pdf: Path) -> str:
    return " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())


def html_tables(notebook: Path, header: str) -> list[list[str]]:
    """The body rows (cell texts) of the executed notebook's HTML table whose headers include ``header``."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("data", {}).get("text/html", "")
            if f">{header}</th>" in text and "<tbody>" in text:
                body = text.split("<tbody>", 1)[1]
                return [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
                        for row in re.findall(r"<tr>(.*?)</tr>", body)]
    raise AssertionError(f"no table with header {header!r} in {notebook}")


def direct_shares(models: pd.DataFrame) -> dict[str, float]:
    """Headline shares of 30-day downloads by publisher bloc, summed directly."""
    counted = models.dropna(subset=["downloads"])
    total = float(counted["downloads"].sum())
    bloc = counted["bloc"].fillna("unattributed")
    out = {b: float(counted.loc[bloc == b, "downloads"].sum()) / total for b in ("CN", "US", "EU", "unattributed")}
    out["rest"] = float(counted.loc[~bloc.isin(["CN", "US", "EU", "unattributed"]), "downloads"].sum()) / total
    return out


@pytest.fixture(scope="module")
def world_models(world):
    """The world's models of the tracked publishers (what the briefs and exports count by default)."""
    return metrics.select_universe(brief.load(world.snapshot, str(world.store)).models, "tracked")


# ----------------------------------------------------------------- selection and by-category

ROWS = [
    {"id": "Qwen/chat", "namespace": "Qwen", "pipeline_tag": "text-generation", "library_name": "transformers",
     "downloads": 600},
    {"id": "Qwen/chat-GGUF", "namespace": "Qwen", "pipeline_tag": "text-generation", "library_name": "gguf",
     "tags": ["gguf"], "downloads": 100},
    {"id": "meta-llama/chat", "namespace": "meta-llama", "pipeline_tag": "text-generation", "downloads": 300},
    {"id": "sentence-transformers/embed", "namespace": "sentence-transformers", "pipeline_tag": "feature-extraction",
     "downloads": 5000},
    {"id": "mistralai/embed", "namespace": "mistralai", "pipeline_tag": "feature-extraction", "downloads": 1000},
    {"id": "nobody-knows/notag", "namespace": "nobody-knows", "downloads": 40},
    {"id": "nobody-knows/chat", "namespace": "nobody-knows", "pipeline_tag": "text-generation"},  # no count
]


def test_select_keeps_the_category_or_universe_asked_for():
    models = table(ROWS)
    chosen = {c: set(metrics.select(models, c)["id"]) for c in metrics.SELECTIONS}
    assert chosen["llm"] == {"Qwen/chat", "Qwen/chat-GGUF", "meta-llama/chat", "nobody-knows/chat"}
    assert chosen["llm-curated"] == {"Qwen/chat", "meta-llama/chat", "nobody-knows/chat"}  # no GGUF conversion
    assert chosen["embedding"] == {"sentence-transformers/embed", "mistralai/embed"}
    assert chosen["unknown"] == {"nobody-knows/notag"}
    assert chosen["vision"] == set() and chosen["all"] == set(models["id"])
    with pytest.raises(UsageError) as err:
        metrics.select(models, "chatbots")
    assert all(name in str(err.value) for name in metrics.SELECTIONS)


def test_every_notebook_declares_category_with_the_selections():
    assert params.CATEGORY_CHOICES == metrics.SELECTIONS  # render knows no metric: kept equal here
    for notebook in params.NOTEBOOKS:
        spec = {p.name: p for p in params.specs(notebook)}["category"]
        assert set(metrics.SELECTIONS) <= set(spec.choices), notebook
    assert params.defaults("weekly")["category"] == "llm"
    assert params.defaults("spotlight")["category"] == "own"


def test_by_category_is_the_direct_sum_within_each_category():
    models = table(ROWS)
    result = metrics.by_category(models)
    rows = result.rows.set_index("category")
    assert list(rows.index) == ["llm", "embedding", "unknown"]  # CATEGORIES order, empty ones left out
    llm_total = 600 + 100 + 300
    assert rows.loc["llm", "CN"] == pytest.approx(700 / llm_total)
    assert rows.loc["llm", "US"] == pytest.approx(300 / llm_total)
    assert rows.loc["llm", "downloads_30d"] == llm_total and rows.loc["llm", "models"] == 3
    assert rows.loc["embedding", "EU"] == pytest.approx(1000 / 6000)
    assert rows.loc["unknown", "unattributed"] == pytest.approx(1.0)
    for category, row in rows.iterrows():
        assert sum(float(row[c]) for c in SHARES) == pytest.approx(1.0), category
    assert rows.loc["llm", "top_model"] == "Qwen/chat"
    assert rows.loc["embedding", "top_model"] == "sentence-transformers/embed"
    assert result.coverage["models_without_pipeline_tag"] == 1
    assert "vision" in result.coverage["categories_without_models"]
    notes = brief.category_notes(result)
    assert "1 of 7 models carry no pipeline tag" in notes[0] and "vision" in notes[1]


def test_a_table_without_pipeline_tags_says_categories_cannot_be_told_apart():
    untagged = table([{k: v for k, v in r.items() if k not in ("pipeline_tag", "library_name", "tags")}
                      for r in ROWS])
    result = metrics.by_category(untagged)
    assert list(result.rows["category"]) == ["unknown"]
    assert brief.category_notes(result) == [
        "None of the 7 models carries a pipeline tag (the source returned none), so their categories cannot be "
        "told apart: every model is 'unknown', and no chart by category is drawn."]
    assert metrics.select(untagged, "llm").empty
    empty = metrics.download_share(metrics.select(untagged, "llm"), by="bloc")
    line = findings.scope_line("llm", empty, metrics.download_share(untagged, by="bloc"))
    assert line.startswith("This brief leads with generative models (llm), but none of the 7 models")


# ----------------------------------------------------------------- the CLI exports

def test_download_share_category_llm_is_the_direct_sum(world, world_models, inproc, capsys):
    code, out, _ = run_main(["metrics", "download-share", "--store", world.store, "--category", "llm",
                             "--format", "json"], capsys)
    assert code == 0
    got = json.loads(out)
    assert got["category"] == "llm"
    llm = world_models[world_models["pipeline_tag"] == "text-generation"]
    counted = llm.dropna(subset=["downloads"])
    by_bloc = counted.groupby(counted["bloc"].fillna("unattributed"))["downloads"].sum() / counted["downloads"].sum()
    shares = {r["group"]: r["share"] for r in got["rows"]}
    assert set(by_bloc.index) <= set(shares)
    assert shares == pytest.approx({g: float(by_bloc.get(g, 0.0)) for g in shares})
    code, out, _ = run_main(["metrics", "download-share", "--store", world.store, "--format", "json"], capsys)
    every = world_models.dropna(subset=["downloads"])  # the default stays all models
    assert sum(r["downloads_30d"] for r in json.loads(out)["rows"]) == int(every["downloads"].sum())


def test_definitions_export_is_the_direct_sums_and_what_the_brief_shows(world, world_models, inproc, capsys):
    code, out, _ = run_main(["metrics", "definitions", "--store", world.store, "--format", "json"], capsys)
    assert code == 0
    rows = {r["definition"]: r for r in json.loads(out)["rows"]}
    assert list(rows) == [d.name for d in metrics.DEFINITIONS]
    models = world_models
    expected = {"all": models, "llm": models[models["pipeline_tag"] == "text-generation"],
                "no-intermediaries": models[~models["is_intermediary"].astype(bool)]}
    for name, subset in expected.items():
        assert {c: rows[name][c] for c in SHARES} == pytest.approx(direct_shares(subset)), name
        assert rows[name]["downloads_30d"] == int(subset["downloads"].sum())
    shown = {r[0]: r for r in html_tables(world.pdf.parent / "weekly.ipynb", "Attribution")}
    for name, row in rows.items():  # Definition, Attribution, Models, Downloads, then the five shares
        assert shown[name][2] == str(row["models"])
        assert shown[name][4:9] == [brief.fmt_share(row[c]) for c in SHARES], name
    code, out, _ = run_main(["metrics", "definitions", "--store", world.store, "--format", "csv"], capsys)
    assert out.splitlines()[0].startswith("definition,description,attribution,models,downloads_30d,CN,US,EU")
    assert len(out.splitlines()) == 1 + len(rows)


# ----------------------------------------------------------------- the weekly brief

def test_weekly_leads_with_generative_models_and_shows_categories_and_definitions(world, world_models):
    text = pdf_text(world.pdf)
    findings_text = text[text.lower().index("key findings"):]
    assert findings_text[len("key findings"):].strip().startswith("This brief leads with generative models (llm):")
    first = findings_text.split("•")[1]
    assert first.strip().startswith("Among generative models (llm), tracked publishers:")
    llm = world_models[world_models["pipeline_tag"] == "text-generation"]
    lead = max(direct_shares(llm).items(), key=lambda kv: kv[1])
    assert f"holds {brief.fmt_share(lead[1])}" in first
    for section in ("By category", "Definitions matter", "Share of 30-day downloads by bloc within each category",
                    "Depending on the definition, China's share of 30-day downloads ranges from"):
        assert section in text
    assert "No data" not in text  # no empty chart
    notebook = world.pdf.parent / "weekly.ipynb"
    by_category = {r[0]: r for r in html_tables(notebook, "Category")}  # the first: By category's shares
    assert set(by_category) == {"llm", "image-generation"}
    for category, row in by_category.items():  # Category, Models, Downloads, then the five shares
        assert sum(float(v.rstrip("%")) for v in row[3:8]) == pytest.approx(100, abs=0.3), category
    images = world_models[world_models["pipeline_tag"] == "text-to-image"]
    assert by_category["image-generation"][3:8] == [brief.fmt_share(direct_shares(images)[c]) for c in SHARES]
    leaders = {r[0]: r[1] for r in html_tables(notebook, "Top model")}
    assert leaders["image-generation"] == images.sort_values(["downloads", "id"], ascending=[False, True]).iloc[0]["id"]
    assert leaders["image-generation"] in text


def test_untagged_snapshot_says_so_and_draws_no_empty_chart(tmp_path, hf_home):
    env = clean_env(hf_home)
    records = synthetic.generate(datetime(2026, 11, 20, tzinfo=timezone.utc), seed=3)
    for r in records:
        for key in ("pipeline_tag", "library_name"):
            r.pop(key, None)
    store, briefs = tmp_path / "store", tmp_path / "briefs"
    with ReplayHub(write_jsonl(records, tmp_path / "records.jsonl"), page_size=25) as hub:
        must(openbrief("fetch", "--endpoint", hub.url, "--store", store, "--quiet", *FETCH_ARGS, env=env))
    built = must(openbrief("build", "weekly", "--store", store, "--briefs", briefs, "--quiet", env=env))
    text = pdf_text(Path(built.stdout.strip().splitlines()[-1]))
    assert "This brief leads with generative models (llm), but none of the" in text
    assert "carries a pipeline tag (the source returned none)" in text
    assert "No model among generative models (llm), tracked publishers has a download count" in text
    assert "No data" not in text and "within each category:" not in text


# ----------------------------------------------------------------- spotlight and compare

def test_spotlight_and_compare_honour_category(world, world_models, tmp_path):
    models = world_models
    llm = models[(models["pipeline_tag"] == "text-generation") & models["params_total"].notna()]
    subject = llm.sort_values(["downloads", "id"], ascending=[False, True]).iloc[0]["id"]
    built = must(openbrief("build", "spotlight", "--store", world.store, "--briefs", tmp_path / "a", "--quiet",
                           "-p", "model", subject, env=world.env))
    text = pdf_text(Path(built.stdout.strip().splitlines()[-1]))
    assert f"{subject} is in category llm; its peers are generative models (llm), tracked publishers." in text
    assert "Category llm: language models" in text
    images = models[models["pipeline_tag"] == "text-to-image"]
    built = must(openbrief("build", "compare", "--store", world.store, "--briefs", tmp_path / "b", "--quiet",
                           "-p", "category", "image-generation", "-p", "groups", "EU,US", env=world.env))
    text = pdf_text(Path(built.stdout.strip().splitlines()[-1]))
    assert "The groups side by side, image-generation models (image-generation), tracked publishers:" in text
    assert brief.fmt_share(direct_shares(images)["EU"]) in text


# ----------------------------------------------------------------- bad input

@pytest.mark.parametrize("argv, says", [
    (["metrics", "download-share", "--category", "chatbots"], "invalid choice: 'chatbots'"),
    (["metrics", "definitions", "--category", "llm"], "--category does not apply to definitions"),
    (["build", "weekly", "-p", "category", "chatbots"], "parameter category: 'chatbots' is not one of"),
    (["build", "compare", "-p", "category", "own"], "parameter category: 'own' is not one of"),
])
def test_an_unknown_category_is_bad_input_with_the_valid_ones(world, inproc, capsys, argv, says):
    code, _, err = run_main([*argv, "--store", world.store], capsys)
    assert code == 2
    line = one_clear_error(err)
    assert says in line
    if "does not apply" not in says:
        assert all(name in line for name in metrics.SELECTIONS)
