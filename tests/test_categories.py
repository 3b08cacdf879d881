"""Model categories, the llm-curated universe, the "definitions matter" table and `openbrief categories`.

Hand-made rows cover every category and every exclusion rule; the recordings in
``shared/hubdata`` (skipped when absent) check real model ids and the headline figures of
issue 12 on the listing of 2026-08-22. Expected shares are direct sums written out here.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from openbrief import registry
from openbrief.metrics.categories import (CATEGORIES, categorize, check_category, check_universe, in_universe,
                                  load_categories, load_universe, universe_reasons)
from openbrief.metrics.definitions import definitions, spread_sentence
from openbrief.errors import UsageError
from openbrief.replay.recordings import model_tree_records, trending_day_records, trending_folder_records
from openbrief.store.schema import conform
from clirun import one_clear_error, run_main

#: Every pipeline tag of the Hub's task list (huggingface.js packages/tasks/src/pipelines.ts).
HUB_PIPELINE_TAGS = """
biology text-classification token-classification table-question-answering question-answering
zero-shot-classification translation summarization feature-extraction text-generation
text2text-generation fill-mask sentence-similarity text-to-speech text-to-audio
automatic-speech-recognition audio-to-audio audio-classification audio-text-to-text
voice-activity-detection depth-estimation image-classification object-detection image-segmentation
text-to-image image-to-text image-to-image image-to-video unconditional-image-generation
video-classification reinforcement-learning robotics tabular-classification tabular-regression
tabular-to-text table-to-text multiple-choice text-ranking text-retrieval time-series-forecasting
text-to-video image-text-to-text visual-question-answering document-question-answering
zero-shot-image-classification graph-ml mask-generation zero-shot-object-detection text-to-3d
image-to-3d image-feature-extraction video-text-to-text keypoint-detection visual-document-retrieval
any-to-any other
""".split()

DAY = "2026-08-22"


def table(rows: list[dict]) -> pd.DataFrame:
    """Hand-made models in the snapshot's schema, not intermediaries unless a row says so."""
    out = conform(pd.DataFrame(rows))
    out["is_intermediary"] = [bool(r.get("is_intermediary")) for r in rows]
    return out


def recorded(records: list[dict]) -> pd.DataFrame:
    """Recorded ``/api/models`` records as rows of the models table, attributed by the shipped registry."""
    rows = [{"id": r["id"], "namespace": r.get("author"), "snapshot_id": "recorded",
             "downloads": r.get("downloads"), "pipeline_tag": r.get("pipeline_tag"),
             "library_name": r.get("library_name"), "tags": r.get("tags"),
             "base_models": [m["id"] for m in (r.get("baseModels") or {}).get("models", [])] or None,
             "base_relation": (r.get("baseModels") or {}).get("relation")} for r in records]
    return registry.attribute(conform(pd.DataFrame(rows)))


@pytest.fixture
def listing(hubdata) -> pd.DataFrame:
    """The recorded listing of 2026-08-22, tracked publishers only (what a fetch of the registry lists)."""
    models = recorded(trending_day_records(hubdata / "trending-2026-08" / f"{DAY}.json"))
    tracked = {n.lower() for n in registry.tracked_namespaces(include_aliases=True)}
    return models[models["namespace"].str.lower().isin(tracked)].reset_index(drop=True)


# ---------------------------------------------------------------- categories

CATEGORY_CASES = [  # pipeline_tag, library_name, tags, expected
    ("text-generation", "transformers", None, "llm"),
    ("image-text-to-text", None, None, "llm"),
    ("text2text-generation", "transformers", None, "llm"),
    ("any-to-any", "transformers", ["transformers", "conversational"], "llm"),
    ("any-to-any", "transformers", ["transformers"], "other"),
    ("any-to-any", None, None, "other"),
    (None, None, ["conversational"], "llm"),
    (None, "vllm", None, "llm"),
    ("feature-extraction", "transformers", None, "embedding"),
    ("sentence-similarity", None, None, "embedding"),
    ("text-ranking", None, None, "embedding"),
    ("fill-mask", "transformers", None, "embedding"),
    (None, "Sentence-Transformers", None, "embedding"),
    ("text-to-image", "diffusers", None, "image-generation"),
    ("image-to-image", None, None, "image-generation"),
    (None, "diffusers", None, "image-generation"),
    ("automatic-speech-recognition", None, None, "speech-audio"),
    ("text-to-speech", None, None, "speech-audio"),
    ("audio-to-audio", None, None, "speech-audio"),
    ("audio-classification", None, None, "speech-audio"),
    ("image-classification", "timm", None, "vision"),
    ("object-detection", None, None, "vision"),
    ("image-segmentation", None, None, "vision"),
    ("zero-shot-image-classification", None, None, "vision"),
    ("depth-estimation", None, None, "vision"),
    ("text-classification", "transformers", None, "other"),
    ("a-task-the-hub-adds-tomorrow", None, None, "other"),
    ("a-task-the-hub-adds-tomorrow", "sentence-transformers", None, "embedding"),
    (None, None, None, "unknown"),
    (None, "transformers", ["transformers", "region:us"], "unknown"),
    (None, "gguf", [], "unknown"),
    ("feature-extraction", "diffusers", ["conversational"], "embedding"),  # the pipeline tag decides first
]


