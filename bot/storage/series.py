"""Queries for series (weekly rules) and their occurrences (sessions)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import date, datetime, time
from typing import cast

from bot.errors import ConflictError, NotFoundError, ScheduleError
from bot.model import (
    FINISHED_OCCURRENCE_STATUSES,
    UNSET,
    WEEKDAY_CODES,
    CancelSource,
    OccurrenceRow,
    OccurrenceStatus,
    SeriesRow,
    SeriesStatus,
    Unset,
    check_weekly_rule,
)
from bot.storage.base import StorageBase, placeholders
from bot.storage.timestamps import from_db_date, from_db_time, to_db_date, to_db_time

__all__ = ["SeriesQueries"]

_SERIES_STATUSES = ("active", "paused", "ended")
_OCCURRENCE_STATUSES = ("scheduled", "cancelled", "open", "teacher_led", "no_teacher", "closed")


def series_from_row(row: sqlite3.Row) -> SeriesRow:
    """Build a SeriesRow from a `series` row."""
    hour, minute = (int(part) for part in row["local_time"].split(":"))
    return SeriesRow(
        id=row["id"],
        title=row["title"],
        weekdays=tuple(row["weekdays"].split(",")),
        local_time=time(hour, minute),
        interval_weeks=row["interval_weeks"],
        starts_on=from_db_date(row["starts_on"]),
        until=None if row["until"] is None else from_db_date(row["until"]),
        duration_minutes=row["duration_minutes"],
        channel_id=row["channel_id"],
        default_practice=row["default_practice"],
        status=cast(SeriesStatus, row["status"]),
        created_at=from_db_time(row["created_at"]),
        updated_at=from_db_time(row["updated_at"]),
    )


def occurrence_from_row(row: sqlite3.Row) -> OccurrenceRow:
    """Build an OccurrenceRow from an `occurrences` row."""
    return occurrences_from_rows([row])[0]


# OccurrenceRow's fields, in order, are the columns they come from.
_OCCURRENCE_COLUMNS = tuple(field.name for field in fields(OccurrenceRow))


def occurrences_from_rows(rows: Sequence[sqlite3.Row]) -> list[OccurrenceRow]:
    """Build OccurrenceRows from `occurrences` rows (a query may add columns of its own).

    Columns are found by name once and read by position: looking each one up by name took half
    the time of converting a listing, and start-up converts tens of thousands of rows.
    """
    if not rows:
        return []
    names = rows[0].keys()
    (
        id_,
        series_id,
        recurrence_id,
        start_utc,
        duration_minutes,
        channel_id,
        title,
        practice,
        status,
        change_version,
        created_at,
        updated_at,
        cancelled_by,
    ) = (names.index(column) for column in _OCCURRENCE_COLUMNS)
    return [
        OccurrenceRow(
            row[id_],
            row[series_id],
            from_db_time(row[recurrence_id]),
            from_db_time(row[start_utc]),
            row[duration_minutes],
            row[channel_id],
            row[title],
            row[practice],
            row[status],
            row[change_version],
            from_db_time(row[created_at]),
            from_db_time(row[updated_at]),
            row[cancelled_by],
        )
        for row in rows
    ]


def _check_positive(name: str, value: int) -> None:
    """Refuse zero or negative counts with a message naming the field."""
    if value < 1:
        raise ScheduleError(f"{name} must be at least 1; got {value}")


class SeriesQueries(StorageBase):
    """Series and occurrence queries."""

    async def create_series(
        self,
        *,
        title: str,
        weekdays: Sequence[str],
        local_time: time,
        starts_on: date,
        duration_minutes: int,
        channel_id: int,
        interval_weeks: int = 1,
        until: date | None = None,
        default_practice: str | None = None,
        status: SeriesStatus = "active",
    ) -> SeriesRow:
        """Store a new series and return it."""
        values = self._series_values(
            title, weekdays, local_time, interval_weeks, starts_on, until, duration_minutes, status
        )
        now = to_db_time(self.now())
        async with self.transaction():
            rows = await self._write_returning(
                "INSERT INTO series (title, weekdays, local_time, interval_weeks, starts_on, until,"
                " duration_minutes, channel_id, default_practice, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (*values[:7], channel_id, default_practice, status, now, now),
            )
        return series_from_row(rows[0])

    async def update_series(
        self,
        series_id: int,
        *,
        title: str | Unset = UNSET,
        weekdays: Sequence[str] | Unset = UNSET,
        local_time: time | Unset = UNSET,
        interval_weeks: int | Unset = UNSET,
        starts_on: date | Unset = UNSET,
        until: date | None | Unset = UNSET,
        duration_minutes: int | Unset = UNSET,
        channel_id: int | Unset = UNSET,
        default_practice: str | None | Unset = UNSET,
        status: SeriesStatus | Unset = UNSET,
    ) -> SeriesRow:
        """Change the given fields of a series (others stay) and return the updated series."""
        async with self.transaction():
            old = await self._require_series(series_id)
            new_status = old.status if isinstance(status, Unset) else status
            values = self._series_values(
                old.title if isinstance(title, Unset) else title,
                old.weekdays if isinstance(weekdays, Unset) else weekdays,
                old.local_time if isinstance(local_time, Unset) else local_time,
                old.interval_weeks if isinstance(interval_weeks, Unset) else interval_weeks,
                old.starts_on if isinstance(starts_on, Unset) else starts_on,
                old.until if isinstance(until, Unset) else until,
                old.duration_minutes if isinstance(duration_minutes, Unset) else duration_minutes,
                new_status,
            )
            rows = await self._write_returning(
                "UPDATE series SET title = ?, weekdays = ?, local_time = ?, interval_weeks = ?,"
                " starts_on = ?, until = ?, duration_minutes = ?, channel_id = ?, default_practice = ?,"
                " status = ?, updated_at = ? WHERE id = ? RETURNING *",
                (
                    *values[:7],
                    old.channel_id if isinstance(channel_id, Unset) else channel_id,
                    old.default_practice if isinstance(default_practice, Unset) else default_practice,
                    new_status,
                    to_db_time(self.now()),
                    series_id,
                ),
            )
        return series_from_row(rows[0])

    @staticmethod
    def _series_values(
        title: str,
        weekdays: Sequence[str],
        local_time: time,
        interval_weeks: int,
        starts_on: date,
        until: date | None,
        duration_minutes: int,
        status: str,
    ) -> tuple[str, str, str, int, str, str | None, int]:
        """Validate series fields and render the first seven columns as stored."""
        if not title.strip():
            raise ScheduleError("a series needs a title")
        _check_positive("interval_weeks", interval_weeks)
        _check_positive("duration_minutes", duration_minutes)
        if status not in _SERIES_STATUSES:
            raise ValueError(f"unknown series status {status!r}")
        return (
            title.strip(),
            ",".join(WEEKDAY_CODES[day] for day in check_weekly_rule(weekdays, local_time, starts_on, until)),
            f"{local_time.hour:02d}:{local_time.minute:02d}",
            interval_weeks,
            to_db_date(starts_on),
            None if until is None else to_db_date(until),
            duration_minutes,
        )

    async def get_series(self, series_id: int) -> SeriesRow | None:
        """Return one series, or None if there is no such id."""
        row = await self._fetchone("SELECT * FROM series WHERE id = ?", (series_id,))
        return None if row is None else series_from_row(row)

    async def list_series(self, statuses: Iterable[SeriesStatus] | None = None) -> list[SeriesRow]:
        """Return series (optionally only those in the given statuses), oldest first."""
        if statuses is None:
            rows = await self._fetchall("SELECT * FROM series ORDER BY id")
        else:
            wanted = list(statuses)
            if not wanted:
                return []
            rows = await self._fetchall(
                f"SELECT * FROM series WHERE status IN ({placeholders(len(wanted))}) ORDER BY id",  # noqa: S608 (placeholders only)
                wanted,
            )
        return [series_from_row(row) for row in rows]

    async def _require_series(self, series_id: int) -> SeriesRow:
        """Return a series or raise NotFoundError."""
        series = await self.get_series(series_id)
        if series is None:
            raise NotFoundError(f"there is no series #{series_id}")
        return series

    async def ensure_occurrences(
        self,
        series_id: int,
        starts: Iterable[datetime],
        duration_minutes: int,
        channel_id: int,
        title: str,
        practice: str | None,
    ) -> int:
        """Insert occurrences for the rule-given starts not yet present; return how many were added.

        A start already stored as a recurrence id is left alone, whatever happened to it since
        (cancelled, moved, re-channelled), so re-expansion never undoes a per-occurrence change.
        Members signed up for the whole series are signed up for each new upcoming occurrence.
        """
        _check_positive("duration_minutes", duration_minutes)
        start_texts = [to_db_time(start) for start in starts]
        now = to_db_time(self.now())
        added = 0
        async with self.transaction():
            await self._require_series(series_id)
            for start in start_texts:
                rows = await self._write_returning(
                    "INSERT INTO occurrences (series_id, recurrence_id, start_utc, duration_minutes,"
                    " channel_id, title, practice, status, change_version, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'scheduled', 1, ?, ?)"
                    " ON CONFLICT (series_id, recurrence_id) DO NOTHING RETURNING id",
                    (series_id, start, start, duration_minutes, channel_id, title, practice, now, now),
                )
                if not rows:
                    continue
                added += 1
                if start > now:
                    await self._write(
                        "INSERT INTO signups (occurrence_id, user_id, created_at, source)"
                        " SELECT ?, user_id, ?, 'series' FROM series_signups WHERE series_id = ?"
                        " ON CONFLICT (occurrence_id, user_id) DO NOTHING",
                        (rows[0]["id"], now, series_id),
                    )
        return added

    async def add_one_off(
        self,
        *,
        start: datetime,
        duration_minutes: int,
        channel_id: int,
        title: str,
        practice: str | None = None,
    ) -> OccurrenceRow:
        """Store a session that belongs to no series and return it."""
        _check_positive("duration_minutes", duration_minutes)
        start_text = to_db_time(start)
        now = to_db_time(self.now())
        async with self.transaction():
            rows = await self._write_returning(
                "INSERT INTO occurrences (series_id, recurrence_id, start_utc, duration_minutes,"
                " channel_id, title, practice, status, change_version, created_at, updated_at)"
                " VALUES (NULL, ?, ?, ?, ?, ?, ?, 'scheduled', 1, ?, ?) RETURNING *",
                (start_text, start_text, duration_minutes, channel_id, title, practice, now, now),
            )
        return occurrence_from_row(rows[0])

    async def get_occurrence(self, occurrence_id: int) -> OccurrenceRow | None:
        """Return one occurrence, or None if there is no such id."""
        row = await self._fetchone("SELECT * FROM occurrences WHERE id = ?", (occurrence_id,))
        return None if row is None else occurrence_from_row(row)

    async def list_occurrences(
        self,
        start_from: datetime,
        start_before: datetime,
        *,
        statuses: Iterable[OccurrenceStatus] | None = None,
        series_id: int | None = None,
    ) -> list[OccurrenceRow]:
        """Return occurrences starting in [start_from, start_before), by start, optionally filtered."""
        sql = "SELECT * FROM occurrences WHERE start_utc >= ? AND start_utc < ?"
        params: list[object] = [to_db_time(start_from), to_db_time(start_before)]
        if statuses is not None:
            wanted = list(statuses)
            if not wanted:
                return []
            sql += f" AND status IN ({placeholders(len(wanted))})"
            params.extend(wanted)
        if series_id is not None:
            sql += " AND series_id = ?"
            params.append(series_id)
        rows = await self._fetchall(sql + " ORDER BY start_utc, id", params)
        return occurrences_from_rows(rows)

    async def _require_occurrence(self, occurrence_id: int) -> OccurrenceRow:
        """Return an occurrence or raise NotFoundError."""
        occurrence = await self.get_occurrence(occurrence_id)
        if occurrence is None:
            raise NotFoundError(f"there is no session #{occurrence_id}")
        return occurrence

    async def _require_changeable(self, occurrence_id: int) -> OccurrenceRow:
        """Return an occurrence that is not cancelled or closed, else raise."""
        occurrence = await self._require_occurrence(occurrence_id)
        if occurrence.status in FINISHED_OCCURRENCE_STATUSES:
            raise ConflictError(f"session #{occurrence_id} is already {occurrence.status}")
        return occurrence

    async def cancel_occurrence(
        self, occurrence_id: int, *, by: CancelSource = "session"
    ) -> tuple[OccurrenceRow, OccurrenceRow]:
        """Cancel a session, raising its change_version; return (before, after)."""
        async with self.transaction():
            old = await self._require_changeable(occurrence_id)
            rows = await self._write_returning(
                "UPDATE occurrences SET status = 'cancelled', cancelled_by = ?, change_version = change_version + 1,"
                " updated_at = ? WHERE id = ? RETURNING *",
                (by, to_db_time(self.now()), occurrence_id),
            )
        return old, occurrence_from_row(rows[0])

    async def restore_occurrence(self, occurrence_id: int) -> tuple[OccurrenceRow, OccurrenceRow]:
        """Put a cancelled session back on the schedule, raising its change_version; return (before, after)."""
        async with self.transaction():
            old = await self._require_occurrence(occurrence_id)
            if old.status != "cancelled":
                raise ConflictError(f"session #{occurrence_id} is not cancelled (it is {old.status})")
            rows = await self._write_returning(
                "UPDATE occurrences SET status = 'scheduled', cancelled_by = NULL,"
                " change_version = change_version + 1, updated_at = ? WHERE id = ? RETURNING *",
                (to_db_time(self.now()), occurrence_id),
            )
        return old, occurrence_from_row(rows[0])

    async def rebase_occurrence(
        self, occurrence_id: int, *, recurrence_id: datetime, start: datetime
    ) -> tuple[OccurrenceRow, OccurrenceRow]:
        """Give a session a new rule-given recurrence id (its series' rule changed) and start.

        The change_version rises only if the start moves: a new recurrence id alone is bookkeeping.
        """
        async with self.transaction():
            old = await self._require_changeable(occurrence_id)
            bump = int(old.start_utc != start)
            rows = await self._write_returning(
                "UPDATE occurrences SET recurrence_id = ?, start_utc = ?, change_version = change_version + ?,"
                " updated_at = ? WHERE id = ? RETURNING *",
                (to_db_time(recurrence_id), to_db_time(start), bump, to_db_time(self.now()), occurrence_id),
            )
        return old, occurrence_from_row(rows[0])

    async def touch_occurrence(self, occurrence_id: int) -> tuple[OccurrenceRow, OccurrenceRow]:
        """Raise a session's change_version for a change stored elsewhere (e.g. its teacher)."""
        async with self.transaction():
            old = await self._require_changeable(occurrence_id)
            rows = await self._write_returning(
                "UPDATE occurrences SET change_version = change_version + 1, updated_at = ? WHERE id = ? RETURNING *",
                (to_db_time(self.now()), occurrence_id),
            )
        return old, occurrence_from_row(rows[0])

    async def update_occurrence_details(
        self,
        occurrence_id: int,
        *,
        title: str | None = None,
        duration_minutes: int | None = None,
        practice: str | None | Unset = UNSET,
    ) -> tuple[OccurrenceRow, OccurrenceRow]:
        """Change a session's title, length or planned practice, raising its change_version."""
        async with self.transaction():
            old = await self._require_changeable(occurrence_id)
            new_practice = old.practice if isinstance(practice, Unset) else practice
            rows = await self._write_returning(
                "UPDATE occurrences SET title = ?, duration_minutes = ?, practice = ?,"
                " change_version = change_version + 1, updated_at = ? WHERE id = ? RETURNING *",
                (
                    old.title if title is None else title,
                    old.duration_minutes if duration_minutes is None else duration_minutes,
                    new_practice,
                    to_db_time(self.now()),
                    occurrence_id,
                ),
            )
        return old, occurrence_from_row(rows[0])

    async def move_occurrence(self, occurrence_id: int, new_start: datetime) -> tuple[OccurrenceRow, OccurrenceRow]:
        """Move a session to a new start (its recurrence id stays), raising change_version."""
        start_text = to_db_time(new_start)
        async with self.transaction():
            old = await self._require_changeable(occurrence_id)
            rows = await self._write_returning(
                "UPDATE occurrences SET start_utc = ?, change_version = change_version + 1,"
                " updated_at = ? WHERE id = ? RETURNING *",
                (start_text, to_db_time(self.now()), occurrence_id),
            )
        return old, occurrence_from_row(rows[0])

    async def set_occurrence_channel(self, occurrence_id: int, channel_id: int) -> tuple[OccurrenceRow, OccurrenceRow]:
        """Put a session in another voice channel, raising change_version; return (before, after)."""
        async with self.transaction():
            old = await self._require_changeable(occurrence_id)
            rows = await self._write_returning(
                "UPDATE occurrences SET channel_id = ?, change_version = change_version + 1,"
                " updated_at = ? WHERE id = ? RETURNING *",
                (channel_id, to_db_time(self.now()), occurrence_id),
            )
        return old, occurrence_from_row(rows[0])

    async def set_occurrence_status(
        self, occurrence_id: int, status: OccurrenceStatus
    ) -> tuple[OccurrenceRow, OccurrenceRow]:
        """Record a lifecycle step (open, teacher_led, no_teacher, closed) without a version bump.

        These steps are the session running as announced, not changes members must be told about;
        cancelling goes through cancel_occurrence, which does raise the version.
        """
        if status not in _OCCURRENCE_STATUSES or status == "cancelled":
            raise ValueError(f"set_occurrence_status cannot set {status!r}; use cancel_occurrence to cancel")
        async with self.transaction():
            old = await self._require_changeable(occurrence_id)
            rows = await self._write_returning(
                "UPDATE occurrences SET status = ?, updated_at = ? WHERE id = ? RETURNING *",
                (status, to_db_time(self.now()), occurrence_id),
            )
        return old, occurrence_from_row(rows[0])
