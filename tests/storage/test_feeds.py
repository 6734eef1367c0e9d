"""Private calendar feeds in storage: only a hash is kept, one per member, replaced or revoked."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from bot.storage import Database


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def test_a_feed_is_found_by_its_hash_and_replaced_by_a_new_one(db: Database) -> None:
    assert await db.replace_calendar_feed(7, digest("first")) is False
    assert await db.calendar_feed_owner(digest("first")) == 7

    assert await db.replace_calendar_feed(7, digest("second")) is True
    assert await db.calendar_feed_owner(digest("first")) is None
    assert await db.calendar_feed_owner(digest("second")) == 7


async def test_revoking_forgets_the_feed(db: Database) -> None:
    await db.replace_calendar_feed(7, digest("secret"))
    assert await db.revoke_calendar_feed(7) is True
    assert await db.calendar_feed_owner(digest("secret")) is None
    assert await db.revoke_calendar_feed(7) is False


async def test_members_feeds_are_their_own(db: Database) -> None:
    await db.replace_calendar_feed(7, digest("seven"))
    await db.replace_calendar_feed(8, digest("eight"))
    await db.revoke_calendar_feed(7)
    assert await db.calendar_feed_owner(digest("eight")) == 8


@pytest.mark.parametrize("not_a_hash", ["secret", digest("x").upper(), digest("x")[:63], ""])
async def test_only_a_sha256_digest_is_ever_stored(db: Database, not_a_hash: str) -> None:
    with pytest.raises(ValueError, match="never the secret"):
        await db.replace_calendar_feed(7, not_a_hash)
    with pytest.raises(ValueError):
        await db.calendar_feed_owner(not_a_hash)


async def test_the_table_itself_refuses_a_raw_secret(db: Database) -> None:
    # The schema holds the line too, for any writer that skips the query methods.
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction():
            await db._write(
                "INSERT INTO calendar_feeds (user_id, secret_hash, created_at) VALUES (1, ?, '')", ("x" * 64,)
            )