def test_every_category_from_hand_made_rows():
    models = table([{"id": f"acme/m{i}", "pipeline_tag": p, "library_name": lib, "tags": tags}
                    for i, (p, lib, tags, _) in enumerate(CATEGORY_CASES)])
    models.index = range(100, 100 + len(models))  # any index: the answer keeps it
    got = categorize(models)
    assert got.dtype == "string" and list(got.index) == list(models.index)
    assert list(got) == [expected for *_, expected in CATEGORY_CASES]
    assert set(got) == set(CATEGORIES)


def test_a_table_without_tags_or_library_columns_is_categorised_from_what_it_has():
    models = pd.DataFrame({"id": ["a/x", "a/y"], "pipeline_tag": ["text-generation", None]})
    assert list(categorize(models)) == ["llm", "unknown"]


def test_the_rules_list_every_pipeline_tag_of_the_hub():
    rules = load_categories().table
    listed = set(rules.loc[rules["field"] == "pipeline_tag", "value"])
    assert set(HUB_PIPELINE_TAGS) - listed == set()
    assert set(rules["category"]) == set(CATEGORIES) - {"unknown"}
    assert rules["reason"].str.len().min() > 0 and rules["line"].is_monotonic_increasing


def test_the_rules_list_every_pipeline_tag_of_the_recordings(hubdata):
    days = trending_folder_records(hubdata / "trending-2026-08")
    tree = next((hubdata / "model-tree-2025-04").glob("*.json"))
    seen = {r["pipeline_tag"] for records in [*days.values(), model_tree_records(tree)]
            for r in records if r.get("pipeline_tag")}
    rules = load_categories().table
    assert seen - set(rules.loc[rules["field"] == "pipeline_tag", "value"]) == set()


def test_an_invalid_rule_file_names_every_problem_with_its_line(tmp_path):
    path = tmp_path / "categories.csv"
    path.write_text("# version: x\nfield,value,category,reason\n"
                    "pipeline_tag,text-generation,llm,text\n"
                    "colour,red,llm,no such field\n"
                    "pipeline_tag,Text-Generation,llm,twice\n"
                    "library_name,gguf,unknown,unknown is never a rule's category\n")
    with pytest.raises(UsageError) as err:
        load_categories(path)
    message = str(err.value)
    assert "\n" not in message and "3 problems" in message
    assert f"{path}:4: unknown field 'colour'" in message
    assert f"{path}:5: pipeline_tag 'Text-Generation' is listed twice" in message
    assert f"{path}:6: unknown category 'unknown'" in message

    path.write_text("kind,pattern,reason\nname-regex,(,broken\nrelation,cousin,no\nintermediary,yes,x\n"
                    "colour,red,no such kind\ntag,gguf,a\ntag,gguf,b\n")
    with pytest.raises(UsageError) as err:
        load_universe("llm-curated", path)
    message = str(err.value)
    assert "5 problems" in message and f"{path}:2: invalid regular expression" in message
    assert f"{path}:3: unknown relation 'cousin'" in message and f"{path}:5: unknown kind 'colour'" in message
    assert f"{path}:4: the pattern of an intermediary rule is 'true'" in message
    assert f"{path}:7: tag 'gguf' is listed twice" in message


def test_unknown_category_or_universe_names_the_valid_ones():
    assert check_category("llm") == "llm" and check_universe("llm-curated") == "llm-curated"
    with pytest.raises(UsageError, match=r"unknown category 'LLM': expected one of llm, embedding, "
                                         r"image-generation, speech-audio, vision, other, unknown$"):
        check_category("LLM")
    with pytest.raises(UsageError, match=r"unknown universe 'atom': expected one of all, llm-curated$"):
        check_universe("atom")
    with pytest.raises(UsageError, match="unknown universe"):
        in_universe(table([{"id": "a/b"}]), "atom")


# ---------------------------------------------------------------- the llm-curated universe

