"""Queries for feedback and the audit log."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.model import AuditRow, FeedbackRow
from bot.storage.base import StorageBase
from bot.storage.timestamps import from_db_time, to_db_time

__all__ = ["RecordQueries"]


def feedback_from_row(row: sqlite3.Row) -> FeedbackRow:
    """Build a FeedbackRow from a `feedback` row."""
    return FeedbackRow(
        id=row["id"],
        user_id=row["user_id"],
        occurrence_id=row["occurrence_id"],
        text=row["text"],
        created_at=from_db_time(row["created_at"]),
    )


def audit_from_row(row: sqlite3.Row) -> AuditRow:
    """Build an AuditRow from an `audit_log` row."""
    return AuditRow(
        id=row["id"],
        actor_id=row["actor_id"],
        action=row["action"],
        target=row["target"],
        details=json.loads(row["details"]),
        at=from_db_time(row["at"]),
    )


class RecordQueries(StorageBase):
    """Feedback and audit-log queries."""

    async def add_feedback(self, user_id: int | None, text: str, occurrence_id: int | None = None) -> FeedbackRow:
        """Store a piece of feedback (user_id None: anonymous) and return it."""
        if not text.strip():
            raise ValueError("feedback text is empty")
        async with self.transaction():
            rows = await self._write_returning(
                "INSERT INTO feedback (user_id, occurrence_id, text, created_at) VALUES (?, ?, ?, ?) RETURNING *",
                (user_id, occurrence_id, text, to_db_time(self.now())),
            )
        return feedback_from_row(rows[0])

    async def list_feedback(self, *, since: datetime | None = None, limit: int | None = 100) -> list[FeedbackRow]:
        """Return feedback, newest first, optionally only since a time; limit None means all."""
        rows = await self._fetchall(
            "SELECT * FROM feedback WHERE created_at >= ? ORDER BY created_at DESC, id DESC LIMIT ?",
            ("" if since is None else to_db_time(since), -1 if limit is None else limit),
        )
        return [feedback_from_row(row) for row in rows]

    async def count_feedback(self) -> int:
        """Return how many pieces of feedback are stored."""
        return int(await self._fetchvalue("SELECT count(*) FROM feedback"))

    async def add_audit(
        self,
        actor_id: int | None,
        action: str,
        target: str,
        details: Mapping[str, Any] | None = None,
    ) -> AuditRow:
        """Append an audit entry (actor None = the bot itself) and return it."""
        if not action:
            raise ValueError("an audit entry needs an action")
        # Values JSON cannot hold (datetimes, ids as objects) are kept as their str() form.
        details_text = json.dumps(dict(details or {}), sort_keys=True, default=str)
        async with self.transaction():
            rows = await self._write_returning(
                "INSERT INTO audit_log (actor_id, action, target, details, at) VALUES (?, ?, ?, ?, ?) RETURNING *",
                (actor_id, action, target, details_text, to_db_time(self.now())),
            )
        return audit_from_row(rows[0])

    async def list_audit(
        self, *, action: str | None = None, target: str | None = None, limit: int | None = 100
    ) -> list[AuditRow]:
        """Return audit entries, newest first, optionally for one action and/or target."""
        # Only the conditions given, so SQLite can use audit_log_by_target; "(? IS NULL OR ...)"
        # made it read the whole log, newest first, for every question.
        given = [(column, value) for column, value in (("action", action), ("target", target)) if value is not None]
        where = " WHERE " + " AND ".join(f"{column} = ?" for column, _ in given) if given else ""
        params: list[object] = [value for _, value in given]
        rows = await self._fetchall(
            f"SELECT * FROM audit_log{where} ORDER BY at DESC, id DESC LIMIT ?",  # noqa: S608 (fixed column names only)
            [*params, -1 if limit is None else limit],
        )
        return [audit_from_row(row) for row in rows]
