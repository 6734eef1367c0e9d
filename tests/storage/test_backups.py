"""Backup names sort by the time they were taken; rotation keeps the newest and nothing else goes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.storage.backups import backup_name, list_backups, rotate

NIGHT = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def take(folder: Path, moment: datetime) -> Path:
    """Write a stand-in backup under the name the bot would give it."""
    folder.mkdir(exist_ok=True)
    path = backup_name(folder, moment)
    path.write_bytes(b"copy")
    return path


def test_names_say_when_in_utc_and_sort_newest_first(tmp_path: Path) -> None:
    first = take(tmp_path, NIGHT - timedelta(days=1))
    pacific_evening = datetime(2026, 11, 19, 19, 0, 1, tzinfo=ZoneInfo("America/Los_Angeles"))
    second = take(tmp_path, pacific_evening)  # 03:00:01 UTC the next day
    assert first.name == "practice-circles-2026-11-19T030000Z.sqlite3"
    assert second.name == "practice-circles-2026-11-20T030001Z.sqlite3"
    assert [b.path for b in list_backups(tmp_path)] == [second, first]


def test_copies_in_the_same_second_never_replace_or_outrank_each_other(tmp_path: Path) -> None:
    made = [take(tmp_path, NIGHT) for _ in range(3)]
    assert [p.name for p in made] == [
        "practice-circles-2026-11-20T030000Z.sqlite3",
        "practice-circles-2026-11-20T030000Z-1.sqlite3",
        "practice-circles-2026-11-20T030000Z-2.sqlite3",
    ]
    rotate(tmp_path, keep=2)
    latest = take(tmp_path, NIGHT)  # the first name is free again, but must sort after the others
    assert latest.name.endswith("Z-3.sqlite3")
    assert rotate(tmp_path, keep=2) == [made[1]]
    assert [b.path for b in list_backups(tmp_path)] == [latest, made[2]]


def test_rotation_leaves_other_files_alone(tmp_path: Path) -> None:
    nights = [take(tmp_path, NIGHT + timedelta(days=day)) for day in range(5)]
    others = [tmp_path / "before-restore-2026-11-01T120000Z.sqlite3", tmp_path / "before-upgrade.sqlite3"]
    for path in others:
        path.write_bytes(b"mine")
    assert rotate(tmp_path, keep=3) == nights[:2][::-1]
    assert sorted(tmp_path.iterdir()) == sorted([*nights[2:], *others])


def test_naive_times_and_keeping_none_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        backup_name(tmp_path, datetime(2026, 11, 20, 3, 0))  # noqa: DTZ001 (the point of the test)
    with pytest.raises(ValueError, match="at least one"):
        rotate(tmp_path, keep=0)
