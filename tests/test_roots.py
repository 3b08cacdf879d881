"""The whole Hub: lineage to the root, root families, whole-Hub shares, universes, the registry's
``individual`` type, and the recorded listings (``shared/hubdata``, skipped when absent).

Hand-made rows use namespaces of the shipped registry: Qwen, google, meta-llama, zai-org (alias
THUDM) are organisations; unsloth and bartowski intermediaries; jonatasgrosman an individual;
every ``someone-*``/``nobody-*`` namespace is unknown.
"""
from __future__ import annotations

import glob
import json
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from clirun import one_clear_error, run_main
from openbrief import metrics, registry
from openbrief.brief.foundations import foundations_chart_data, foundations_numbers, foundations_sentence
from openbrief.store.schema import RELATIONS, conform
from openbrief.store.snapshot import write_snapshot

WHEN = datetime(2026, 9, 28, 6, 0, tzinfo=timezone.utc)
NEW = "2026-09-27T12:00:00Z"  # created in the week before WHEN
OLD = "2025-01-01T00:00:00Z"


def table(rows: list[dict]) -> pd.DataFrame:
    """Hand-made models in the snapshot schema, attributed and with roots."""
    base = {"snapshot_id": "hand", "created_at": NEW, "downloads": 10}
    frame = conform(pd.DataFrame([{**base, **r} for r in rows]))
    return metrics.with_roots(registry.attribute(frame))


CHAIN = [
    {"id": "Qwen/Qwen3-8B", "created_at": OLD},
    {"id": "unsloth/Qwen3-8B", "base_models": ["Qwen/Qwen3-8B"], "base_relation": "quantized"},      # re-upload
    {"id": "someone-x/Qwen3-8B-ft", "base_models": ["unsloth/Qwen3-8B"], "base_relation": "finetune"},  # unknown
    {"id": "bartowski/Qwen3-8B-ft-GGUF", "base_models": ["someone-x/Qwen3-8B-ft"], "base_relation": "quantized"},
    {"id": "jonatasgrosman/ft-of-ft", "base_models": ["someone-x/Qwen3-8B-ft"], "base_relation": "finetune"},
    {"id": "someone-w/direct", "base_models": ["Qwen/Qwen3-8B"], "base_relation": "adapter"},
    {"id": "loop-a/m", "base_models": ["loop-b/m"], "base_relation": "finetune"},
    {"id": "loop-b/m", "base_models": ["loop-a/m"], "base_relation": "finetune"},
    {"id": "someone-y/m", "base_models": ["nobody-z/base"], "base_relation": "finetune"},   # base not in the table
    {"id": "someone-y/m2", "base_models": ["nobody-q/base"], "base_relation": "finetune"},
    {"id": "nobody-q/base", "created_at": OLD},                                             # unknown, no base
    {"id": "someone-y/m3", "base_models": ["unsloth/missing-bnb-4bit"], "base_relation": "finetune"},
    {"id": "someone-m/merge", "base_models": ["google/gemma-3-4b-it", "Qwen/Qwen3-8B"], "base_relation": "merge"},
    {"id": "someone-v/llama-ft", "base_models": ["meta-llama/Llama-3.1-8B"], "base_relation": "finetune"},
    {"id": "someone-v/t5-ft", "base_models": ["google/flan-t5-base"], "base_relation": "finetune"},
    {"id": "someone-v/glm-ft", "base_models": ["THUDM/glm-4-9b"], "base_relation": "finetune"},
]


@pytest.fixture
def chain() -> pd.DataFrame:
    return table(CHAIN).set_index("id")


def _root(chain, model_id):
    row = chain.loc[model_id]
    return (row["root_id"], row["root_org"], row["root_bloc"], row["lineage_depth"], row["lineage_status"])


