"""The snapshot store: the table schema, immutable dated snapshots (write, verify, open), many
snapshots read as one table (:func:`load_history`), and retention (:func:`prune`).

May import: openbrief.errors only (no stage above it).
"""
from openbrief.store.history import (
    ANOMALY_KINDS,
    KEYS,
    TRASH_PREFIX,
    arrow_schema,
    load_history,
    select_snapshots,
    skipped_snapshots,
)

__all__ = [
    "ANOMALY_KINDS",
    "KEYS",
    "TRASH_PREFIX",
    "arrow_schema",
    "load_history",
    "select_snapshots",
    "skipped_snapshots",
]
