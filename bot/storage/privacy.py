"""Queries for privacy: forgetting a member everywhere, members who left, private threads, bot objects.

`forget_member` is the one place that knows every table holding a member's id; a test checks every
table and column of the schema generically, so a table added later cannot escape it unnoticed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage.base import StorageBase
from bot.storage.timestamps import to_db_time

__all__ = ["ForgetReport", "PrivacyQueries", "scrub_id"]

# What a forgotten member's id becomes inside audit details and text (never another person's id).
FORGOTTEN = "forgotten member"


@dataclass(frozen=True, slots=True)
class ForgetReport:
    """How many rows forgetting a member deleted or anonymised, per table."""

    counts: dict[str, int]

    @property
    def total(self) -> int:
        """All rows touched."""
        return sum(self.counts.values())


def scrub_id(value: Any, user_id: int) -> Any:
    """A JSON value with every occurrence of the id (as a number or inside text) replaced."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return FORGOTTEN if value == user_id else value
    if isinstance(value, str):
        return value.replace(str(user_id), FORGOTTEN)
    if isinstance(value, list):
        return [scrub_id(item, user_id) for item in value if item != user_id]
    if isinstance(value, dict):
        return {key: scrub_id(item, user_id) for key, item in value.items()}
    return value


class PrivacyQueries(StorageBase):
    """Forgetting members, remembering who left, members' private threads, the bot's standing objects."""

    async def forget_member(self, user_id: int) -> ForgetReport:
        """Delete a member's sign-ups, settings, attendance, deliveries; anonymise feedback and audit rows."""
        counts: dict[str, int] = {}
        text_id = f"%{user_id}%"
        async with self.transaction():
            for table, column in (
                ("signups", "user_id"),
                ("series_signups", "user_id"),
                ("members", "user_id"),
                ("deliveries", "recipient_id"),
                ("attendance", "user_id"),
                ("departed_members", "user_id"),
                ("teacher_claims", "teacher_id"),
                ("calendar_feeds", "user_id"),
            ):
                counts[table] = await self._write(
                    f"DELETE FROM {table} WHERE {column} = ?",  # noqa: S608 (fixed names only)
                    (user_id,),
                )
            counts["feedback"] = await self._write("UPDATE feedback SET user_id = NULL WHERE user_id = ?", (user_id,))
            counts["session_runs"] = await self._scrub_runs(user_id)
            counts["audit_log"] = await self._scrub_audit(user_id, text_id)
        return ForgetReport(counts)

    async def _scrub_runs(self, user_id: int) -> int:
        """Finished runs lose the member's id (who chose, whom the bot silenced); running ones keep it to restore."""
        changed = await self._write(
            "UPDATE session_runs SET chosen_by = NULL WHERE chosen_by = ? AND phase = 'closed'", (user_id,)
        )
        rows = await self._fetchall(
            "SELECT occurrence_id, restrictions FROM session_runs WHERE phase = 'closed' AND restrictions LIKE ?",
            (f"%{user_id}%",),
        )
        for row in rows:
            scrubbed = scrub_id(json.loads(row["restrictions"]), user_id)
            await self._write(
                "UPDATE session_runs SET restrictions = ? WHERE occurrence_id = ?",
                (json.dumps(scrubbed, sort_keys=True), row["occurrence_id"]),
            )
        return changed + len(rows)

    async def _scrub_audit(self, user_id: int, text_id: str) -> int:
        """Audit rows keep what happened, not who: the actor becomes the unknown, the id leaves target and details."""
        rows = await self._fetchall(
            "SELECT id, actor_id, target, details FROM audit_log WHERE actor_id = ? OR target LIKE ? OR details LIKE ?",
            (user_id, text_id, text_id),
        )
        for row in rows:
            await self._write(
                "UPDATE audit_log SET actor_id = ?, target = ?, details = ? WHERE id = ?",
                (
                    None if row["actor_id"] == user_id else row["actor_id"],
                    scrub_id(row["target"], user_id),
                    json.dumps(scrub_id(json.loads(row["details"]), user_id), sort_keys=True),
                    row["id"],
                ),
            )
        return len(rows)

    async def holds_unfinished_safety_records(self, user_id: int) -> bool:
        """Whether the bot still needs the member's id to give them their voice back (a running session)."""
        value = await self._fetchvalue(
            "SELECT 1 FROM session_runs WHERE phase <> 'closed' AND (chosen_by = ? OR restrictions LIKE ?) LIMIT 1",
            (user_id, f"%{user_id}%"),
        )
        return value is not None

    async def mark_departed(self, user_id: int, left_at: datetime) -> None:
        """Remember that a member left the server (the earliest departure counts)."""
        async with self.transaction():
            await self._write(
                "INSERT INTO departed_members (user_id, left_at) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING",
                (user_id, to_db_time(left_at)),
            )

    async def mark_returned(self, user_id: int) -> bool:
        """A member came back before being forgotten; True if they were on the list."""
        async with self.transaction():
            return await self._write("DELETE FROM departed_members WHERE user_id = ?", (user_id,)) > 0

    async def departed_before(self, moment: datetime) -> list[int]:
        """Members who left before `moment`, earliest first."""
        rows = await self._fetchall(
            "SELECT user_id FROM departed_members WHERE left_at < ? ORDER BY left_at, user_id", (to_db_time(moment),)
        )
        return [row["user_id"] for row in rows]

    async def set_private_thread(self, user_id: int, thread_id: int | None) -> None:
        """Remember (or forget) a member's private reminder thread, creating their settings row if needed."""
        async with self.transaction():
            await self._write(
                "INSERT INTO members (user_id, updated_at, private_thread_id) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET private_thread_id = excluded.private_thread_id",
                (user_id, to_db_time(self.now()), thread_id),
            )

    async def get_object(self, name: str) -> tuple[int, int] | None:
        """A standing Discord object of the bot's (e.g. 'board'): its channel and id, if one was made."""
        row = await self._fetchone("SELECT channel_id, discord_id FROM discord_objects WHERE name = ?", (name,))
        return None if row is None else (int(row["channel_id"]), int(row["discord_id"]))

    async def set_object(self, name: str, channel_id: int, discord_id: int) -> None:
        """Remember a standing Discord object (replacing the one before)."""
        async with self.transaction():
            await self._write(
                "INSERT INTO discord_objects (name, channel_id, discord_id, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET channel_id = excluded.channel_id,"
                " discord_id = excluded.discord_id, updated_at = excluded.updated_at",
                (name, channel_id, discord_id, to_db_time(self.now())),
            )

    async def drop_object(self, name: str) -> None:
        """Forget a standing Discord object (it was deleted)."""
        async with self.transaction():
            await self._write("DELETE FROM discord_objects WHERE name = ?", (name,))
