"""Replay of 16 real scheduled builds (2026-08-07 .. 2026-08-22), one day at a time.

The recorded daily listings are served by the replay Hub (one ``/@DAY/`` endpoint a
day); each day runs ``openbrief fetch`` then ``openbrief build weekly``, as cron would.
The figures of the last brief are checked against a computation made here directly
from the 16 recordings, with the registry's lookup only.
"""
from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from openbrief import metrics, registry
from openbrief.store import history
from openbrief.metrics import trends
from openbrief.brief import fmt_count, fmt_share
from openbrief.replay.recordings import trending_day_meta, trending_folder_records, write_day_folder
from openbrief.replay import ReplayHub
from openbrief.store.snapshot import list_snapshots

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # 16 fetches and builds in its fixture: minutes on a loaded 2-core machine


def openbrief(*args, env):
    run = subprocess.run([sys.executable, "-m", "openbrief", *map(str, args)], capture_output=True, text=True,
                         env=env, timeout=600)
    assert run.returncode == 0, f"openbrief {' '.join(map(str, args))}: {run.stderr}"
    return run.stdout.strip().splitlines()[-1]


def direct_bloc_downloads(records: list[dict], tracked: set[str]) -> dict[str, int]:
    """Sum of 30-day downloads per bloc of the tracked namespaces, straight from a recording."""
    reg = registry.load()
    sums: dict[str, int] = defaultdict(int)
    for r in records:
        namespace = r["id"].split("/")[0]
        if namespace.lower() in tracked and r.get("downloads") is not None:
            sums[reg.lookup(namespace).bloc] += r["downloads"]
    return dict(sums)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory, hubdata_folder):
    folder = hubdata_folder / "trending-2026-08"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent: the 16-day replay needs the recorded listings")
    tmp = tmp_path_factory.mktemp("replay16")
    days = trending_folder_records(folder)
    write_day_folder(days, tmp / "days")
    env = {**__import__("os").environ, "HF_HOME": str(tmp / "hf_home")}
    store, briefs = tmp / "store", tmp / "briefs"
    pdfs = []
    with ReplayHub(tmp / "days", page_size=200) as hub:
        for day in sorted(days):
            as_of = trending_day_meta(folder / f"{day}.json").fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            openbrief("fetch", "--endpoint", f"{hub.url}/@{day}", "--store", store, "--as-of", as_of, "--quiet",
                      "--top-n", "0", "--derivative-bases", "0", env=env)
            pdfs.append(Path(openbrief("build", "weekly", "--store", store, "--briefs", briefs, "-p", "by", "bloc",
                                       "-p", "category", "all", env=env)))  # all models, as computed below
    return days, store, pdfs


@pytest.fixture(scope="module")
def hubdata_folder():
    from conftest import hubdata_path

    path = hubdata_path()
    if not path.is_dir():
        pytest.skip(f"recorded Hub data not found at {path}")
    return path


def test_history_has_sixteen_snapshots_and_briefs(replayed):
    days, store, pdfs = replayed
    snaps = list_snapshots(store)
    assert len(snaps) == 16 == len(days)
    assert [s.fetched_at.strftime("%Y-%m-%d") for s in snaps] == sorted(days)
    assert len({p.parent for p in pdfs}) == 16 and all(p.is_file() for p in pdfs)


def test_share_by_bloc_over_time_equals_direct_computation(replayed):
    days, store, _ = replayed
    tracked = {n.lower() for n in list_snapshots(store)[-1].meta["tracked_orgs"]}
    tracked_rows = metrics.select_universe(history.load_history(store), "tracked")  # the census rows apart
    trend = trends.share_over_time(registry.attribute(tracked_rows), by="bloc")
    for snap_time, rows in trend.groupby("fetched_at"):
        day = pd.Timestamp(snap_time).strftime("%Y-%m-%d")
        direct = direct_bloc_downloads(days[day], tracked)
        total = sum(direct.values())
        got = rows.set_index("group")
        assert set(got.index) == set(direct)
        for bloc, downloads in direct.items():
            assert got.loc[bloc, "downloads_30d"] == downloads
            assert got.loc[bloc, "share"] == pytest.approx(downloads / total)


def test_last_brief_shows_the_directly_computed_figures(replayed):
    days, store, pdfs = replayed
    text = subprocess.run(["pdftotext", "-layout", str(pdfs[-1]), "-"], capture_output=True, text=True,
                          check=True).stdout
    tracked = {n.lower() for n in list_snapshots(store)[-1].meta["tracked_orgs"]}
    direct = direct_bloc_downloads(days["2026-08-22"], tracked)
    total = sum(direct.values())
    for bloc, downloads in direct.items():
        row = rf"^\s*{re.escape(bloc)}\s+{re.escape(fmt_count(downloads))}\s+{re.escape(fmt_share(downloads / total))}\s"
        assert re.search(row, text, re.M), f"bloc row {bloc} {fmt_count(downloads)} not in the brief"
    # the biggest riser between the last two days, computed from the recordings
    before = {r["id"]: r["downloads"] for r in days["2026-08-21"] if r["id"].split("/")[0].lower() in tracked}
    after = {r["id"]: r["downloads"] for r in days["2026-08-22"] if r["id"].split("/")[0].lower() in tracked}
    changes = sorted(((after[i] - before[i], i) for i in set(before) & set(after)
                      if before[i] is not None and after[i] is not None), key=lambda c: (-c[0], c[1]))
    change, model = changes[0]
    assert re.search(rf"up\s+{re.escape(model)}\s+.*\+{re.escape(fmt_count(change))}", text)


def test_fields_the_recordings_lack_are_missing_not_zero(replayed):
    _, store, pdfs = replayed
    last = list_snapshots(store)[-1]
    models = last.models
    assert models["downloads_all_time"].isna().all()
    assert models["params_total"].isna().all() and models["license"].isna().all()
    text = subprocess.run(["pdftotext", str(pdfs[-1]), "-"], capture_output=True, text=True, check=True).stdout
    assert "cannot be computed" in " ".join(text.split())
    assert "downloadsAllTime" in text
