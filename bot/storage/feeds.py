"""Queries about members' private calendar feeds (only a hash of each secret link is stored)."""

from __future__ import annotations

import re

from bot.storage.base import StorageBase
from bot.storage.timestamps import to_db_time

__all__ = ["FeedQueries"]

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _checked_hash(secret_hash: str) -> str:
    """Refuse anything but a lower-case SHA-256 hex digest (a raw secret must never be stored)."""
    if not isinstance(secret_hash, str) or not _SHA256_HEX.fullmatch(secret_hash):
        raise ValueError("a calendar feed is stored by the SHA-256 hex digest of its secret, never the secret")
    return secret_hash


class FeedQueries(StorageBase):
    """Store, find and forget the hash of a member's private calendar link."""

    async def replace_calendar_feed(self, user_id: int, secret_hash: str) -> bool:
        """Give a member a new feed secret (by its hash); True if it replaced one they had."""
        digest = _checked_hash(secret_hash)
        async with self.transaction():
            replaced = await self._fetchvalue("SELECT 1 FROM calendar_feeds WHERE user_id = ?", (user_id,))
            await self._write(
                "INSERT INTO calendar_feeds (user_id, secret_hash, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET secret_hash = excluded.secret_hash,"
                " created_at = excluded.created_at",
                (user_id, digest, to_db_time(self.now())),
            )
        return replaced is not None

    async def revoke_calendar_feed(self, user_id: int) -> bool:
        """Forget a member's feed, so its link stops working; False if they had none."""
        async with self.transaction():
            changed = await self._write("DELETE FROM calendar_feeds WHERE user_id = ?", (user_id,))
        return changed == 1

    async def calendar_feed_owner(self, secret_hash: str) -> int | None:
        """The member whose feed secret has this hash, or None (never issued, replaced or revoked)."""
        value = await self._fetchvalue(
            "SELECT user_id FROM calendar_feeds WHERE secret_hash = ?", (_checked_hash(secret_hash),)
        )
        return None if value is None else int(value)