#: A model id that each name rule, and no earlier rule, leaves out.
NAME_EXAMPLES = {
    "gguf": "acme/Model-7B-GGUF",
    "(?:^|[-_./])mlx(?:[-_./]|$)": "acme/Model-7B-MLX",
    "onnx": "acme/Model-7B-ONNX",
    "openvino": "acme/Model-7B-openvino",
    "(?:^|[-_./])awq(?:[-_./]|$)": "acme/Model-7B-AWQ",
    "gptq": "acme/Model-7B-GPTQ-Int4",
    "exl[23]": "acme/Model-7B-exl2",
    "(?:^|[-_./])bnb(?:[-_./]|$)": "acme/Model-7B-bnb",
    "[48]-?bit": "acme/Model-7B-4bit",
    "(?:^|[-_./])(?:q?lora|adapter)(?:[-_./]|$)": "acme/Model-7B-lora",
    "guard|shield|safety": "meta-llama/Llama-Guard-4-12B",
    "reward": "acme/Model-7B-Reward",
    "classifier|detector": "acme/prompt-injection-detector",
    "embed|rerank": "acme/Model-7B-Embedding",
    "tokenizer": "acme/Model-7B-tokenizer",
    "(?:^|[-_./])(?:test|testing|dummy)(?:[-_./]|$)|tiny-random": "hf-internal-testing/Model-7B",
}
CURATED = load_universe("llm-curated").table


def triggering(kind: str, pattern: str) -> dict:
    """A language-model row that the rule (kind, pattern) leaves out, and no earlier rule does."""
    row = {"id": "acme/Model-7B-Instruct", "pipeline_tag": "text-generation", "tags": ["transformers"]}
    if kind == "name-regex":
        row["id"] = NAME_EXAMPLES[pattern]
    elif kind == "library":
        row["library_name"] = pattern
    elif kind == "tag":
        row["tags"] = ["transformers", pattern]
    elif kind == "relation":
        row.update(base_models=["acme/Base-7B"], base_relation=pattern)
    else:
        row["is_intermediary"] = True
    return row


def test_every_name_rule_has_an_example():
    assert set(NAME_EXAMPLES) == set(CURATED.loc[CURATED["kind"] == "name-regex", "pattern"])


@pytest.mark.parametrize("kind,pattern,reason", list(CURATED[["kind", "pattern", "reason"]].itertuples(index=False)),
                         ids=lambda v: str(v)[:24])
def test_every_curated_rule_leaves_out_its_models(kind, pattern, reason):
    models = table([triggering(kind, pattern),
                    {"id": "acme/Model-7B-Instruct", "pipeline_tag": "text-generation", "tags": ["transformers"]}])
    assert list(universe_reasons(models)) == [f"{kind} {pattern}: {reason}", pd.NA]
    assert list(in_universe(models, "llm-curated")) == [False, True]


def test_curated_keeps_first_party_models_and_names_the_first_rule_that_applies():
    models = table([
        {"id": "acme/Qwen3-8B-FP8", "pipeline_tag": "text-generation"},           # first-party FP8: kept
        {"id": "acme/latest-contest-model", "pipeline_tag": "text-generation"},   # "test" only inside words
        {"id": "acme/model-finetune", "pipeline_tag": "text-generation", "base_relation": "finetune"},
        {"id": "quant/Model-7B-GGUF", "pipeline_tag": "text-generation", "library_name": "gguf",
         "tags": ["gguf"], "is_intermediary": True},
        {"id": "acme/encoder", "pipeline_tag": "feature-extraction"},
        {"id": "acme/untagged"},
    ])
    models.index = list("abcdef")
    reasons = universe_reasons(models)
    assert list(reasons.index) == list("abcdef")
    assert list(reasons) == [pd.NA, pd.NA, pd.NA,
                             "intermediary true: re-upload or conversion by an intermediary (never an origin)",
                             "category embedding: not llm", "category unknown: not llm"]
    assert universe_reasons(models, "all").isna().all() and in_universe(models, "all").all()


def test_curated_needs_the_attribution_columns():
    with pytest.raises(ValueError, match=r"is_intermediary.*registry\.attribute"):
        universe_reasons(pd.DataFrame({"id": ["a/b"], "pipeline_tag": ["text-generation"]}))


