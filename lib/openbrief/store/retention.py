"""Retention: which snapshots to keep by a rule (:func:`prune_plan`), and removing the rest
(:func:`prune`), never one that a kept brief's manifest refers to. The only code that deletes
from the store.
"""
from __future__ import annotations

import json
import operator
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from openbrief.errors import UsageError, WriteError
from openbrief.store.snapshot import (
    ID_PATTERN, acquire, list_snapshots, order_key, store_lock,
)
from openbrief.store.history import TRASH_PREFIX, _ID_IN_TEXT, _snapshot_time, _utc


# --------------------------------------------------------------------------- retention


class PruneArgumentError(UsageError, ValueError):
    """A bad retention argument: a ``ValueError`` for callers, exit code 2 for the CLI."""


@dataclass(frozen=True)
class PrunePlan:
    """Which snapshots a retention rule keeps and removes, and why.

    ``keep``/``remove``: snapshot ids, oldest first. ``reasons``: a sentence for every id of
    both. ``removed``: the ids actually removed (empty for a plan or a dry run).
    ``sizes``: bytes of each snapshot folder. ``warnings``: e.g. an unreadable manifest.
    """

    keep: list[str]
    remove: list[str]
    reasons: dict[str, str]
    removed: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = True

    def summary(self) -> str:
        """What was (or, for a dry run, would be) removed and kept, one line each."""
        verb = "would remove" if self.dry_run else "removed"
        gone = self.remove if self.dry_run else self.removed
        freed = sum(self.sizes.get(i, 0) for i in gone)
        lines = [f"{verb} {len(gone)} snapshot(s) ({freed / 2**20:.1f} MiB), kept {len(self.keep)}"]
        lines += [f"{verb} {i}: {self.reasons.get(i, '')}" for i in gone]
        lines += [f"kept {i}: {self.reasons.get(i, '')}" for i in self.keep]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def referenced_snapshots(briefs_dir: str | os.PathLike | None) -> tuple[dict[str, list[str]], list[str]]:
    """Snapshot ids that the briefs under ``briefs_dir`` refer to, and warnings.

    Reads every ``manifest.json`` below ``briefs_dir`` (at any depth, ``_failed/`` excepted):
    ``snapshot.id``, every snapshot id among the ``parameters`` values, and every id of a
    top-level ``snapshots`` list (plain ids or objects with an ``id``), for briefs that record
    all the snapshots they read. A manifest that cannot be read protects every snapshot id
    written in its folder's name (``<name>-<snapshot-id>-<built>``), with a warning.
    Returns ``({snapshot_id: [manifest paths relative to briefs_dir]}, warnings)``.
    """
    refs: dict[str, list[str]] = {}
    notes: list[str] = []
    if briefs_dir is None:
        return refs, notes
    root = Path(briefs_dir)
    if not root.is_dir():
        return refs, notes
    for path in sorted(root.rglob("manifest.json")):
        rel = path.relative_to(root)
        if "_failed" in rel.parts[:-1]:
            continue
        try:
            ids = _manifest_ids(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, AttributeError) as err:
            ids = set(_ID_IN_TEXT.findall(path.parent.name))
            notes.append(f"{rel} could not be read ({type(err).__name__}); kept the snapshot(s) its folder "
                         f"names: {', '.join(sorted(ids)) or 'none'}")
        for i in ids:
            refs.setdefault(i, []).append(str(rel))
    return refs, notes


def _manifest_ids(manifest: dict) -> set[str]:
    ids: set[str] = set()

    def add(value: Any) -> None:
        if isinstance(value, str) and ID_PATTERN.fullmatch(value):
            ids.add(value)
        elif isinstance(value, dict):
            if "id" in value:
                add(value["id"])
        elif isinstance(value, (list, tuple)):
            for v in value:
                add(v)

    snap = manifest.get("snapshot")
    add(snap["id"] if isinstance(snap, dict) and "id" in snap else snap)
    for value in (manifest.get("parameters") or {}).values():
        add(value)
    add(manifest.get("snapshots") or [])
    return ids