def test_chains_resolve_to_the_root_through_intermediaries_quantisations_and_fine_tunes(chain):
    # GGUF of an unknown fine-tune of an unsloth re-upload of Qwen: 3 hops, intermediaries passed through
    assert _root(chain, "bartowski/Qwen3-8B-ft-GGUF")[2:] == ("CN", 3, "resolved")
    assert chain.loc["bartowski/Qwen3-8B-ft-GGUF", "root_id"] == "Qwen/Qwen3-8B"
    assert chain.loc["bartowski/Qwen3-8B-ft-GGUF", "root_org"] == registry.lookup("Qwen").organisation
    assert _root(chain, "jonatasgrosman/ft-of-ft")[0::4] == ("Qwen/Qwen3-8B", "resolved")  # fine-tune of a fine-tune
    assert chain.loc["jonatasgrosman/ft-of-ft", "lineage_depth"] == 3
    assert _root(chain, "unsloth/Qwen3-8B")[2:] == ("CN", 1, "resolved")
    assert _root(chain, "someone-w/direct")[2:] == ("CN", 1, "resolved")
    assert _root(chain, "someone-v/glm-ft")[2:] == ("CN", 1, "resolved")   # THUDM is an alias of zai-org
    assert _root(chain, "Qwen/Qwen3-8B")[4] == "no-base"
    assert pd.isna(chain.loc["Qwen/Qwen3-8B", "root_id"]) and pd.isna(chain.loc["Qwen/Qwen3-8B", "root_bloc"])
    # the direct-base attribution passes through intermediaries and individuals only, never an unknown namespace
    assert chain.loc["unsloth/Qwen3-8B", "base_bloc"] == "CN"
    assert chain.loc["bartowski/Qwen3-8B-ft-GGUF", "base_bloc"] == metrics.UNATTRIBUTED


def test_a_cycle_and_unresolved_chains(chain):
    assert _root(chain, "loop-a/m") == ("loop-b/m", "unattributed", "unattributed", 1, "cycle")
    assert _root(chain, "loop-b/m")[3:] == (1, "cycle")
    assert _root(chain, "someone-y/m") == ("nobody-z/base", "unattributed", "unattributed", 1, "unresolved")
    assert _root(chain, "someone-y/m2") == ("nobody-q/base", "unattributed", "unattributed", 1, "unresolved")
    assert _root(chain, "someone-y/m3") == ("unsloth/missing-bnb-4bit", "unattributed", "unattributed", 1, "unresolved")
    assert set(chain["lineage_status"]) == set(registry.LINEAGE_STATUSES)


def test_a_merge_takes_its_first_declared_base(chain):
    assert _root(chain, "someone-m/merge")[0::2] == ("google/gemma-3-4b-it", "US", "resolved")
    assert chain.loc["someone-m/merge", "root_family"] == "Gemma"


def test_root_families(chain):
    expected = {"bartowski/Qwen3-8B-ft-GGUF": "Qwen", "someone-v/llama-ft": "Llama", "someone-v/glm-ft": "GLM",
                "someone-m/merge": "Gemma", "someone-v/t5-ft": metrics.OTHER_FAMILY,
                "loop-a/m": metrics.UNATTRIBUTED, "someone-y/m": metrics.UNATTRIBUTED}
    assert {i: chain.loc[i, "root_family"] for i in expected} == expected
    assert pd.isna(chain.loc["Qwen/Qwen3-8B", "root_family"])
    rules = metrics.load_families()
    assert set(rules.columns) == {"namespace", "pattern", "family", "reason"} and rules["reason"].str.len().gt(0).all()
    unknown = [n for n in rules["namespace"] if registry.lookup(n) is None or not registry.lookup(n).is_origin]
    assert unknown == []  # every family's namespace is an organisation of the registry


def test_the_walk_is_vectorised_over_a_long_table():
    """10,000 chains of depth 4 resolve in four joins (no per-row loop would be asked to scale further)."""
    rows = [{"id": "Qwen/root", "created_at": OLD}]
    for i in range(10_000):
        rows += [{"id": f"unsloth/r{i}", "base_models": ["Qwen/root"]},
                 {"id": f"someone-{i}/ft", "base_models": [f"unsloth/r{i}"]},
                 {"id": f"bartowski/ft{i}", "base_models": [f"someone-{i}/ft"]},
                 {"id": f"mradermacher/ft{i}", "base_models": [f"bartowski/ft{i}"]}]
    got = table(rows)
    deepest = got[got["id"].str.startswith("mradermacher/")]
    assert (deepest["lineage_depth"] == 4).all() and (deepest["root_id"] == "Qwen/root").all()


