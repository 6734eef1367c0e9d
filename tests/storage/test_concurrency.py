"""Many writers at once: no "database is locked", exactly one winner of a claim race."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from bot.errors import ConflictError
from bot.storage import Database

from .conftest import START


async def _one_off(db: Database) -> int:
    occurrence = await db.add_one_off(
        start=START + timedelta(days=1), duration_minutes=45, channel_id=10, title="Drop-in"
    )
    return occurrence.id


async def test_fifty_concurrent_signups(db: Database) -> None:
    occurrence_id = await _one_off(db)
    results = await asyncio.gather(*(db.sign_up(occurrence_id, user, "button") for user in range(50)))
    assert all(results)
    assert await db.count_signups(occurrence_id) == 50
    assert sorted(await db.signed_up_user_ids(occurrence_id)) == list(range(50))
    assert await db.integrity_check() == []


async def test_concurrent_signups_through_two_connections(db: Database, db_path: Path) -> None:
    # A second Database on the same file is a second SQLite connection: the asyncio.Lock does not
    # span them, so this exercises BEGIN IMMEDIATE plus busy_timeout between connections.
    occurrence_id = await _one_off(db)
    async with Database.open(db_path, exclusive=False) as other:
        await asyncio.gather(
            *(db.sign_up(occurrence_id, user) for user in range(0, 50, 2)),
            *(other.sign_up(occurrence_id, user) for user in range(1, 50, 2)),
        )
    assert await db.count_signups(occurrence_id) == 50
    assert await db.integrity_check() == []


async def test_duplicate_concurrent_signups_count_once(db: Database) -> None:
    occurrence_id = await _one_off(db)
    results = await asyncio.gather(*(db.sign_up(occurrence_id, 42) for _ in range(20)))
    assert results.count(True) == 1
    assert await db.count_signups(occurrence_id) == 1


async def test_ten_concurrent_claims_have_one_winner(db: Database) -> None:
    occurrence_id = await _one_off(db)
    results = await asyncio.gather(
        *(db.claim_teacher(occurrence_id, teacher) for teacher in range(100, 110)), return_exceptions=True
    )
    winners = [result for result in results if not isinstance(result, BaseException)]
    losers = [result for result in results if isinstance(result, BaseException)]
    assert len(winners) == 1
    assert len(losers) == 9 and all(isinstance(error, ConflictError) for error in losers)
    claim = await db.get_teacher_claim(occurrence_id)
    assert claim is not None and claim.teacher_id == winners[0].teacher_id
    assert len(await db.list_audit(action="teacher.claim")) == 1
    assert await db.integrity_check() == []


async def test_claim_race_across_two_connections(db: Database, db_path: Path) -> None:
    occurrence_id = await _one_off(db)
    async with Database.open(db_path, exclusive=False) as other:
        results = await asyncio.gather(
            *((db if teacher % 2 else other).claim_teacher(occurrence_id, teacher) for teacher in range(200, 210)),
            return_exceptions=True,
        )
    assert sum(not isinstance(result, BaseException) for result in results) == 1
    for result in results:
        if isinstance(result, BaseException):
            with pytest.raises(ConflictError):
                raise result
