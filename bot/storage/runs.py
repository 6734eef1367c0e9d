"""Queries about running sessions: the runner's persisted phase and the restrictions it applied."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from bot.model import RunPhase, RunRow, Venue
from bot.storage.base import StorageBase
from bot.storage.timestamps import from_db_time, to_db_time

__all__ = ["RunQueries"]


def _run_from_row(row: sqlite3.Row) -> RunRow:
    return RunRow(
        occurrence_id=row["occurrence_id"],
        venue=cast(Venue, row["venue"]),
        phase=cast(RunPhase, row["phase"]),
        phase_started_at=from_db_time(row["phase_started_at"]),
        phase_ends_at=None if row["phase_ends_at"] is None else from_db_time(row["phase_ends_at"]),
        choice=row["choice"],
        chosen_by=row["chosen_by"],
        restrictions=json.loads(row["restrictions"]),
        text_guided=bool(row["text_guided"]),
        restore_attempts=row["restore_attempts"],
        restore_alerted=bool(row["restore_alerted"]),
    )


class RunQueries(StorageBase):
    """The runner's state, written in one place so every step is durable before it acts on Discord."""

    async def start_run(self, occurrence_id: int, venue: Venue) -> RunRow:
        """Record that a session opened (idempotent: an existing run is returned as it is)."""
        now = to_db_time(self.now())
        async with self.transaction():
            await self._write(
                "INSERT INTO session_runs (occurrence_id, venue, phase, phase_started_at, updated_at)"
                " VALUES (?, ?, 'open', ?, ?) ON CONFLICT (occurrence_id) DO NOTHING",
                (occurrence_id, venue, now, now),
            )
            run = await self.get_run(occurrence_id)
        assert run is not None
        return run

    async def get_run(self, occurrence_id: int) -> RunRow | None:
        """The run of a session, if it opened."""
        row = await self._fetchone("SELECT * FROM session_runs WHERE occurrence_id = ?", (occurrence_id,))
        return None if row is None else _run_from_row(row)

    async def active_runs(self) -> list[RunRow]:
        """Runs not yet closed (to resume at start-up)."""
        rows = await self._fetchall("SELECT * FROM session_runs WHERE phase <> 'closed' ORDER BY occurrence_id")
        return [_run_from_row(row) for row in rows]

    async def runs_to_restore(self) -> list[RunRow]:
        """Runs that still record restrictions, whatever their phase (closed by an older version included)."""
        rows = await self._fetchall("SELECT * FROM session_runs WHERE restrictions <> '{}' ORDER BY occurrence_id")
        return [_run_from_row(row) for row in rows]

    async def set_text_guided(self, occurrence_id: int) -> None:
        """From now on the room is led in words only (kept across a restart)."""
        async with self.transaction():
            await self._write(
                "UPDATE session_runs SET text_guided = 1, updated_at = ? WHERE occurrence_id = ?",
                (to_db_time(self.now()), occurrence_id),
            )

    async def note_restore_attempt(self, occurrence_id: int, *, failed: bool) -> RunRow | None:
        """Count one more failed attempt at lifting restrictions, or start counting afresh after a success."""
        async with self.transaction():
            rows = await self._write_returning(
                "UPDATE session_runs SET restore_attempts = CASE WHEN ? THEN restore_attempts + 1 ELSE 0 END,"
                " updated_at = ? WHERE occurrence_id = ? RETURNING *",
                (int(failed), to_db_time(self.now()), occurrence_id),
            )
        return _run_from_row(rows[0]) if rows else None

    async def mark_restore_alerted(self, occurrence_id: int) -> None:
        """Remember that the coordinators were told what to undo by hand (they are told once)."""
        async with self.transaction():
            await self._write(
                "UPDATE session_runs SET restore_alerted = 1, updated_at = ? WHERE occurrence_id = ?",
                (to_db_time(self.now()), occurrence_id),
            )

    async def set_phase(
        self,
        occurrence_id: int,
        phase: RunPhase,
        *,
        ends_at: datetime | None = None,
        expected: tuple[RunPhase, ...] | None = None,
        choice: str | None = None,
        chosen_by: int | None = None,
    ) -> RunRow | None:
        """Move a run to a phase; with `expected`, only from one of those phases (None if it was not)."""
        params: list[object] = [phase, to_db_time(self.now()), None if ends_at is None else to_db_time(ends_at)]
        sql = "UPDATE session_runs SET phase = ?, phase_started_at = ?, phase_ends_at = ?"
        if choice is not None:
            sql += ", choice = ?, chosen_by = ?"
            params += [choice, chosen_by]
        sql += ", updated_at = ? WHERE occurrence_id = ?"
        params += [to_db_time(self.now()), occurrence_id]
        if expected is not None:
            sql += f" AND phase IN ({', '.join('?' for _ in expected)})"
            params += list(expected)
        async with self.transaction():
            rows = await self._write_returning(sql + " RETURNING *", params)
        return _run_from_row(rows[0]) if rows else None

    async def update_restrictions(self, occurrence_id: int, restrictions: Mapping[str, Any]) -> None:
        """Replace the record of what the bot changed in the session's channel."""
        async with self.transaction():
            await self._write(
                "UPDATE session_runs SET restrictions = ?, updated_at = ? WHERE occurrence_id = ?",
                (json.dumps(dict(restrictions), sort_keys=True), to_db_time(self.now()), occurrence_id),
            )

    async def add_pending_unmute(self, user_id: int) -> None:
        """Remember to lift a server mute the next time this member connects."""
        async with self.transaction():
            await self._write(
                "INSERT INTO pending_unmutes (user_id, since) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING",
                (user_id, to_db_time(self.now())),
            )

    async def take_pending_unmute(self, user_id: int) -> bool:
        """Forget a pending unmute; True if there was one (the caller lifts the mute)."""
        async with self.transaction():
            return await self._write("DELETE FROM pending_unmutes WHERE user_id = ?", (user_id,)) > 0

    async def pending_unmutes(self) -> list[int]:
        """Members waiting to have a server mute lifted."""
        return [row["user_id"] for row in await self._fetchall("SELECT user_id FROM pending_unmutes ORDER BY since")]
