"""Loading a brief's data: the snapshot (and the one before it), attributed by the registry.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from openbrief.i18n import N_
from openbrief.store.snapshot import (Snapshot, default_store, list_snapshots, newest_sound, open_snapshot, order_key,
                                warn_skipped)


META_MIME = "application/vnd.openbrief+json"
SYNTHETIC_NOTICE = N_("SYNTHETIC DATA: every figure in this brief is made up (openbrief demo)")


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
        from openbrief.store.history import load_history
        from openbrief.registry import attribute

        columns = ["id", "namespace", "query", "downloads", "downloads_all_time", "base_models", "base_relation",
                   "pipeline_tag", "library_name", "tags", "listed_by"]  # for metrics.select, select_universe
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
