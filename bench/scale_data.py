"""A synthetic whole-Hub snapshot table of any size, shaped like the real Hub, for bench_scale.

Vectorised with numpy (2M rows in seconds). The shape follows the figures in
../shared/notes/metrics.md: power-law downloads (most models almost never downloaded, a few
holding most downloads); tens of thousands of namespaces (a Zipf number of models each), the
registry's own among the biggest, intermediaries re-uploading quantisations; about 30% of models
declaring a base, by relation adapter 43%, finetune 36%, quantized 19%, merge 2% (a merge names two
bases), bases chosen among earlier models by popularity so derivatives form chains (a GGUF of a
fine-tune of a fine-tune), a few bases missing from the table and a few cycles; pipeline tags,
libraries, licences and tags as the store schema holds them (``openbrief.store.schema``). Every
row is listed by ``hub-top`` (a whole-Hub census), the registry's namespaces also by their
``author=`` query, the last 7 days' models also by ``new``. Every figure is made up.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from openbrief.registry import load
from openbrief.store.schema import MODEL_COLUMNS, conform

AS_OF = pd.Timestamp("2026-11-30T06:00:00Z")
SNAPSHOT_ID = "20261130T060000Z"
FIRST_DAY = pd.Timestamp("2021-01-01T00:00:00Z")

# (value, weight): rough whole-Hub frequencies; None = missing
_PIPELINES = (("text-generation", 24), ("image-text-to-text", 3), ("text-classification", 10),
              ("feature-extraction", 4), ("sentence-similarity", 3), ("fill-mask", 3),
              ("text-to-image", 8), ("automatic-speech-recognition", 3), ("image-classification", 4),
              ("reinforcement-learning", 5), ("any-to-any", 1), ("token-classification", 3),
              ("text2text-generation", 2), ("object-detection", 1), (None, 26))
_LIBRARIES = (("transformers", 40), ("peft", 12), ("diffusers", 6), ("gguf", 6), ("sentence-transformers", 4),
              ("mlx", 2), ("timm", 1), ("onnx", 1), ("stable-baselines3", 3), (None, 25))
_LICENSES = (("apache-2.0", 30), ("mit", 14), ("other", 6), ("llama3.1", 3), ("gemma", 2), ("cc-by-4.0", 2),
             ("cc-by-nc-4.0", 3), ("openrail", 2), ("qwen", 1), ("creativeml-openrail-m", 1), (None, 36))
_RELATIONS = (("adapter", 43), ("finetune", 36), ("quantized", 19), ("merge", 2))
_EXTRA_TAGS = ("conversational", "gguf", "4-bit", "endpoints_compatible", "text-generation-inference")


def _pick(rng: np.random.Generator, choices, n: int) -> np.ndarray:
    values = np.array([v for v, _ in choices], dtype=object)
    weights = np.array([w for _, w in choices], dtype=float)
    return values[rng.choice(len(values), size=n, p=weights / weights.sum())]


def _namespaces(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(namespace of each model, whether that namespace is the registry's), Zipf-sized namespaces."""
    entries = load()
    # the registry's namespaces, their aliases (old names such as THUDM) and a case variant
    registry = [e.namespace for e in entries] + [a for e in entries for a in e.aliases] + ["thudm"]
    others = max(1_000, int(n ** 0.75))  # 53K namespaces for 2M models, 5.6K for 100K
    names = np.array([*registry, *(f"user-{i:06d}" for i in range(others))], dtype=object)
    known = np.zeros(len(names), dtype=bool)
    known[: len(registry)] = True
    # Zipf weights by a shuffled rank; the registry's namespaces among the biggest
    rank = np.concatenate([rng.permutation(len(registry)) + 1,
                           rng.permutation(others) + 1 + len(registry) // 4])
    weight = 1.0 / rank ** 0.9
    pick = rng.choice(len(names), size=n, p=weight / weight.sum())
    return names[pick], known[pick]


def _lists(make, *columns: np.ndarray) -> np.ndarray:
    """``make(*values)`` per row, made once per distinct combination of the columns' values."""
    factorized = [pd.factorize(c, use_na_sentinel=False) for c in columns]
    combined = np.zeros(len(columns[0]), dtype="int64")
    for codes, uniques in factorized:
        combined = combined * len(uniques) + codes
    keys, inverse = np.unique(combined, return_inverse=True)
    made = np.empty(len(keys), dtype=object)
    for i, key in enumerate(keys):
        values = []
        for codes, uniques in reversed(factorized):
            key, code = divmod(key, len(uniques))
            values.append(uniques[code])
        made[i] = make(*(None if pd.isna(v) else v for v in reversed(values)))
    return made[inverse]


def models_table(n: int, seed: int = 15) -> pd.DataFrame:
    """``n`` synthetic models conformed to the store's models schema (``MODEL_COLUMNS``)."""
    rng = np.random.default_rng(seed)
    ns, known = _namespaces(rng, n)
    # creation: growing over time (more models each year), the newest last
    age_days = np.sort((AS_OF - FIRST_DAY).days * (1 - rng.power(2.2, n)))[::-1]
    created = AS_OF - pd.to_timedelta(age_days * 86_400, unit="s")
    ids = (pd.Series(ns, dtype="string") + "/model-" + pd.Series(np.arange(n)).astype("string").str.zfill(7)
           ).to_numpy(dtype=object)

    # power-law downloads: 30-day counts, most tiny; the registry's models downloaded more
    downloads = np.floor(rng.pareto(0.75, n) * np.where(known, 40.0, 1.0)).astype("int64")
    all_time = downloads * (1 + age_days / 30 * rng.uniform(0.2, 1.0, n)).astype("int64")
    downloads = pd.array(downloads, dtype="Int64")
    downloads[rng.random(n) < 0.01] = pd.NA  # a field the Hub sometimes leaves out
    downloads[rng.integers(0, n, 3)] = -1  # an invalid count: never summed
    all_time = pd.array(all_time, dtype="Int64")
    all_time[rng.random(n) < 0.15] = pd.NA

    # lineage: ~30% declare a base, chosen among earlier models, popular ones first (chains form)
    has_base = rng.random(n) < 0.30
    has_base[0] = False
    child = np.flatnonzero(has_base)
    pop = np.log1p(np.clip(downloads.to_numpy(dtype=float, na_value=0), 0, None)) ** 3 + 0.01
    cum = np.cumsum(pop)
    base = np.searchsorted(cum, rng.random(len(child)) * cum[child - 1], side="right")
    base = np.minimum(base, child - 1)  # strictly earlier: no cycle by construction
    relation = _pick(rng, _RELATIONS, len(child))
    # quantisations by intermediaries (re-uploaders), as on the Hub
    quant = child[relation == "quantized"]
    movers = quant[rng.random(len(quant)) < 0.5]
    ns[movers] = rng.choice(np.array(["unsloth", "bartowski", "mradermacher", "lmstudio-community"], dtype=object),
                            size=len(movers))
    ids[movers] = ids[movers] + "-GGUF"
    ids[movers] = ns[movers] + "/" + pd.Series(ids[movers], dtype="string").str.split("/", n=1).str[1].to_numpy(dtype=object)
    base_ids = ids[base].copy()
    missing = rng.random(len(child)) < 0.03  # declared bases the table lacks (deleted, gated, unlisted)
    base_ids[missing] = "gone-" + pd.Series(base[missing]).astype(str).to_numpy(dtype=object) + "/old-model"
    lists = np.empty(n, dtype=object)
    lists[child] = [[b] for b in base_ids]
    merges = child[relation == "merge"]
    for row in merges:  # a merge names two bases (first declared counts for lineage)
        lists[row] = lists[row] + [ids[rng.integers(0, row)]]
    # a few cycles: early models declaring a later descendant's id
    loopers = rng.choice(child[child > n // 2], size=max(3, n // 100_000), replace=False)
    for row in loopers:
        lists[base[np.searchsorted(child, row)]] = [ids[row]]
    rel = np.full(n, None, dtype=object)
    rel[child] = relation

    pipeline = _pick(rng, _PIPELINES, n)
    library = _pick(rng, _LIBRARIES, n)
    license_ = _pick(rng, _LICENSES, n)
    library[quant] = "gguf"
    extra = np.array(_EXTRA_TAGS + (None,) * 5, dtype=object)[rng.integers(0, len(_EXTRA_TAGS) + 5, n)]
    tags = _lists(lambda lib, lic, more: [t for t in (lib, f"license:{lic}" if lic else None, "region:us", more) if t],
                  library, license_, extra)
    new = np.asarray(created >= AS_OF - pd.Timedelta(days=7))
    listed = _lists(lambda a, w: [x for x in (a, "hub-top", "new" if w else None) if x],
                    np.where(known, "author=" + ns, None), new)
    params = pd.array(np.where(rng.random(n) < 0.2, rng.choice([5e8, 1.5e9, 7e9, 8e9, 32e9, 70e9], n), np.nan)
                      .astype("float64"), dtype="Float64").astype("Int64")
    table = pd.DataFrame({
        "snapshot_id": SNAPSHOT_ID, "fetched_at": AS_OF,
        "query": np.where(known, "author=" + ns, "hub-top"), "listed_by": listed, "id": ids, "namespace": ns, "author": ns,
        "created_at": created, "last_modified": created, "downloads": downloads, "downloads_all_time": all_time,
        "likes": pd.array(downloads.to_numpy(dtype=float, na_value=np.nan) // 200, dtype="Float64").astype("Int64"),
        "pipeline_tag": pipeline, "library_name": library, "license": license_, "gated": "False",
        "params_total": params, "base_models": lists, "base_relation": rel, "tags": tags,
    })
    top = np.argsort(-downloads.to_numpy(dtype=float, na_value=-1))[:20]
    for col, share in (("children_finetune", 0.36), ("children_adapter", 0.43), ("children_quantized", 0.19),
                       ("children_merge", 0.02)):
        values = pd.array([pd.NA] * n, dtype="Int64")
        values[top] = (rng.integers(100, 20_000, len(top)) * share).astype("int64")
        table[col] = values
    table["children_total"] = table[[c for c in table.columns if c.startswith("children_")]].sum(axis=1, min_count=1)
    return conform(table, MODEL_COLUMNS)


def write(n: int, path, seed: int = 15) -> None:
    """``models_table(n)`` written as a snapshot's ``models.parquet`` is (the store's Arrow schema)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from openbrief.store.schema import to_arrow

    table = pa.Table.from_pandas(models_table(n, seed), schema=to_arrow(MODEL_COLUMNS), preserve_index=False)
    pq.write_table(table, path)
