"""A synthetic Hub, generated here, for the offline demo and for tests.

The records are in the Hub's own ``/api/models`` shape, so they go through the
replay Hub and the real client like real data. Every figure in them is made
up: the snapshot fetched from them is marked ``synthetic`` and every page of a
brief built on it says so.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

#: (namespace, model name stems, popularity scale)
ORGS = (
    ("Qwen", ["Qwen3-8B", "Qwen3-32B", "Qwen3-235B-A22B", "Qwen2.5-7B-Instruct", "Qwen3-Coder-30B", "Qwen3-VL-8B"], 9.0),
    ("deepseek-ai", ["DeepSeek-R1", "DeepSeek-V3", "DeepSeek-R1-Distill-Qwen-7B", "DeepSeek-OCR"], 7.0),
    ("meta-llama", ["Llama-3.1-8B-Instruct", "Llama-3.2-1B", "Llama-3.3-70B-Instruct", "Llama-4-Scout-17B-16E"], 8.0),
    ("google", ["gemma-3-4b-it", "gemma-3-27b-it", "gemma-3-1b-it", "embeddinggemma-300m"], 6.0),
    ("mistralai", ["Mistral-7B-Instruct-v0.3", "Mistral-Small-3.2-24B", "Magistral-Small"], 4.0),
    ("microsoft", ["Phi-4-mini-instruct", "phi-4", "Phi-3.5-mini-instruct"], 3.5),
    ("openai", ["gpt-oss-20b", "gpt-oss-120b", "whisper-large-v3"], 5.0),
    ("nvidia", ["Nemotron-Nano-9B-v2", "Llama-3.1-Nemotron-70B"], 2.0),
    ("moonshotai", ["Kimi-K2-Instruct", "Kimi-VL-A3B"], 2.5),
    ("zai-org", ["GLM-4.5-Air", "GLM-4.6", "GLM-4.1V-9B-Thinking"], 2.5),
    ("MiniMaxAI", ["MiniMax-M2", "MiniMax-Text-01"], 1.5),
    ("allenai", ["OLMo-2-1124-7B", "OLMo-2-0325-32B", "Molmo-7B-D"], 1.0),
    ("black-forest-labs", ["FLUX.1-dev", "FLUX.1-schnell"], 3.0),
    ("stabilityai", ["stable-diffusion-xl-base-1.0", "stable-diffusion-3.5-large"], 2.0),
    ("tiiuae", ["Falcon3-7B-Instruct", "Falcon-H1-1.5B"], 0.8),
)
LICENSES = {
    "Qwen": "apache-2.0", "deepseek-ai": "mit", "meta-llama": "llama3.1", "google": "gemma",
    "mistralai": "apache-2.0", "microsoft": "mit", "openai": "apache-2.0", "nvidia": "other",
    "moonshotai": "other", "zai-org": "mit", "MiniMaxAI": "other", "allenai": "apache-2.0",
    "black-forest-labs": "other", "stabilityai": "other", "tiiuae": "other",
}
DERIVERS = ("unsloth", "bartowski", "mradermacher", "lmstudio-community", "NousResearch", "some-lab", "student-42")
RELATIONS = ("finetune", "quantized", "adapter", "merge")


def _params(name: str, rng: random.Random) -> int | None:
    for token in name.replace("-", " ").split():
        if token.endswith(("B", "b")) and token[:-1].replace(".", "").isdigit():
            return int(float(token[:-1]) * 1e9) + rng.randrange(10**6)
        if token.endswith("m") and token[:-1].isdigit():
            return int(token[:-1]) * 10**6
    return None if rng.random() < 0.4 else rng.choice([7, 8, 14, 32, 70]) * 10**9


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def generate(today: datetime | None = None, seed: int = 7, day_offset: int = 0) -> list[dict]:
    """Deterministic synthetic model records as of ``today`` (+ ``day_offset`` days of growth)."""
    today = (today or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    rng = random.Random(seed)
    records = []
    for org, names, scale in ORGS:
        for rank, name in enumerate(names):
            age = rng.randrange(2, 700)
            downloads = int(scale * 1e6 / (rank + 1) * rng.uniform(0.6, 1.4))
            growth = downloads / 30
            record = {
                "id": f"{org}/{name}",
                "author": org,
                "createdAt": _iso(today - timedelta(days=age)),
                "lastModified": _iso(today - timedelta(days=rng.randrange(0, min(age, 60) + 1))),
                "downloads": downloads,
                "downloadsAllTime": int(growth * age * rng.uniform(0.8, 1.2) + growth * day_offset),
                "likes": int(downloads / rng.uniform(300, 3000)),
                "pipeline_tag": "text-to-image" if org in ("black-forest-labs", "stabilityai") else "text-generation",
                "library_name": "diffusers" if org in ("black-forest-labs", "stabilityai") else "transformers",
                "tags": ["safetensors", f"license:{LICENSES[org]}", "region:us"],
            }
            total = _params(name, rng)
            if total is not None:
                record["safetensors"] = {"parameters": {"BF16": total}, "total": total}
            if rng.random() < 0.15:  # a field the Hub sometimes leaves out: keep it missing
                del record["downloadsAllTime"]
            records.append(record)
    bases = [r for r in records if r["pipeline_tag"] == "text-generation"]
    for i in range(160):
        base = bases[min(int(rng.expovariate(0.25)), len(bases) - 1)]
        relation = rng.choices(RELATIONS, weights=(36, 19, 43, 2))[0]
        deriver = rng.choice(DERIVERS)
        name = base["id"].split("/")[1]
        suffix = {"quantized": "GGUF", "adapter": "LoRA", "merge": "merge", "finetune": "ft"}[relation]
        age = rng.randrange(0, 120)
        downloads = int(rng.paretovariate(1.2) * 300)
        records.append({
            "id": f"{deriver}/{name}-{suffix}-{i}",
            "author": deriver,
            "createdAt": _iso(today - timedelta(days=age)),
            "downloads": downloads,
            "downloadsAllTime": int(downloads * (age + day_offset + 1) / 30),
            "likes": rng.randrange(0, 40),
            "pipeline_tag": "text-generation",
            "library_name": "gguf" if relation == "quantized" else "transformers",
            "tags": [f"base_model:{base['id']}", f"base_model:{relation}:{base['id']}",
                     f"license:{LICENSES.get(base['author'], 'other')}", "region:us"],
            "baseModels": {"relation": relation, "models": [{"id": base["id"]}]},
        })
    return records


#: Roots of the whole-Hub synthetic data set, and the re-uploaders that chains pass through.
HUB_ROOTS = ("Qwen", "meta-llama", "deepseek-ai", "google", "mistralai")
HUB_INTERMEDIARIES = ("unsloth", "mlx-community", "bartowski", "mradermacher", "lmstudio-community")


def generate_hub(n_models: int = 30_000, new_per_day: int = 2_500, days: int = 7,
                 today: datetime | None = None, seed: int = 7) -> list[dict]:
    """A synthetic whole Hub: ``n_models`` older models plus ``new_per_day`` created on each of the
    ``days`` before ``today``, vectorised (a few seconds for 50,000 records).

    Downloads follow a power law over a random rank (about 1.5% of models take about 99% of the
    downloads; new models have ~0); namespaces number in the thousands, most of them individuals
    (``user-N``); about 25% declare a base: a root model (Qwen, meta-llama, deepseek-ai, google,
    mistralai) or an earlier model, so chains run through re-uploaders (unsloth, mlx-community,
    bartowski...) and fine-tunes of fine-tunes.
    """
    import numpy as np

    today = (today or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    rng = np.random.default_rng(seed)
    n_new = new_per_day * days
    n = n_models + n_new
    roots = [f"{org}/{name}" for org, names, _ in ORGS if org in HUB_ROOTS for name in names]
    n_roots = len(roots)
    # namespaces: the roots' owners, re-uploaders, a few hundred labs and thousands of individuals
    people = np.array([f"user-{i}" for i in range(max(1, n // 8))])
    labs = np.array([f"lab-{i}" for i in range(max(1, n // 150))])
    kind = rng.choice(3, size=n, p=[0.08, 0.12, 0.80])  # re-uploader, lab, individual
    owner = np.where(kind == 0, np.array(HUB_INTERMEDIARIES)[rng.integers(0, len(HUB_INTERMEDIARIES), n)],
                     np.where(kind == 1, labs[rng.zipf(1.6, n) % len(labs)], people[rng.zipf(1.3, n) % len(people)]))
    ids = np.array([f"{o}/model-{i}" for i, o in enumerate(owner)], dtype=object)
    ids[:n_roots] = roots
    # ages: the older models over three years, the new ones over the last ``days`` days (seconds)
    age = np.concatenate([rng.integers(days * 86400 + 60, 3 * 365 * 86400, n_models),
                          rng.integers(0, days * 86400, n_new)])
    age[:n_roots] = rng.integers(60, 700, n_roots) * 86400 + days * 86400
    rank = rng.permutation(n_models) + 1
    rank[:n_roots] = np.arange(1, n_roots + 1)
    downloads = np.concatenate([(5e7 * rank.astype(float) ** -1.65).astype(np.int64),
                                rng.integers(0, 3, n_new)])
    # a base: ~25% of models; a root (60%) or any earlier-indexed model (a chain)
    declares = rng.random(n) < 0.25
    declares[:n_roots] = False
    to_root = rng.random(n) < 0.6
    earlier = (rng.random(n) * np.arange(n)).astype(np.int64)
    parent = np.where(to_root, rng.integers(0, n_roots, n), earlier)
    relation = np.where(kind == 0, "quantized", np.array(RELATIONS)[rng.choice(4, size=n, p=[0.6, 0.05, 0.3, 0.05])])
    created = [_iso(today - timedelta(seconds=int(a))) for a in age]
    records = []
    for i in range(n):
        record = {"id": ids[i], "author": ids[i].split("/")[0], "createdAt": created[i],
                  "downloads": int(downloads[i]), "likes": int(downloads[i] // 500),
                  "pipeline_tag": "text-generation", "library_name": "gguf" if kind[i] == 0 else "transformers",
                  "tags": ["region:us"]}
        if declares[i]:
            base, rel = ids[parent[i]], str(relation[i])
            record["tags"] = [f"base_model:{base}", f"base_model:{rel}:{base}", "region:us"]
            record["baseModels"] = {"relation": rel, "models": [{"id": base}]}
        records.append(record)
    return records