# ---------------------------------------------------------------- foundations by root

def _by_hand(rows, key) -> dict:
    """Share of each ``key(row)`` among hand-made rows created in the week that declare a base."""
    chosen = [r for r in rows if r["created_at"] == NEW and r.get("base_models")]
    groups = [key(r) for r in chosen]
    return {g: groups.count(g) / len(groups) for g in set(groups)}


def test_root_foundations_equal_direct_counts(chain):
    models = chain.reset_index()
    lo, hi = WHEN - pd.Timedelta(days=7), WHEN
    rows = [{"created_at": NEW, **r} for r in CHAIN]
    bloc = {r["id"]: chain.loc[r["id"], "root_bloc"] for r in rows}
    got = metrics.root_foundations(models, lo, hi, by="bloc")
    assert got.rows.set_index("group")["share"].to_dict() == pytest.approx(_by_hand(rows, lambda r: bloc[r["id"]]))
    assert got.coverage["in_window_declaring_base"] == sum(bool(r.get("base_models")) for r in rows
                                                           if r["created_at"] == NEW)
    fam = metrics.root_foundations(models, lo, hi, by="family").rows.set_index("group")["models"].to_dict()
    assert fam["Qwen"] == sum(chain.loc[r["id"], "root_family"] == "Qwen" for r in rows if r["created_at"] == NEW)
    by_rel = metrics.root_foundations(models, lo, hi, by="bloc", split="relation").rows
    merges = by_rel[by_rel["relation"] == "merge"]
    assert merges[["group", "models", "share"]].values.tolist() == [["US", 1, 1.0]]
    assert by_rel.groupby("relation")["share"].sum().tolist() == pytest.approx([1.0] * by_rel["relation"].nunique())
    assert "first declared base" in got.definition


def test_foundations_by_publisher_origin_count_organisations_only():
    rows = [{"id": "Qwen/base", "created_at": OLD}, {"id": "meta-llama/base", "created_at": OLD},
            {"id": "nvidia/on-qwen", "base_models": ["Qwen/base"]}, {"id": "microsoft/on-qwen", "base_models": ["Qwen/base"]},
            {"id": "google/on-llama", "base_models": ["meta-llama/base"]},
            {"id": "jonatasgrosman/on-qwen", "base_models": ["Qwen/base"]},       # an individual: left out
            {"id": "someone-x/on-llama", "base_models": ["meta-llama/base"]}]    # unknown: left out
    models = table(rows)
    got = metrics.root_foundations(models, WHEN - pd.Timedelta(days=7), WHEN, by="bloc", split="publisher")
    us = got.rows[got.rows["publisher"] == "US"].set_index("group")["share"].to_dict()
    assert us == {"CN": 2 / 3, "US": 1 / 3}
    assert got.coverage["publisher_not_an_organisation"] == 2
    numbers = foundations_numbers(models, WHEN - pd.Timedelta(days=7), WHEN)
    assert numbers["us_derivatives"] == 3 and numbers["us_on_chinese_roots_share"] == pytest.approx(2 / 3)
    assert numbers["bloc_shares"] == pytest.approx({"CN": 3 / 5, "US": 2 / 5})
    sentence = foundations_sentence(numbers)
    assert sentence.startswith("Of the 5 new models of the period that declare a base model, 60.0% are built on "
                               "Chinese roots and 40.0% on American roots")
    assert "66.7% of the 3 published by US organisations are built on Chinese roots" in sentence
    chart = foundations_chart_data(models, WHEN - pd.Timedelta(days=7), WHEN, top_families=1)
    assert chart["by_family"][["group", "models"]].values.tolist() == [["Qwen", 3], ["other families", 2]]
    assert foundations_sentence({**numbers, "new_derivatives": 0}).startswith("No new model of the period")


# ---------------------------------------------------------------- whole-Hub download shares

