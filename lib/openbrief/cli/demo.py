"""``make demo``: the whole path offline, on synthetic data.

Generates a synthetic Hub, serves it with the replay Hub on 127.0.0.1,
fetches a snapshot from it with the real client into a demo store (never the
real one, so a synthetic snapshot can never become someone's 'latest'), and
builds the weekly brief, which says on every page that its figures are synthetic.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from openbrief.cli.build import build
from openbrief.hub import Hub, fetch
from openbrief.render import default_briefs_dir
from openbrief.replay import ReplayHub, synthetic
from openbrief.replay.recordings import write_jsonl
from openbrief.store.snapshot import REPO_ROOT, Snapshot, default_store, list_snapshots

DEMO_STORE = REPO_ROOT / "store-demo"


def fetch_demo(store: Path = DEMO_STORE, quiet: bool = True) -> Snapshot:
    """Fetch one synthetic snapshot into ``store`` through a replay Hub and the real client."""
    with tempfile.TemporaryDirectory(prefix="openbrief-demo-") as tmp:
        data = write_jsonl(synthetic.generate(), Path(tmp) / "synthetic.jsonl")
        with ReplayHub(data) as hub:
            plan = fetch.Plan([org for org, _, _ in synthetic.ORGS], top_n=30, derivative_bases=10,
                              derivatives_per_base=20)
            return fetch.run(Hub(hub.url), plan, store, quiet=quiet, extra_meta={"synthetic": True})


def run(store: str | None = None, briefs: str | None = None, quiet: bool = True) -> Path:
    """Fetch a synthetic snapshot and build the weekly brief on it; return the PDF's path."""
    store_path = Path(store).resolve() if store else DEMO_STORE
    snap = fetch_demo(store_path, quiet)
    return build("weekly", {}, briefs_dir=default_briefs_dir(briefs), store=store_path, snapshot=snap.id,
                 quiet=quiet)


def lab_store() -> Path:
    """The store JupyterLab's notebooks read by default (``make lab``).

    ``OPENBRIEF_STORE`` or the real store when it holds snapshots; otherwise the
    demo store, given a synthetic snapshot if it has none, so that Run All works on a
    fresh checkout (every page then says the data is synthetic).
    """
    if os.environ.get("OPENBRIEF_STORE") or list_snapshots(default_store()):
        return default_store()
    if not list_snapshots(DEMO_STORE):
        fetch_demo(DEMO_STORE)
    return DEMO_STORE
