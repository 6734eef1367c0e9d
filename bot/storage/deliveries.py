"""Queries for the delivery ledger (the protocol around them lives in bot.delivery.ledger).

Row states: pending -> claimed -> sent, or -> dropped. A failed attempt that may be retried goes
from claimed back to pending with a later due_at. Every transition is a single conditional
UPDATE, so two senders can never both move the same row out of a state.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from bot.errors import ConflictError, NotFoundError
from bot.model import DeliveryKey, DeliveryRow, DeliveryStatus
from bot.storage.base import StorageBase
from bot.storage.timestamps import from_db_time, to_db_time

__all__ = ["DeliveryQueries"]


def _key_params(key: DeliveryKey) -> tuple[int, int, str, int]:
    """Return a key's columns in primary-key order."""
    return (key.occurrence_id, key.recipient_id, key.kind, key.change_version)


def delivery_from_row(row: sqlite3.Row) -> DeliveryRow:
    """Build a DeliveryRow from a `deliveries` row."""
    return DeliveryRow(
        key=DeliveryKey(row["occurrence_id"], row["recipient_id"], row["kind"], row["change_version"]),
        due_at=from_db_time(row["due_at"]),
        status=cast(DeliveryStatus, row["status"]),
        nonce=row["nonce"],
        claimed_at=None if row["claimed_at"] is None else from_db_time(row["claimed_at"]),
        sent_at=None if row["sent_at"] is None else from_db_time(row["sent_at"]),
        late=bool(row["late"]),
        message_id=row["message_id"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        payload=json.loads(row["payload"]),
    )


class DeliveryQueries(StorageBase):
    """Delivery-ledger row storage and state transitions."""

    async def insert_delivery(
        self, key: DeliveryKey, due_at: datetime, nonce: str, payload: Mapping[str, Any] | None = None
    ) -> tuple[DeliveryRow, bool]:
        """Add a pending delivery unless its key exists; return the stored row and whether it is new."""
        if not key.kind:
            raise ValueError("a delivery needs a kind")
        due_text = to_db_time(due_at)
        async with self.transaction():
            occurrence = await self._fetchone("SELECT 1 FROM occurrences WHERE id = ?", (key.occurrence_id,))
            if occurrence is None:
                raise NotFoundError(f"there is no session #{key.occurrence_id}")
            rows = await self._write_returning(
                "INSERT INTO deliveries"
                " (occurrence_id, recipient_id, kind, change_version, due_at, status, nonce, payload)"
                " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)"
                " ON CONFLICT (occurrence_id, recipient_id, kind, change_version) DO NOTHING RETURNING *",
                (*_key_params(key), due_text, nonce, json.dumps(dict(payload or {}), sort_keys=True)),
            )
            if rows:
                return delivery_from_row(rows[0]), True
            existing = await self._require_delivery(key)
        return existing, False

    async def get_delivery(self, key: DeliveryKey) -> DeliveryRow | None:
        """Return one ledger row, or None."""
        row = await self._fetchone(
            "SELECT * FROM deliveries WHERE occurrence_id = ? AND recipient_id = ? AND kind = ? AND change_version = ?",
            _key_params(key),
        )
        return None if row is None else delivery_from_row(row)

    async def _require_delivery(self, key: DeliveryKey) -> DeliveryRow:
        """Return one ledger row or raise NotFoundError."""
        row = await self.get_delivery(key)
        if row is None:
            raise NotFoundError(f"no delivery {key}")
        return row

    async def claim_delivery(self, key: DeliveryKey, *, late: bool = False) -> DeliveryRow | None:
        """Move a pending row to claimed (counting the attempt); None if it was not pending."""
        async with self.transaction():
            rows = await self._write_returning(
                "UPDATE deliveries SET status = 'claimed', claimed_at = ?, attempts = attempts + 1,"
                " late = max(late, ?) WHERE occurrence_id = ? AND recipient_id = ?"
                " AND kind = ? AND change_version = ? AND status = 'pending' RETURNING *",
                (to_db_time(self.now()), int(late), *_key_params(key)),
            )
        return delivery_from_row(rows[0]) if rows else None

    async def mark_delivery_sent(self, key: DeliveryKey, message_id: int | None) -> DeliveryRow:
        """Record that a claimed row's message went out; repeating it for a sent row is a no-op."""
        async with self.transaction():
            rows = await self._write_returning(
                "UPDATE deliveries SET status = 'sent', sent_at = ?, message_id = ?, last_error = NULL"
                " WHERE occurrence_id = ? AND recipient_id = ?"
                " AND kind = ? AND change_version = ? AND status = 'claimed' RETURNING *",
                (to_db_time(self.now()), message_id, *_key_params(key)),
            )
            if rows:
                return delivery_from_row(rows[0])
            current = await self._require_delivery(key)
        if current.status == "sent":
            return current
        raise ConflictError(f"delivery {key} is {current.status}, not claimed; it cannot be marked sent")

    async def mark_delivery_failed(self, key: DeliveryKey, error: str, *, retry_at: datetime | None) -> DeliveryRow:
        """Record a failed attempt of a claimed row: pending again at retry_at, or dropped if None."""
        now = to_db_time(self.now())
        async with self.transaction():
            if retry_at is None:
                sql = (
                    "UPDATE deliveries SET status = 'dropped', last_error = ?"
                    " WHERE occurrence_id = ? AND recipient_id = ? AND kind = ? AND change_version = ?"
                    " AND status = 'claimed' RETURNING *"
                )
                params: tuple[object, ...] = (error, *_key_params(key))
            else:
                sql = (
                    "UPDATE deliveries SET status = 'pending', last_error = ?, due_at = max(due_at, ?)"
                    " WHERE occurrence_id = ? AND recipient_id = ? AND kind = ? AND change_version = ?"
                    " AND status = 'claimed' RETURNING *"
                )
                params = (error, max(now, to_db_time(retry_at)), *_key_params(key))
            rows = await self._write_returning(sql, params)
            if rows:
                return delivery_from_row(rows[0])
            current = await self._require_delivery(key)
        raise ConflictError(f"delivery {key} is {current.status}, not claimed; it cannot be marked failed")

    async def defer_delivery(self, key: DeliveryKey, due_at: datetime, reason: str) -> DeliveryRow:
        """Put a claimed row back to pending, due at `due_at`, without counting the attempt (Discord said wait)."""
        async with self.transaction():
            rows = await self._write_returning(
                "UPDATE deliveries SET status = 'pending', last_error = ?, due_at = max(due_at, ?),"
                " attempts = max(attempts - 1, 0) WHERE occurrence_id = ? AND recipient_id = ?"
                " AND kind = ? AND change_version = ? AND status = 'claimed' RETURNING *",
                (reason, to_db_time(due_at), *_key_params(key)),
            )
            if rows:
                return delivery_from_row(rows[0])
            current = await self._require_delivery(key)
        raise ConflictError(f"delivery {key} is {current.status}, not claimed; it cannot be deferred")

    async def drop_delivery(self, key: DeliveryKey, reason: str) -> DeliveryRow | None:
        """Drop a pending row (a row being sent is left to finish); None if it was not pending."""
        async with self.transaction():
            rows = await self._write_returning(
                "UPDATE deliveries SET status = 'dropped', last_error = ?"
                " WHERE occurrence_id = ? AND recipient_id = ? AND kind = ? AND change_version = ?"
                " AND status = 'pending' RETURNING *",
                (reason, *_key_params(key)),
            )
        return delivery_from_row(rows[0]) if rows else None

    async def drop_superseded_deliveries(self, occurrence_id: int, current_version: int, reason: str) -> int:
        """Drop pending rows about older versions of an occurrence; return how many."""
        async with self.transaction():
            return await self._write(
                "UPDATE deliveries SET status = 'dropped', last_error = ?"
                " WHERE occurrence_id = ? AND change_version < ? AND status = 'pending'",
                (reason, occurrence_id, current_version),
            )

    async def mark_delivery_late(self, key: DeliveryKey) -> DeliveryRow | None:
        """Flag a pending row as going out late; None if it was not pending."""
        async with self.transaction():
            rows = await self._write_returning(
                "UPDATE deliveries SET late = 1 WHERE occurrence_id = ? AND recipient_id = ?"
                " AND kind = ? AND change_version = ? AND status = 'pending' RETURNING *",
                _key_params(key),
            )
        return delivery_from_row(rows[0]) if rows else None

    async def due_deliveries(self, now: datetime, limit: int = 100) -> list[DeliveryRow]:
        """Return pending rows due at or before `now`, earliest first."""
        rows = await self._fetchall(
            "SELECT * FROM deliveries WHERE status = 'pending' AND due_at <= ? ORDER BY due_at LIMIT ?",
            (to_db_time(now), limit),
        )
        return [delivery_from_row(row) for row in rows]

    async def pending_deliveries(self, limit: int | None = None) -> list[DeliveryRow]:
        """Return every pending row, earliest due first (for rebuilding timers at start-up)."""
        rows = await self._fetchall(
            "SELECT * FROM deliveries WHERE status = 'pending' ORDER BY due_at LIMIT ?",
            (-1 if limit is None else limit,),
        )
        return [delivery_from_row(row) for row in rows]

    async def overdue_deliveries(self, now: datetime) -> list[tuple[DeliveryRow, datetime]]:
        """Return pending rows due before `now`, each with its occurrence's current start."""
        rows = await self._fetchall(
            "SELECT d.*, o.start_utc AS occurrence_start FROM deliveries AS d"
            " JOIN occurrences AS o ON o.id = d.occurrence_id"
            " WHERE d.status = 'pending' AND d.due_at < ? ORDER BY d.due_at",
            (to_db_time(now),),
        )
        return [(delivery_from_row(row), from_db_time(row["occurrence_start"])) for row in rows]

    async def reclaim_stale_deliveries(self) -> int:
        """Return every claimed row to pending (start-up only: no sender can be mid-send); return how many."""
        async with self.transaction():
            return await self._write(
                "UPDATE deliveries SET status = 'pending', last_error = coalesce(last_error,"
                " 'claimed when the bot stopped; resent with the same nonce') WHERE status = 'claimed'"
            )

    async def count_deliveries(self, status: DeliveryStatus | None = None) -> int:
        """Return how many ledger rows there are (optionally in one state)."""
        return int(await self._fetchvalue("SELECT count(*) FROM deliveries WHERE ?1 IS NULL OR status = ?1", (status,)))