def test_origin_shares_equal_direct_sums():
    rows = [{"id": "Qwen/base", "downloads": 1000, "created_at": OLD},
            {"id": "meta-llama/base", "downloads": 500, "created_at": OLD},
            {"id": "unsloth/qwen-gguf", "downloads": 300, "base_models": ["Qwen/base"]},
            {"id": "jonatasgrosman/llama-ft", "downloads": 200, "base_models": ["meta-llama/base"]},
            {"id": "someone-x/qwen-ft", "downloads": 100, "base_models": ["unsloth/qwen-gguf"]},
            {"id": "someone-y/own", "downloads": 50},
            {"id": "someone-z/lost", "downloads": 25, "base_models": ["nobody/gone"]},
            {"id": "google/none", "downloads": None}]
    models = table(rows)
    got = metrics.origin_shares(models).rows.set_index("group")
    total = sum(r["downloads"] or 0 for r in rows)
    publisher = {"CN": 1000, "US": 500, "intermediary": 300, "individual": 200, "unattributed": 100 + 50 + 25}
    lineage = {"CN": 1000 + 300 + 100, "US": 500 + 200, "unattributed": 50 + 25}
    for g in set(publisher) | set(lineage):
        assert got.loc[g, "publisher_share"] == pytest.approx(publisher.get(g, 0) / total), g
        assert got.loc[g, "lineage_share"] == pytest.approx(lineage.get(g, 0) / total), g
    coverage = metrics.origin_shares(models).coverage
    assert coverage["publisher_unattributed_share"] == pytest.approx(175 / total)
    assert coverage["lineage_unattributed_share"] == pytest.approx(75 / total)
    assert coverage["models_missing_downloads"] == 1


def test_origin_shares_on_the_recorded_listing_and_the_attributed_share(hubdata):
    records = json.loads((hubdata / "trending-2026-08" / "2026-08-22.json").read_text())["models"]
    frame = conform(pd.DataFrame([{"id": r["id"], "downloads": r.get("downloads"), "snapshot_id": "rec"}
                                  for r in records]))
    models = metrics.with_roots(registry.attribute(frame))
    got = metrics.origin_shares(models).rows.set_index("group")
    reg = registry.load()
    by_group: dict[str, int] = {}
    for r in records:
        entry = reg.lookup(r["id"].split("/")[0]) if "/" in r["id"] else None
        group = "unattributed" if entry is None else (entry.org_type if not entry.is_origin else entry.bloc)
        by_group[group] = by_group.get(group, 0) + (r.get("downloads") or 0)
    total = sum(by_group.values())
    assert got["publisher_share"].to_dict() == pytest.approx({g: v / total for g, v in by_group.items()})
    attributed = 1 - by_group.get("unattributed", 0) / total
    assert attributed >= 0.85, f"attributed or typed: {attributed:.1%} of the listing's 30-day downloads"
    print(f"2026-08-22 listing: {attributed:.1%} of {total:,} 30-day downloads attributed or typed")


# ---------------------------------------------------------------- derivative counts never mislead

def test_listed_derivative_totals_are_marked_lower_bounds():
    rows = [{"id": "Qwen/counted", "children_total": 40, "children_finetune": 40, "children_adapter": 0,
             "children_quantized": 0, "children_merge": 0},
            {"id": "Qwen/listed"},
            {"id": "someone-x/a", "base_models": ["Qwen/listed"], "base_relation": "finetune"},
            {"id": "someone-x/b", "base_models": ["Qwen/listed"], "base_relation": "quantized"},
            {"id": "someone-x/c", "base_models": ["Qwen/counted"], "base_relation": "finetune"}]
    by_base = metrics.derivatives_by_base(metrics.derivatives(table(rows))).rows.set_index("base")
    assert by_base.loc["Qwen/counted", ["total", "source", "lower_bound"]].tolist() == [40, "childrenModelCount", False]
    assert by_base.loc["Qwen/listed", ["total", "source", "lower_bound"]].tolist() == [2, "listed", True]
    texts = [metrics.count_text(t, b) for t, b in zip(by_base["total"], by_base["lower_bound"])]
    assert dict(zip(by_base.index, texts)) == {"Qwen/counted": "40", "Qwen/listed": "at least 2"}
    assert metrics.count_text(pd.NA, pd.NA) == "unknown" and metrics.count_text(12345, True) == "at least 12,345"
    assert metrics.count_text(12345, True, lang="ja") == "12,345以上"


