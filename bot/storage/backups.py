"""The backups folder: names that sort by time, and rotation that keeps the newest N.

`python -m bot backup` writes `practice-circles-2026-11-20T030000Z.sqlite3` (the UTC time of the
copy) into `[storage] backups`, checks it, then removes the oldest of those so that
`[storage] keep_backups` remain. Only files named that way are ever removed: a copy made with
`--to`, or set aside by a restore (`before-restore-...`), stays until someone deletes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["Backup", "aside_name", "backup_name", "list_backups", "rotate"]

PREFIX = "practice-circles-"
SUFFIX = ".sqlite3"
_STAMP = "%Y-%m-%dT%H%M%SZ"
# A second copy within the same second gets -1, -2... so it never replaces the first.
_NAME = re.compile(r"practice-circles-(\d{4}-\d{2}-\d{2}T\d{6}Z)(?:-(\d+))?\.sqlite3")


@dataclass(frozen=True)
class Backup:
    """One automatic backup in the folder."""

    path: Path
    taken_at: datetime
    sequence: int

    @property
    def size(self) -> int:
        """Bytes on disk."""
        return self.path.stat().st_size


def _stamp(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TypeError("backup times must be aware datetimes")
    return moment.astimezone(UTC).strftime(_STAMP)


def backup_name(folder: Path, moment: datetime) -> Path:
    """A new backup path in folder for a copy taken at `moment`, sorting after every copy before it."""
    stamp = _stamp(moment)
    # Past the highest sequence of this second, not into a gap rotation left: a reused name would
    # sort as older than its neighbours and be rotated away at once.
    taken = [
        int(match.group(2) or 0)
        for path in (folder.iterdir() if folder.is_dir() else ())
        if (match := _NAME.fullmatch(path.name.removesuffix(".partial"))) is not None and match.group(1) == stamp
    ]
    sequence = max(taken) + 1 if taken else 0
    return folder / (f"{PREFIX}{stamp}{SUFFIX}" if sequence == 0 else f"{PREFIX}{stamp}-{sequence}{SUFFIX}")


def aside_name(folder: Path, moment: datetime) -> Path:
    """Where a restore keeps the database as it was, at `moment` (never rotated away)."""
    return folder / f"before-restore-{_stamp(moment)}{SUFFIX}"


def list_backups(folder: Path) -> list[Backup]:
    """The automatic backups in folder, newest first (other files are not listed)."""
    if not folder.is_dir():
        return []
    found: list[Backup] = []
    for path in folder.iterdir():
        match = _NAME.fullmatch(path.name)
        if match is None or not path.is_file():
            continue
        taken = datetime.strptime(match.group(1), _STAMP).replace(tzinfo=UTC)
        found.append(Backup(path, taken, int(match.group(2) or 0)))
    return sorted(found, key=lambda backup: (backup.taken_at, backup.sequence), reverse=True)


def rotate(folder: Path, keep: int) -> list[Path]:
    """Remove the oldest automatic backups so that `keep` remain; return what was removed."""
    if keep < 1:
        raise ValueError("rotation keeps at least one backup")
    removed: list[Path] = []
    for backup in list_backups(folder)[keep:]:
        backup.path.unlink(missing_ok=True)
        removed.append(backup.path)
    return removed
