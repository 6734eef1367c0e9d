"""Queries about people: sign-ups, teacher claims, member preferences and attendance.

Series sign-ups are materialised: signing up for a series inserts a `signups` row (source
'series') for each of its upcoming occurrences that is still open to sign-ups, and
`ensure_occurrences` does the same for occurrences added later. So "who is coming" is one table,
a member can sign out of a single occurrence of a series they follow, and signing out of the
series removes only the upcoming rows the series sign-up created (not ones made by hand).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from bot.errors import ConflictError
from bot.model import (
    UNSET,
    AttendanceRow,
    MemberRow,
    OccurrenceRow,
    ReminderChannel,
    SignupRow,
    SignupSource,
    TeacherClaimRow,
    Unset,
)
from bot.storage.base import placeholders
from bot.storage.records import RecordQueries
from bot.storage.series import SeriesQueries, occurrences_from_rows
from bot.storage.timestamps import from_db_time, to_db_time

__all__ = ["PeopleQueries"]

_SIGNUP_SOURCES = ("command", "button", "event", "series")
# Sessions per query when listing teachers and sign-up counts (well under SQLite's bound-value limit).
# At most this many ids are looked up on the event loop itself (see StorageBase._fetchfew).
_FEW = 25
_LISTING_BATCH = 500


def _signup_from_row(row: sqlite3.Row) -> SignupRow:
    """Build a SignupRow from a `signups` row."""
    return SignupRow(
        occurrence_id=row["occurrence_id"],
        user_id=row["user_id"],
        created_at=from_db_time(row["created_at"]),
        source=cast(SignupSource, row["source"]),
    )


def _claim_from_row(row: sqlite3.Row) -> TeacherClaimRow:
    """Build a TeacherClaimRow from a `teacher_claims` row."""
    return TeacherClaimRow(
        occurrence_id=row["occurrence_id"],
        teacher_id=row["teacher_id"],
        claimed_at=from_db_time(row["claimed_at"]),
    )


def _member_from_row(row: sqlite3.Row) -> MemberRow:
    """Build a MemberRow from a `members` row."""
    offsets_text = row["reminder_offsets"]
    offsets = None if offsets_text is None else tuple(int(part) for part in offsets_text.split(",") if part)
    return MemberRow(
        user_id=row["user_id"],
        timezone=row["timezone"],
        reminder_offsets=offsets,
        reminder_channel=cast(ReminderChannel, row["reminder_channel"]),
        dm_closed=bool(row["dm_closed"]),
        updated_at=from_db_time(row["updated_at"]),
        private_thread_id=row["private_thread_id"],
        dm_channel_id=row["dm_channel_id"],
    )


def _attendance_from_row(row: sqlite3.Row) -> AttendanceRow:
    """Build an AttendanceRow from an `attendance` row."""
    return AttendanceRow(
        id=row["id"],
        occurrence_id=row["occurrence_id"],
        user_id=row["user_id"],
        joined_at=from_db_time(row["joined_at"]),
        left_at=None if row["left_at"] is None else from_db_time(row["left_at"]),
    )


def _offsets_text(offsets: Sequence[int] | None) -> str | None:
    """Validate reminder offsets (positive whole minutes) and render them largest first."""
    if offsets is None:
        return None
    values = sorted(set(offsets), reverse=True)
    if any(not isinstance(value, int) or isinstance(value, bool) or value < 1 for value in values):
        raise ValueError(f"reminder offsets are positive whole minutes; got {list(offsets)}")
    return ",".join(str(value) for value in values)


class PeopleQueries(SeriesQueries, RecordQueries):
    """Sign-ups, teacher claims, member preferences and attendance."""

    async def sign_up(self, occurrence_id: int, user_id: int, source: SignupSource = "command") -> bool:
        """Sign a member up for a session; return False if they already were."""
        if source not in _SIGNUP_SOURCES:
            raise ValueError(f"unknown sign-up source {source!r}")
        async with self.transaction():
            occurrence = await self._require_occurrence(occurrence_id)
            if occurrence.status in ("cancelled", "closed"):
                raise ConflictError(f"session #{occurrence_id} is {occurrence.status}; it takes no sign-ups")
            changed = await self._write(
                "INSERT INTO signups (occurrence_id, user_id, created_at, source) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (occurrence_id, user_id) DO NOTHING",
                (occurrence_id, user_id, to_db_time(self.now()), source),
            )
        return changed == 1

    async def sign_out(self, occurrence_id: int, user_id: int) -> bool:
        """Remove a member's sign-up for one session; return False if there was none."""
        async with self.transaction():
            changed = await self._write(
                "DELETE FROM signups WHERE occurrence_id = ? AND user_id = ?", (occurrence_id, user_id)
            )
        return changed == 1

    async def sign_up_series(self, series_id: int, user_id: int) -> bool:
        """Sign a member up for a series and its upcoming sessions; return False if already signed up."""
        now = to_db_time(self.now())
        async with self.transaction():
            series = await self._require_series(series_id)
            if series.status == "ended":
                raise ConflictError(f"series #{series_id} has ended")
            changed = await self._write(
                "INSERT INTO series_signups (series_id, user_id, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (series_id, user_id) DO NOTHING",
                (series_id, user_id, now),
            )
            if changed == 0:
                # Materialising again would undo the member's sign-outs from single sessions.
                return False
            await self._write(
                "INSERT INTO signups (occurrence_id, user_id, created_at, source)"
                " SELECT id, ?, ?, 'series' FROM occurrences"
                " WHERE series_id = ? AND start_utc > ? AND status NOT IN ('cancelled', 'closed')"
                " ON CONFLICT (occurrence_id, user_id) DO NOTHING",
                (user_id, now, series_id, now),
            )
        return True

    async def sign_out_series(self, series_id: int, user_id: int) -> bool:
        """Remove a series sign-up and the upcoming sign-ups it created; False if there was none."""
        now = to_db_time(self.now())
        async with self.transaction():
            changed = await self._write(
                "DELETE FROM series_signups WHERE series_id = ? AND user_id = ?", (series_id, user_id)
            )
            await self._write(
                "DELETE FROM signups WHERE user_id = ? AND source = 'series' AND occurrence_id IN"
                " (SELECT id FROM occurrences WHERE series_id = ? AND start_utc > ?)",
                (user_id, series_id, now),
            )
        return changed == 1

    async def signed_up_user_ids(self, occurrence_id: int) -> list[int]:
        """Return the ids of everyone signed up for a session (series sign-ups included), earliest first."""
        rows = await self._fetchall(
            "SELECT user_id FROM signups WHERE occurrence_id = ? ORDER BY created_at, user_id",
            (occurrence_id,),
        )
        return [row["user_id"] for row in rows]

    async def reminder_recipients(
        self, occurrence_id: int, offset_minutes: int, *, default_offsets: Sequence[int], signed_up_by: datetime
    ) -> list[int]:
        """Return who should get the `offset_minutes` reminder: signed up by then, and wanting that offset."""
        # members.reminder_offsets is NULL for "the community default" and a comma list otherwise,
        # so wrapping it in commas lets LIKE match a whole number, never a part of one.
        sql = (
            "SELECT s.user_id FROM signups AS s LEFT JOIN members AS m ON m.user_id = s.user_id"
            " WHERE s.occurrence_id = ? AND s.created_at <= ?"
            " AND ((m.reminder_offsets IS NULL AND ?)"
            "      OR (',' || m.reminder_offsets || ',') LIKE ('%,' || ? || ',%'))"
            " ORDER BY s.created_at, s.user_id"
        )
        params = (occurrence_id, to_db_time(signed_up_by), int(offset_minutes in default_offsets), offset_minutes)
        return [row["user_id"] for row in await self._fetchall(sql, params)]

    async def is_signed_up(self, occurrence_id: int, user_id: int) -> bool:
        """Whether a member is signed up for a session."""
        value = await self._fetchvalue(
            "SELECT 1 FROM signups WHERE occurrence_id = ? AND user_id = ?", (occurrence_id, user_id)
        )
        return value is not None

    async def list_signups(self, occurrence_id: int) -> list[SignupRow]:
        """Return the sign-ups for a session with when and how each was made."""
        rows = await self._fetchall(
            "SELECT * FROM signups WHERE occurrence_id = ? ORDER BY created_at, user_id", (occurrence_id,)
        )
        return [_signup_from_row(row) for row in rows]

    async def count_signups(self, occurrence_id: int) -> int:
        """Return how many people are signed up for a session."""
        sql = "SELECT count(*) FROM signups WHERE occurrence_id = ?"
        return int(await self._fetchvalue(sql, (occurrence_id,)))

    async def teachers_and_signups(self, occurrence_ids: Sequence[int]) -> dict[int, tuple[int | None, int]]:
        """For each session: its teacher's id (None if unclaimed) and how many are signed up; one query per 500."""
        found: dict[int, tuple[int | None, int]] = {}
        wanted = list(dict.fromkeys(occurrence_ids))
        for first in range(0, len(wanted), _LISTING_BATCH):
            batch = wanted[first : first + _LISTING_BATCH]
            rows = await self._fetchall(
                "SELECT o.id, c.teacher_id,"  # noqa: S608 (the IN list is placeholders only)
                " (SELECT count(*) FROM signups AS s WHERE s.occurrence_id = o.id) AS signups"
                " FROM occurrences AS o LEFT JOIN teacher_claims AS c ON c.occurrence_id = o.id"
                f" WHERE o.id IN ({placeholders(len(batch))})",
                batch,
            )
            found.update({row["id"]: (row["teacher_id"], row["signups"]) for row in rows})
        return found

    async def signed_up_among(self, user_id: int, occurrence_ids: Sequence[int]) -> set[int]:
        """Which of these sessions a member is signed up for."""
        wanted = list(dict.fromkeys(occurrence_ids))
        found: set[int] = set()
        for first in range(0, len(wanted), _LISTING_BATCH):
            batch = wanted[first : first + _LISTING_BATCH]
            sql = (
                "SELECT occurrence_id FROM signups WHERE user_id = ?"  # noqa: S608 (the IN list is placeholders only)
                f" AND occurrence_id IN ({placeholders(len(batch))})"
            )
            # A page's few ids are answered from the primary key at once; long lists go the usual way.
            fetch = self._fetchfew if len(batch) <= _FEW else self._fetchall
            found.update(row["occurrence_id"] for row in await fetch(sql, [user_id, *batch]))
        return found

    async def series_signup_user_ids(self, series_id: int) -> list[int]:
        """Return the ids of everyone signed up for a whole series."""
        rows = await self._fetchall(
            "SELECT user_id FROM series_signups WHERE series_id = ? ORDER BY created_at, user_id",
            (series_id,),
        )
        return [row["user_id"] for row in rows]

    async def list_user_occurrences(
        self, user_id: int, start_from: datetime, start_before: datetime | None = None
    ) -> list[OccurrenceRow]:
        """Return the sessions a member is signed up for, starting from a time, by start."""
        rows = await self._fetchall(
            "SELECT o.* FROM occurrences AS o JOIN signups AS s ON s.occurrence_id = o.id"
            " WHERE s.user_id = ? AND o.start_utc >= ? AND (?3 IS NULL OR o.start_utc < ?3)"
            " ORDER BY o.start_utc, o.id",
            (user_id, to_db_time(start_from), None if start_before is None else to_db_time(start_before)),
        )
        return occurrences_from_rows(rows)

    async def claim_teacher(self, occurrence_id: int, teacher_id: int) -> TeacherClaimRow:
        """Claim a session for a teacher; the same teacher again is a no-op, another raises ConflictError."""
        now = to_db_time(self.now())
        async with self.transaction():
            occurrence = await self._require_occurrence(occurrence_id)
            if occurrence.status in ("cancelled", "closed"):
                raise ConflictError(f"session #{occurrence_id} is {occurrence.status}; it cannot be claimed")
            # The primary key on occurrence_id decides the race: only one INSERT can succeed.
            rows = await self._write_returning(
                "INSERT INTO teacher_claims (occurrence_id, teacher_id, claimed_at) VALUES (?, ?, ?)"
                " ON CONFLICT (occurrence_id) DO NOTHING RETURNING *",
                (occurrence_id, teacher_id, now),
            )
            if rows:
                await self.add_audit(teacher_id, "teacher.claim", f"occurrence:{occurrence_id}")
                return _claim_from_row(rows[0])
            existing = await self.get_teacher_claim(occurrence_id)
        if existing is not None and existing.teacher_id == teacher_id:
            return existing
        raise ConflictError("another teacher has already claimed this session")

    async def unclaimed_with_audit(
        self, start_from: datetime, start_before: datetime, actions: Sequence[str]
    ) -> list[tuple[OccurrenceRow, frozenset[str]]]:
        """Unclaimed scheduled sessions starting in [start_from, start_before), each with the `actions` audited for it.

        One query for all of them (the unclaimed-session alerts ask this at start-up): three
        questions per session made a restart with 10,000 upcoming sessions take seconds.
        """
        wanted = list(dict.fromkeys(actions))
        posted = "".join(
            f", EXISTS (SELECT 1 FROM audit_log AS a WHERE a.target = 'occurrence:' || o.id"  # noqa: S608 (numbered placeholders only)
            f" AND a.action = ?{i + 1}) AS posted_{i}"
            for i in range(len(wanted))
        )
        first = len(wanted) + 1
        rows = await self._fetchall(
            f"SELECT o.*{posted} FROM occurrences AS o"  # noqa: S608 (fixed SQL with numbered placeholders only)
            " LEFT JOIN teacher_claims AS c ON c.occurrence_id = o.id"
            f" WHERE o.start_utc >= ?{first} AND o.start_utc < ?{first + 1} AND o.status = 'scheduled'"
            " AND c.occurrence_id IS NULL ORDER BY o.start_utc, o.id",
            (*wanted, to_db_time(start_from), to_db_time(start_before)),
        )
        flags = [f"posted_{i}" for i in range(len(wanted))]
        return [
            (occurrence, frozenset(action for action, flag in zip(wanted, flags, strict=True) if row[flag]))
            for occurrence, row in zip(occurrences_from_rows(rows), rows, strict=True)
        ]

    async def get_teacher_claim(self, occurrence_id: int) -> TeacherClaimRow | None:
        """Return who holds a session, if anyone."""
        row = await self._fetchone("SELECT * FROM teacher_claims WHERE occurrence_id = ?", (occurrence_id,))
        return None if row is None else _claim_from_row(row)

    async def release_teacher(
        self,
        occurrence_id: int,
        *,
        actor_id: int | None,
        reason: str = "",
        teacher_id: int | None = None,
    ) -> TeacherClaimRow | None:
        """Release a session's claim (only teacher_id's, if given) and audit it; return the released claim."""
        async with self.transaction():
            claim = await self.get_teacher_claim(occurrence_id)
            if claim is None:
                return None
            if teacher_id is not None and claim.teacher_id != teacher_id:
                raise ConflictError("this session is held by another teacher")
            await self._write("DELETE FROM teacher_claims WHERE occurrence_id = ?", (occurrence_id,))
            await self.add_audit(
                actor_id,
                "teacher.release",
                f"occurrence:{occurrence_id}",
                {"teacher_id": claim.teacher_id, "reason": reason},
            )
        return claim

    async def get_member(self, user_id: int) -> MemberRow | None:
        """Return a member's stored preferences, or None if they never set any."""
        row = await self._fetchone("SELECT * FROM members WHERE user_id = ?", (user_id,))
        return None if row is None else _member_from_row(row)

    async def members_with_timezone(self) -> list[tuple[int, str]]:
        """Every member who gave a time zone, with it."""
        rows = await self._fetchall("SELECT user_id, timezone FROM members WHERE timezone IS NOT NULL ORDER BY user_id")
        return [(row["user_id"], row["timezone"]) for row in rows]

    async def set_member(
        self,
        user_id: int,
        *,
        timezone: str | None | Unset = UNSET,
        reminder_offsets: Sequence[int] | None | Unset = UNSET,
        reminder_channel: ReminderChannel | Unset = UNSET,
        dm_closed: bool | Unset = UNSET,
    ) -> MemberRow:
        """Change the given preferences of a member (creating the row) and return them all.

        The timezone is stored as given; checking it is a real IANA name is the caller's job.
        """
        if not isinstance(reminder_channel, Unset) and reminder_channel not in ("dm", "thread"):
            raise ValueError(f"unknown reminder channel {reminder_channel!r}")
        async with self.transaction():
            old = await self.get_member(user_id)
            # Fields not given keep their stored value, or the column default for a new member.
            if isinstance(timezone, Unset):
                timezone = old.timezone if old else None
            if isinstance(reminder_offsets, Unset):
                reminder_offsets = old.reminder_offsets if old else None
            if isinstance(reminder_channel, Unset):
                reminder_channel = old.reminder_channel if old else "dm"
            if isinstance(dm_closed, Unset):
                dm_closed = old.dm_closed if old else False
            rows = await self._write_returning(
                "INSERT INTO members"
                " (user_id, timezone, reminder_offsets, reminder_channel, dm_closed, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
                " timezone = excluded.timezone, reminder_offsets = excluded.reminder_offsets,"
                " reminder_channel = excluded.reminder_channel, dm_closed = excluded.dm_closed,"
                " updated_at = excluded.updated_at RETURNING *",
                (
                    user_id,
                    timezone,
                    _offsets_text(reminder_offsets),
                    reminder_channel,
                    int(dm_closed),
                    to_db_time(self.now()),
                ),
            )
        return _member_from_row(rows[0])

    async def remember_dm_channel(self, user_id: int, channel_id: int | None) -> None:
        """Store (or, None, forget) the member's DM channel id, creating their row with defaults if needed."""
        async with self.transaction():
            await self._write(
                "INSERT INTO members (user_id, dm_channel_id, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET dm_channel_id = excluded.dm_channel_id,"
                " updated_at = excluded.updated_at",
                (user_id, channel_id, to_db_time(self.now())),
            )

    async def record_join(self, occurrence_id: int, user_id: int, at: datetime | None = None) -> bool:
        """Record someone entering a session's voice channel; False if they were already in."""
        joined = to_db_time(at if at is not None else self.now())
        async with self.transaction():
            await self._require_occurrence(occurrence_id)
            changed = await self._write(
                "INSERT INTO attendance (occurrence_id, user_id, joined_at) VALUES (?, ?, ?)"
                " ON CONFLICT (occurrence_id, user_id) WHERE left_at IS NULL DO NOTHING",
                (occurrence_id, user_id, joined),
            )
        return changed == 1

    async def record_leave(self, occurrence_id: int, user_id: int, at: datetime | None = None) -> bool:
        """Record someone leaving a session's voice channel; False if they were not in."""
        left = to_db_time(at if at is not None else self.now())
        async with self.transaction():
            changed = await self._write(
                "UPDATE attendance SET left_at = max(joined_at, ?)"
                " WHERE occurrence_id = ? AND user_id = ? AND left_at IS NULL",
                (left, occurrence_id, user_id),
            )
        return changed == 1

    async def close_attendance(self, occurrence_id: int, at: datetime | None = None) -> int:
        """Mark everyone still in a session as having left at `at` (session end); return how many."""
        left = to_db_time(at if at is not None else self.now())
        async with self.transaction():
            return await self._write(
                "UPDATE attendance SET left_at = max(joined_at, ?) WHERE occurrence_id = ? AND left_at IS NULL",
                (left, occurrence_id),
            )

    async def list_attendance(self, occurrence_id: int) -> list[AttendanceRow]:
        """Return every stay in a session's voice channel, by arrival."""
        rows = await self._fetchall(
            "SELECT * FROM attendance WHERE occurrence_id = ? ORDER BY joined_at, id", (occurrence_id,)
        )
        return [_attendance_from_row(row) for row in rows]