def test_curated_on_real_model_ids(hubdata):
    tree = next((hubdata / "model-tree-2025-04").glob("*.json"))
    records = {r["id"]: r for r in trending_day_records(hubdata / "trending-2026-08" / f"{DAY}.json")}
    records.update({r["id"]: r for r in model_tree_records(tree)})
    models = recorded(list(records.values())).set_index("id", drop=False)
    reasons = universe_reasons(models)
    for kept in ("deepseek-ai/DeepSeek-R1", "Qwen/Qwen3-8B", "meta-llama/Llama-3.1-8B-Instruct",
                 "openai/gpt-oss-20b", "microsoft/bitnet-b1.58-2B-4T", "nvidia/DeepSeek-R1-FP4"):
        assert pd.isna(reasons[kept]), (kept, reasons[kept])
    left_out = {
        "unsloth/Qwen3-Coder-30B-A3B-Instruct-GGUF": "intermediary true",
        "unsloth/DeepSeek-R1-GGUF": "intermediary true",
        "mlx-community/perplexity-ai-r1-1776-bf16": "category unknown",  # no pipeline tag, no chat tag
        "ornith-ai/Ornith-1.0-9B-GGUF": "name-regex gguf",
        "yuxinlu1/gemma-4-12B-coder-fable5-composer2.5-v1-GGUF": "library gguf",
        "prism-ml/Ternary-Bonsai-27B-mlx-2bit": "library mlx",
        "Qwen/Qwen2.5-7B-Instruct-AWQ": "name-regex (?:^|[-_./])awq",
        "hmellor/tiny-random-LlamaForCausalLM": "name-regex (?:^|[-_./])(?:test|testing|dummy)",
        "trl-internal-testing/tiny-Qwen2ForCausalLM-2.5": "name-regex (?:^|[-_./])(?:test|testing|dummy)",
        "Qwen/Qwen3-Embedding-0.6B": "category embedding",
        "Qwen/Qwen3-Reranker-0.6B": "category embedding",
        "meta-llama/Prompt-Guard-86M": "category other",
        "black-forest-labs/FLUX.1-Fill-dev": "category image-generation",
    }
    for model_id, reason in left_out.items():
        assert str(reasons[model_id]).startswith(reason), (model_id, reasons[model_id])


# ---------------------------------------------------------------- the definitions table

def attributed(rows: list[dict]) -> pd.DataFrame:
    """Hand-made rows with the attribution columns written out (bloc, base_bloc, is_intermediary)."""
    out = table(rows)
    out["bloc"] = pd.array([r["bloc"] for r in rows], dtype="string")
    out["base_bloc"] = pd.array([r.get("base_bloc") for r in rows], dtype="string")
    return out


SHARES = ["CN", "US", "EU", "rest", "unattributed"]


def test_definitions_equal_direct_sums():
    models = attributed([
        {"id": "cn/llm-a", "bloc": "CN", "pipeline_tag": "text-generation", "downloads": 400},
        {"id": "us/llm-b", "bloc": "US", "pipeline_tag": "text-generation", "downloads": 300},
        {"id": "us/encoder-c", "bloc": "US", "pipeline_tag": "feature-extraction", "downloads": 200},
        {"id": "fan/ft-d", "bloc": "unattributed", "base_bloc": "CN", "pipeline_tag": "text-generation",
         "base_models": ["cn/llm-a"], "base_relation": "finetune", "downloads": 50},
        {"id": "quant/llm-b-GGUF", "bloc": "Other", "base_bloc": "US", "pipeline_tag": "text-generation",
         "library_name": "gguf", "base_models": ["us/llm-b"], "base_relation": "quantized",
         "is_intermediary": True, "downloads": 100},
        {"id": "eu/image-f", "bloc": "EU", "pipeline_tag": "text-to-image", "downloads": 150},
        {"id": "jp/llm-g", "bloc": "JP", "pipeline_tag": "text-generation", "downloads": 25},
        {"id": "cn/llm-h", "bloc": "CN", "pipeline_tag": "text-generation", "downloads": None},
    ])
    result = definitions(models)
    rows = result.rows.set_index("definition")
    # (models counted, downloads, CN, US, EU, rest, unattributed), summed by hand
    expected = {
        "all": (7, 1225, 400, 500, 150, 125, 50),
        "llm": (5, 875, 400, 300, 0, 125, 50),
        "llm-curated": (4, 775, 400, 300, 0, 25, 50),
        "lineage": (7, 1225, 450, 600, 150, 25, 0),
        "llm-lineage": (5, 875, 450, 400, 0, 25, 0),
        "no-intermediaries": (6, 1125, 400, 500, 150, 25, 50),
    }
    assert list(rows.index)[:len(expected)] == list(expected)  # the whole-Hub rows follow
    for name, (n, total, *parts) in expected.items():
        row = rows.loc[name]
        assert (row["models"], row["downloads_30d"]) == (n, total), name
        assert [round(row[c], 12) for c in SHARES] == [round(p / total, 12) for p in parts], name
        assert sum(row[c] for c in SHARES) == pytest.approx(1.0)
    assert list(rows["attribution"])[:6] == ["publisher"] * 3 + ["lineage"] * 2 + ["publisher"]
    assert result.coverage["spread"] == {"bloc": "CN", "min": 400 / 1225, "max": 400 / 775,
                                         "min_definition": "all", "max_definition": "llm-curated"}