# ---------------------------------------------------------------- universes, and --universe on the CLI

CENSUS = [
    {"id": "Qwen/a", "downloads": 900, "listed_by": ["author=Qwen", "hub-top"]},
    {"id": "Qwen/b", "downloads": 100, "listed_by": ["author=Qwen"]},
    {"id": "someone-x/popular", "downloads": 500, "listed_by": ["hub-top"]},
    {"id": "someone-x/fresh", "downloads": 1, "listed_by": ["new"], "base_models": ["Qwen/a"],
     "base_relation": "finetune"},
    {"id": "unsloth/a", "downloads": 7, "listed_by": ["ancestor"]},
]


def test_select_universe():
    census = conform(pd.DataFrame(CENSUS))
    ids = {u: list(metrics.select_universe(census, u)["id"]) for u in metrics.HUB_UNIVERSES}
    assert ids == {"tracked": ["Qwen/a", "Qwen/b"], "hub-top": ["Qwen/a", "someone-x/popular"],
                   "new": ["someone-x/fresh"]}
    old = census.drop(columns=["listed_by"])
    assert len(metrics.select_universe(old, "tracked")) == len(old)
    with pytest.raises(ValueError, match="no whole-Hub census"):
        metrics.select_universe(old, "hub-top")
    with pytest.raises(ValueError, match="expected one of tracked, hub-top, new"):
        metrics.select_universe(census, "everything")


def _store(tmp_path, rows):
    frame = pd.DataFrame([{"created_at": NEW, **r} for r in rows])
    return write_snapshot(tmp_path, {"models": frame}, {"endpoint": "hand-made"}, WHEN)


def _export(capsys, store, *argv):
    code, out, err = run_main(["metrics", "download-share", "--store", store, "--by", "org", "--format", "json", *argv],
                              capsys)
    assert code == 0, err
    return json.loads(out)


def test_universe_option_exports_each_universe(tmp_path, capsys):
    snap = _store(tmp_path, CENSUS)
    assert "listed_by" in snap.models.columns  # the census column survives the snapshot round trip
    for universe, wanted in (("tracked", ["Qwen/a", "Qwen/b"]), ("hub-top", ["Qwen/a", "someone-x/popular"]),
                             ("new", ["someone-x/fresh"])):
        payload = _export(capsys, tmp_path, "--universe", universe)
        downloads = {r["id"]: r["downloads"] for r in CENSUS}
        assert payload["universe"] == universe
        assert payload["coverage"]["downloads_30d_total"] == sum(downloads[i] for i in wanted)
    assert _export(capsys, tmp_path)["universe"] == "tracked"  # the default

    code, _, err = run_main(["metrics", "download-share", "--store", tmp_path, "--universe", "all"], capsys)
    assert code == 2 and "tracked" in one_clear_error(err) and "hub-top" in err


def test_universe_option_on_an_old_snapshot(tmp_path, capsys):
    _store(tmp_path, [{k: v for k, v in r.items() if k != "listed_by"} for r in CENSUS])
    payload = _export(capsys, tmp_path, "--universe", "tracked")
    assert payload["coverage"]["downloads_30d_total"] == sum(r["downloads"] for r in CENSUS)  # every row is tracked
    code, _, err = run_main(["metrics", "download-share", "--store", tmp_path, "--universe", "hub-top"], capsys)
    assert code == 2 and "no whole-Hub census" in one_clear_error(err)


# ---------------------------------------------------------------- the registry's individuals

def test_an_individual_is_never_given_a_country(tmp_path):
    header = ",".join(registry.COLUMNS)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{header}\nsomeone,someone (individual),US,US,individual,,,no,https://huggingface.co/someone\n")
    _, problems = registry.check(overrides=[bad])
    assert [p.message for p in problems] == ["an individual is never given a country: write 'ZZ', not 'US'"]
    good = tmp_path / "good.csv"
    good.write_text(f"{header}\nsomeone,someone (individual),ZZ,Other,individual,,,no,https://huggingface.co/someone\n")
    reg = registry.load([good])
    assert not reg.lookup("someone").is_origin and "someone" not in registry.tracked_namespaces(reg)
    individuals = [e for e in registry.load() if e.org_type == registry.INDIVIDUAL]
    assert individuals and all(e.country == "ZZ" and e.source for e in individuals)


