"""Queries about the Discord objects made for sessions (reminder threads, scheduled events, cards)."""

from __future__ import annotations

from typing import Literal

from bot.storage.base import StorageBase
from bot.storage.timestamps import to_db_time

__all__ = ["LinkKind", "LinkQueries"]

LinkKind = Literal["thread", "event", "card"]


class LinkQueries(StorageBase):
    """Remember which Discord object stands for a session, so restarts reuse it."""

    async def get_link(self, occurrence_id: int, kind: LinkKind) -> int | None:
        """The Discord id of a session's thread, event or card, if one was made."""
        value = await self._fetchvalue(
            "SELECT discord_id FROM discord_links WHERE occurrence_id = ? AND kind = ?", (occurrence_id, kind)
        )
        return None if value is None else int(value)

    async def set_link(self, occurrence_id: int, kind: LinkKind, discord_id: int) -> None:
        """Record (or replace) the Discord object standing for a session."""
        async with self.transaction():
            await self._write(
                "INSERT INTO discord_links (occurrence_id, kind, discord_id, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (occurrence_id, kind) DO UPDATE SET discord_id = excluded.discord_id",
                (occurrence_id, kind, discord_id, to_db_time(self.now())),
            )

    async def occurrence_for_link(self, kind: LinkKind, discord_id: int) -> int | None:
        """The session a Discord object stands for, if any (e.g. a scheduled event a member marked)."""
        value = await self._fetchvalue(
            "SELECT occurrence_id FROM discord_links WHERE kind = ? AND discord_id = ?", (kind, discord_id)
        )
        return None if value is None else int(value)

    async def drop_link(self, occurrence_id: int, kind: LinkKind) -> None:
        """Forget a session's Discord object (it was deleted)."""
        async with self.transaction():
            await self._write("DELETE FROM discord_links WHERE occurrence_id = ? AND kind = ?", (occurrence_id, kind))

    async def links_of_kind(self, kind: LinkKind) -> dict[int, int]:
        """Every session with an object of this kind: occurrence id -> Discord id."""
        rows = await self._fetchall("SELECT occurrence_id, discord_id FROM discord_links WHERE kind = ?", (kind,))
        return {row["occurrence_id"]: row["discord_id"] for row in rows}