def prune_plan(store: str | os.PathLike, briefs_dir: str | os.PathLike | None, keep_weekly: int,
               keep_daily: int, now: Any = None) -> PrunePlan:
    """Which snapshots of ``store`` a retention rule keeps; nothing is removed.

    The rule (as restic's ``--keep-daily``/``--keep-weekly``), on UTC fetch times:

    - **daily**: the newest snapshot of each of the last ``keep_daily`` UTC days that have
      snapshots;
    - **weekly**: the newest snapshot of each of the last ``keep_weekly`` ISO weeks (Monday to
      Sunday) that have snapshots;
    - **always**: the newest snapshot overall, and every snapshot that a brief under
      ``briefs_dir`` refers to (see :func:`referenced_snapshots`; ``_failed/`` is ignored);
    - snapshots fetched after ``now`` (default: the current time) are kept and not counted;
    - every other complete snapshot is removed. Folders that are not complete snapshots
      (``.tmp-*``, ``.partial``, ...) are never touched. ``briefs_dir=None``: no brief
      protects anything (the CLI always passes the briefs folder).

    Days and weeks are counted among those that *have* snapshots, from the newest back, so a
    paused schedule never makes the rule remove everything. A snapshot kept for several
    reasons lists them all. Negative or non-integer ``keep_weekly``/``keep_daily``:
    ``ValueError``.
    """
    keep_weekly = _count_arg(keep_weekly, "--keep-weekly")
    keep_daily = _count_arg(keep_daily, "--keep-daily")
    limit = _utc(now, "now") if now is not None else pd.Timestamp.now(tz="UTC")
    snaps = list_snapshots(Path(store))  # complete snapshots only, oldest first
    refs, notes = referenced_snapshots(briefs_dir)
    times = {s.id: _snapshot_time(s) for s in snaps}
    reasons: dict[str, list[str]] = {s.id: [] for s in snaps}

    newest_first = sorted(snaps, key=lambda s: order_key(s.id), reverse=True)
    counted = [s for s in newest_first if times[s.id] <= limit]
    for s in newest_first:
        if times[s.id] > limit:
            reasons[s.id].append(f"fetched after {limit.strftime('%Y-%m-%dT%H:%M:%SZ')} (the plan's 'now')")
    if counted:
        reasons[counted[0].id].append("newest snapshot")
    days: list[Any] = []
    weeks: list[Any] = []
    for s in counted:
        t = times[s.id]
        day = t.date()
        if day not in days and len(days) < keep_daily:
            days.append(day)
            reasons[s.id].append(f"newest of UTC day {day.isoformat()} (daily {len(days)} of {keep_daily})")
        iso = t.isocalendar()
        week = (iso[0], iso[1])
        if week not in weeks and len(weeks) < keep_weekly:
            weeks.append(week)
            reasons[s.id].append(f"newest of ISO week {week[0]}-W{week[1]:02d} (weekly {len(weeks)} of {keep_weekly})")
    for sid, where in refs.items():
        if sid in reasons:
            shown = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
            reasons[sid].append(f"used by brief(s) {shown}")

    keep = [s.id for s in snaps if reasons[s.id]]
    remove = [s.id for s in snaps if not reasons[s.id]]
    rule = (f"not the newest of one of the last {keep_daily} UTC day(s) or {keep_weekly} ISO week(s) "
            "with snapshots, and no brief refers to it")
    final = {sid: "; ".join(r) if r else rule for sid, r in reasons.items()}
    sizes = {s.id: _folder_size(s.path) for s in snaps}
    return PrunePlan(keep=keep, remove=remove, reasons=final, sizes=sizes, warnings=notes, dry_run=True)


def prune(store: str | os.PathLike, briefs_dir: str | os.PathLike | None, keep_weekly: int, keep_daily: int,
          dry_run: bool = False, *, now: Any = None, lock_timeout: float = 60) -> PrunePlan:
    """Remove the snapshots that :func:`prune_plan` does not keep; return the plan, with ``removed``.

    Holds the briefs folder's lock (so no brief is being built on a snapshot meanwhile) and
    then the store's lock (no fetch writes meanwhile), and plans under them. Each snapshot is
    removed atomically: its folder is renamed to ``<store>/.trash-<id>`` (readers see it
    whole or not at all) and then deleted. Leftover ``.trash-*`` folders of an interrupted
    prune are deleted first. ``dry_run``: plan only, remove nothing, take no lock.
    Raises ``LockedError`` when a lock stays busy ``lock_timeout`` seconds, ``WriteError``
    when a removal fails (the ids removed until then are in its message).
    """
    if dry_run:
        return prune_plan(store, briefs_dir, keep_weekly, keep_daily, now=now)
    _count_arg(keep_weekly, "--keep-weekly")
    _count_arg(keep_daily, "--keep-daily")
    store = Path(store)
    if not store.is_dir():
        return prune_plan(store, briefs_dir, keep_weekly, keep_daily, now=now)
    briefs_lock = None
    if briefs_dir is not None and Path(briefs_dir).is_dir():
        from filelock import FileLock

        briefs_lock = acquire(FileLock(str(Path(briefs_dir) / ".lock"), timeout=lock_timeout),
                              f"briefs folder {briefs_dir}")
    try:
        with acquire(store_lock(store, lock_timeout), f"store {store}"):
            for old in store.glob(f"{TRASH_PREFIX}*"):
                shutil.rmtree(old, ignore_errors=True)
            plan = prune_plan(store, briefs_dir, keep_weekly, keep_daily, now=now)
            removed: list[str] = []
            for sid in plan.remove:
                trash = store / f"{TRASH_PREFIX}{sid}"
                try:
                    os.rename(store / sid, trash)
                except OSError as err:
                    raise WriteError(
                        f"could not remove snapshot {sid} from {store}: {err}; removed before it: "
                        f"{', '.join(removed) or 'none'}; the others are intact") from err
                removed.append(sid)
                shutil.rmtree(trash, ignore_errors=True)
            _fsync_dir(store)
    finally:
        if briefs_lock is not None:
            briefs_lock.release()
    return PrunePlan(keep=plan.keep, remove=plan.remove, reasons=plan.reasons, removed=removed,
                     sizes=plan.sizes, warnings=plan.warnings, dry_run=False)


def _count_arg(n: Any, what: str) -> int:
    """``n`` as a whole number >= 0, else :class:`PruneArgumentError`."""
    try:
        value = None if isinstance(n, bool) else operator.index(n)
    except TypeError:
        value = None
    if value is None or value < 0:
        raise PruneArgumentError(f"{what} must be a whole number >= 0, not {n!r}")
    return value


def _folder_size(path: Path) -> int:
    try:
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    except OSError:
        return 0


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