# ---------------------------------------------------------------- a recorded day of new models

def _new_models(folder) -> pd.DataFrame:
    """The recorded day as models rows: latest row per id; lineage from base_model tags not cut at '…'."""
    frame = pd.concat([pd.read_csv(f) for f in sorted(glob.glob(str(folder / "*.csv")))])
    frame = frame.sort_values("created_at", kind="stable").drop_duplicates("model", keep="last")

    def lineage(tags):
        bases, relation = [], None
        for tag in tags.split("; ") if isinstance(tags, str) else []:
            parts = tag.split(":", 2)
            if tag.endswith("…") or parts[0] != "base_model" or len(parts) < 2:
                continue
            if len(parts) == 3 and parts[1] in RELATIONS:
                bases.append(parts[2])
                relation = relation or parts[1]
            elif len(parts) == 2:
                bases.append(parts[1])
        return list(dict.fromkeys(bases)) or None, relation

    parsed = frame["tags"].map(lineage)
    rows = pd.DataFrame({"id": frame["model"], "namespace": frame["author"], "created_at": frame["created_at"],
                         "downloads": frame["downloads"], "base_models": parsed.str[0],
                         "base_relation": parsed.str[1], "snapshot_id": "recorded"})
    return metrics.with_roots(registry.attribute(conform(rows)))


def test_the_recorded_day_of_new_models(hubdata):
    folder = hubdata / "new-models-2026-09-27"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    models = _new_models(folder)
    declaring = models["base_models"].map(lambda b: b is not None and len(b) > 0)
    assert len(models) == 3504
    share = declaring.mean()
    assert 0.10 < share < 0.30  # PROVENANCE: 17% of rows carry a base_model tag
    # a first base an organisation owns resolves at depth 1, to itself
    first = models["base_models"].map(lambda b: b[0] if b is not None and len(b) else None)
    reg = registry.load()
    direct = first.map(lambda b: isinstance(b, str) and (e := reg.lookup(b.split("/")[0])) is not None
                       and e.is_origin).astype(bool)
    assert (models.loc[direct, "root_id"] == first[direct]).all()
    assert (models.loc[direct, "lineage_depth"] == 1).all()
    resolved = models["lineage_status"] == "resolved"
    assert resolved.sum() >= direct.sum() and (models.loc[declaring, "lineage_status"] != "no-base").all()
    deeper = models[resolved & (models["lineage_depth"] > 1)]
    assert len(deeper) > 0  # chains through the day's own rows (e.g. a GGUF of a fine-tune made that day)
    result = metrics.root_foundations(models, "2026-09-26", "2026-09-28", by="family")
    families = result.rows[~result.rows["group"].isin([metrics.UNATTRIBUTED, metrics.OTHER_FAMILY])]
    assert families.iloc[0]["group"] == "Qwen"
    print(f"new models: {len(models)}, declaring a base {share:.1%}, roots resolved {resolved.sum()} "
          f"of {declaring.sum()} ({len(deeper)} through the day's own rows); "
          + foundations_sentence(foundations_numbers(models, "2026-09-26", "2026-09-28")))