def test_spread_sentence():
    assert spread_sentence(0.2883, 0.6671) == ("Depending on the definition, China's share of 30-day "
                                               "downloads ranges from 28.8% to 66.7%.")


def test_definitions_on_the_recorded_listing(listing):
    """The issue's point on real data: the US leads over all models, China among generative ones
    (65.5% / 66.7% with the registry of the time; the figures move as the registry grows)."""
    result = definitions(listing)
    rows = result.rows.set_index("definition")

    def direct(mask) -> dict[str, float]:
        part = listing[mask]
        return (part.groupby("bloc")["downloads"].sum() / part["downloads"].sum()).to_dict()

    everything = direct(listing["downloads"].notna())
    assert rows.loc["all", "US"] == pytest.approx(everything["US"], abs=1e-12)
    assert rows.loc["all", "CN"] == pytest.approx(everything["CN"], abs=1e-12)
    assert everything["US"] > 0.6 > 0.3 > everything["CN"]
    generative = direct(listing["pipeline_tag"].isin(["text-generation", "image-text-to-text"]))
    assert generative["CN"] > 0.6 > 0.35 > generative["US"]
    # category llm also holds text2text and video-text models, and vLLM repos without a pipeline tag
    llm = direct(listing["pipeline_tag"].isin(["text-generation", "image-text-to-text", "text2text-generation",
                                               "video-text-to-text"])
                 | (listing["pipeline_tag"].isna() & listing["library_name"].eq("vllm")))
    assert rows.loc["llm", "CN"] == pytest.approx(llm["CN"], abs=1e-12)
    assert rows.loc["llm", "US"] == pytest.approx(llm["US"], abs=1e-12)
    spread = result.coverage["spread"]
    tracked = rows.loc[["all", "llm", "llm-curated", "lineage", "llm-lineage", "no-intermediaries"], "CN"]
    assert spread["min"] <= tracked.min() and spread["max"] >= tracked.max()
    assert spread["min"] == pytest.approx(rows["CN"].min()) and spread["max"] == pytest.approx(rows["CN"].max())
    assert spread_sentence(spread["min"], spread["max"]).endswith(
        f"ranges from {100 * spread['min']:.1f}% to {100 * spread['max']:.1f}%.")


def test_a_snapshot_without_pipeline_tags_has_no_language_models(hub_records):
    for record in hub_records:
        record.pop("pipeline_tag", None)
    models = recorded(hub_records)
    assert set(categorize(models)) == {"unknown"}
    rows = definitions(models).rows.set_index("definition")
    for name in ("llm", "llm-curated", "llm-lineage"):
        assert rows.loc[name, "models"] == 0 and pd.isna(rows.loc[name, "downloads_30d"])
        assert rows.loc[name, SHARES].isna().all()
    assert rows.loc["all", "unattributed"] == 1.0 and rows.loc["all", "models"] == 7


# ---------------------------------------------------------------- openbrief categories

def test_cli_prints_the_categories_and_their_rules(capsys):
    code, out, err = run_main(["categories"], capsys)
    assert (code, err) == (0, "")
    assert out.startswith(f"# version: {load_categories().version}\n# categories:\n")
    for name, description in CATEGORIES.items():
        assert f"#   {name:16}  {description}\n" in out
    assert "any-to-any" in out and "conversational" in out

    code, out, _ = run_main(["categories", "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["categories"] == CATEGORIES
    assert data["rules"] == load_categories().table.drop(columns="line").to_dict(orient="records")


def test_cli_prints_a_universes_rules(capsys):
    code, out, _ = run_main(["categories", "--universe", "llm-curated", "--format", "csv"], capsys)
    lines = out.splitlines()
    assert code == 0 and lines[0] == "kind,pattern,reason" and len(lines) == 1 + len(CURATED)
    assert "intermediary,true,re-upload or conversion by an intermediary (never an origin)" in lines
    code, out, _ = run_main(["categories", "--universe", "all"], capsys)
    assert code == 0 and "# universe: all" in out and "(no rules)" in out


def test_cli_refuses_an_unknown_universe(capsys):
    code, out, err = run_main(["categories", "--universe", "atom"], capsys)
    assert (code, out) == (2, "")
    assert one_clear_error(err) == "openbrief: error: unknown universe 'atom': expected one of all, llm-curated"
