"""``make demo``: the whole path offline, on synthetic data.

Generates a synthetic Hub, serves it with the replay Hub on 127.0.0.1,
fetches a snapshot from it with the real client into a demo store (never the
real one, so a synthetic snapshot can never become someone's 'latest'), and
builds the weekly brief, which says on every page that its figures are synthetic.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from openbrief import fetch, render, synthetic
from openbrief.hub import Hub
from openbrief.recordings import write_jsonl
from openbrief.replay import ReplayHub
from openbrief.snapshot import REPO_ROOT

DEMO_STORE = REPO_ROOT / "store-demo"


def run(store: str | None = None, briefs: str | None = None, quiet: bool = True) -> Path:
    store_path = Path(store).resolve() if store else DEMO_STORE
    with tempfile.TemporaryDirectory(prefix="openbrief-demo-") as tmp:
        data = Path(tmp) / "synthetic.jsonl"
        write_jsonl(synthetic.generate(), data)
        with ReplayHub(data) as hub:
            plan = fetch.Plan([org for org, _, _ in synthetic.ORGS], top_n=30, derivative_bases=10, derivatives_per_base=20)
            snap = fetch.run(Hub(hub.url), plan, store_path, quiet=quiet, extra_meta={"synthetic": True})
    return render.build("weekly", {}, briefs_dir=render.default_briefs_dir(briefs), store=store_path,
                        snapshot=snap.id, quiet=quiet)