def test_root_foundations_over_time_count_each_snapshot_on_its_own(tmp_path):
    from openbrief.store.history import load_history

    def row(model_id, base=None, created=NEW, listed=("new",)):
        return {"id": model_id, "created_at": created, "listed_by": list(listed),
                **({"base_models": [base], "base_relation": "finetune"} if base else {})}

    weeks = [  # (fetched_at, rows): the census of each week; the third week has no census
        (WHEN - timedelta(days=14), [row("Qwen/Qwen3-8B", created=OLD, listed=["author=Qwen"]),
                                        row("someone-a/ft", "Qwen/Qwen3-8B", "2026-09-12T00:00:00Z"),
                                        row("someone-b/ft", "Qwen/Qwen3-8B", "2026-09-13T00:00:00Z"),
                                        row("someone-c/old", "Qwen/Qwen3-8B", OLD)]),  # before the window
        (WHEN, [row("someone-d/ft", "meta-llama/Llama-3.1-8B"),
                row("someone-e/ft", "unsloth/Qwen3-8B"), row("unsloth/Qwen3-8B", "Qwen/Qwen3-8B", OLD, ["ancestor"]),
                row("someone-f/ft", "nobody-z/base"), row("someone-g/plain")]),
        (WHEN + timedelta(days=7), [row("Qwen/Qwen3-8B", created=OLD, listed=["author=Qwen"])]),
    ]
    for when, rows in weeks:
        write_snapshot(tmp_path, {"models": pd.DataFrame(rows)}, {"endpoint": "hand-made"}, when)
    history = load_history(tmp_path)
    got = metrics.root_foundations_over_time(history, days=7)
    shares = {(t.date().isoformat(), g): s for t, g, s in got[["fetched_at", "group", "share"]].itertuples(index=False)}
    assert shares == pytest.approx({("2026-09-14", "CN"): 1.0,  # two of two; the old one is outside the week
                                    ("2026-09-28", "US"): 1 / 3, ("2026-09-28", "CN"): 1 / 3,
                                    ("2026-09-28", "unattributed"): 1 / 3})
    assert len(got.attrs["coverage"]) == 2  # the week without a census has no rows, not zeros
    with pytest.raises(ValueError, match="positive"):
        metrics.root_foundations_over_time(history, days=0)


def test_period_downloads_takes_the_same_universe_from_the_earlier_snapshot(tmp_path, capsys):
    earlier = [  # a week before: someone-x/popular was new then, someone-y/dropped in the top N
        {"id": "Qwen/a", "downloads_all_time": 5000, "listed_by": ["author=Qwen", "hub-top"]},
        {"id": "Qwen/b", "downloads_all_time": 300, "listed_by": ["author=Qwen"]},
        {"id": "someone-x/popular", "downloads_all_time": 200, "listed_by": ["new"]},
        {"id": "someone-y/dropped", "downloads_all_time": 4000, "listed_by": ["hub-top"]},
    ]
    later = [
        {"id": "Qwen/a", "downloads_all_time": 5900, "listed_by": ["author=Qwen", "hub-top"]},
        {"id": "Qwen/b", "downloads_all_time": 400, "listed_by": ["author=Qwen"]},
        {"id": "someone-x/popular", "downloads_all_time": 900, "listed_by": ["hub-top"]},
    ]
    for when, rows in ((WHEN - timedelta(days=7), earlier), (WHEN, later)):
        rows = [{"created_at": OLD, **r} for r in rows]
        write_snapshot(tmp_path, {"models": pd.DataFrame(rows)}, {"endpoint": "hand-made"}, when)
    code, out, err = run_main(["metrics", "period-downloads", "--store", tmp_path, "--format", "json",
                               "--universe", "hub-top"], capsys)
    assert code == 0, err
    payload = json.loads(out)
    before = {r["id"]: r["downloads_all_time"] for r in earlier}
    top_now = [r for r in later if "hub-top" in r["listed_by"]]
    assert {r["id"]: r["downloads_period"] for r in payload["rows"]} == {
        r["id"]: r["downloads_all_time"] - before[r["id"]] for r in top_now}  # popular: matched, though new then
    left = [r["id"] for r in earlier if "hub-top" in r["listed_by"] and r["id"] not in {m["id"] for m in top_now}]
    assert payload["coverage"]["only_in_earlier"] == len(left) == 1  # Qwen/b was never in the top N
    old = tmp_path / "old"
    for when, census in ((WHEN - timedelta(days=7), False), (WHEN, True)):  # the earlier one holds no census
        rows = [{"created_at": OLD, **{k: v for k, v in r.items() if census or k != "listed_by"}} for r in later]
        write_snapshot(old, {"models": pd.DataFrame(rows)}, {"endpoint": "hand-made"}, when)
    code, _, err = run_main(["metrics", "period-downloads", "--store", old, "--universe", "hub-top"], capsys)
    assert code == 2 and "the earlier snapshot: " in one_clear_error(err) and "no whole-Hub census" in err
