"""Shared pytest fixtures.

- ``hub_records``: a fresh copy of a small hand-made model list in the Hub's
  ``/api/models`` shape (a base model, its derivatives of every relation, a
  grandchild, and records with missing fields);
- ``replay_hub``: a running :class:`openbrief.replay.ReplayHub` over
  ``hub_records`` with pages of 3, and no Hub token reachable;
- ``hf_home``: ``HF_HOME`` in a temporary folder and no token variables;
- ``fast_backoff``: makes huggingface_hub's retry sleeps instant, returns the
  list of the sleeps it asked for;
- ``hubdata``: the recorded Hub data folder (skips when it is absent);
- ``world``: one real fetch + weekly build through the replay Hub, as cron runs it (per module);
- ``inproc``: in-process CLI runs with the Hub's token file in a temporary folder.
"""
from __future__ import annotations

import copy
import importlib
import os
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from huggingface_hub import constants as hf_constants

from openbrief.replay import synthetic
from openbrief.replay.recordings import write_jsonl
from openbrief.replay import ReplayHub
from clirun import ENV_TOKEN, FETCH_ARGS, FILE_TOKEN, clean_env, must, openbrief

HUBDATA_ENV = "OPENBRIEF_HUBDATA"

_RECORDS = [
    {"_id": "65a0000000000000000000a1", "id": "Acme/base-7b", "author": "Acme",
     "createdAt": "2024-01-10T00:00:00.000Z", "lastModified": "2024-05-01T00:00:00.000Z",
     "downloads": 900, "downloadsAllTime": 50000, "likes": 40, "trendingScore": 12,
     "pipeline_tag": "text-generation", "library_name": "transformers",
     "tags": ["transformers", "safetensors", "text-generation", "license:apache-2.0", "region:us"],
     "safetensors": {"parameters": {"BF16": 7000000000}, "total": 7000000000}, "gated": False},
    {"_id": "65a0000000000000000000a2", "id": "Acme/base-1b", "author": "Acme",
     "createdAt": "2024-03-01T00:00:00.000Z", "downloads": 300, "likes": 40,
     "pipeline_tag": "text-generation", "library_name": "transformers",
     "tags": ["transformers", "license:mit"]},
    {"id": "acme-labs/tiny", "author": "acme-labs", "createdAt": "2023-06-01T00:00:00.000Z",
     "downloads": 50, "likes": 2, "tags": ["license:mit"]},
    {"id": "fan/base-7b-chat", "author": "fan", "createdAt": "2024-02-01T00:00:00.000Z",
     "downloads": 1200, "likes": 3, "library_name": "transformers",
     "tags": ["transformers", "base_model:Acme/base-7b", "base_model:finetune:Acme/base-7b",
              "license:apache-2.0"],
     "baseModels": {"relation": "finetune", "models": [{"id": "Acme/base-7b"}]}},
    {"id": "fan/base-7b-lora", "author": "fan", "likes": 1,
     "tags": ["peft", "base_model:Acme/base-7b", "base_model:adapter:Acme/base-7b"]},
    {"id": "quant/base-7b-GGUF", "author": "quant", "createdAt": "2024-02-15T00:00:00.000Z",
     "downloads": 5000, "likes": 9, "library_name": "gguf",
     "baseModels": {"relation": "quantized", "models": [{"id": "Acme/base-7b"}]}},
    {"id": "fan/grandchild", "author": "fan", "downloads": 10, "likes": 0,
     "baseModels": {"relation": "finetune", "models": [{"id": "fan/base-7b-chat"}]}},
    {"id": "mix/merge-1", "author": "mix", "downloads": 20,
     "baseModels": {"relation": "merge", "models": [{"id": "Acme/base-7b"}, {"id": "Acme/base-1b"}]}},
]


def hubdata_path() -> Path:
    """Where the recorded Hub data is expected: $OPENBRIEF_HUBDATA, else ../shared/hubdata."""
    env = os.environ.get(HUBDATA_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "hubdata"


@pytest.fixture
def hubdata() -> Path:
    path = hubdata_path()
    if not path.is_dir():
        pytest.skip(f"recorded Hub data not found at {path} (set {HUBDATA_ENV} to its folder)")
    return path


@pytest.fixture
def hub_records() -> list[dict]:
    return copy.deepcopy(_RECORDS)


@pytest.fixture
def hf_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "hf_home"
    home.mkdir()
    monkeypatch.setenv("HF_HOME", str(home))
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def replay_hub(hub_records, hf_home):
    with ReplayHub(hub_records, page_size=3) as hub:
        yield hub


@pytest.fixture
def fast_backoff(monkeypatch) -> list[float]:
    """Instant retries: replace the ``time`` that huggingface_hub's backoff sleeps with."""
    sleeps: list[float] = []
    http = importlib.import_module("huggingface_hub.utils._http")
    monkeypatch.setattr(http, "time", SimpleNamespace(sleep=sleeps.append))
    return sleeps


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One real run, as cron runs it, with both tokens present: replay Hub -> fetch -> build weekly.

    Its stdout/stderr are kept in ``logs/`` (the "cron log"). Tests copy the store and
    briefs folder before they change anything (``copy_world``).
    """
    root = tmp_path_factory.mktemp("world")
    hf_home = root / "hf_home"
    hf_home.mkdir()
    (hf_home / "token").write_text(FILE_TOKEN)
    env = clean_env(hf_home, HF_TOKEN=ENV_TOKEN)
    records = synthetic.generate(datetime(2026, 11, 20, tzinfo=timezone.utc), seed=3)
    data = write_jsonl(records, root / "records.jsonl")
    w = SimpleNamespace(root=root, env=env, hf_home=hf_home, logs=root / "logs", store=root / "store",
                        briefs=root / "briefs")
    with ReplayHub(data, page_size=25) as hub:
        w.hub_url = hub.url
        fetched = must(openbrief("fetch", "--endpoint", hub.url, "--store", w.store, "--quiet", *FETCH_ARGS,
                                 env=env, log=w.logs / "fetch"))
        w.snapshot = Path(fetched.stdout.strip().splitlines()[-1]).name
        built = must(openbrief("build", "weekly", "--store", w.store, "--briefs", w.briefs, "--quiet", env=env,
                               log=w.logs / "build"))
        w.pdf = Path(built.stdout.strip().splitlines()[-1])
        yield w


@pytest.fixture
def inproc(hf_home, monkeypatch):
    """In-process runs: HF_HOME in a temp folder, and this process's token file there too."""
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(hf_home / "token"))
    for name in ("HF_API_TOKEN", "HF_TOKEN_PATH", "OPENBRIEF_STORE", "OPENBRIEF_BRIEFS"):
        monkeypatch.delenv(name, raising=False)
    return hf_home
