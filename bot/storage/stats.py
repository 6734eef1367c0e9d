"""Per-session figures for the coordinators' popularity report (the grouping is in bot.services.popularity).

"Ran without a teacher" is derived, with no column of its own. While a session runs its status
says it ('no_teacher'); once closed, the status is just 'closed', so the teacher claim decides:
a claim row still present means a teacher held the session when it closed. A claim released at
or after the close (audit action 'teacher.release', at >= the close time) also counts as held:
nothing can change a closed session, so its updated_at is the moment it closed, and claims can
no longer be made after it. Claims released before the close leave no row and count as no teacher.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from bot.model import OccurrenceStatus
from bot.storage.base import StorageBase
from bot.storage.timestamps import from_db_time, to_db_time

__all__ = ["OccurrenceStats", "StatsQueries"]


@dataclass(frozen=True, slots=True)
class OccurrenceStats:
    """One session's figures: sign-ups, distinct people who joined the voice channel, teacher or not."""

    occurrence_id: int
    series_id: int | None
    title: str
    series_title: str | None
    start_utc: datetime
    status: OccurrenceStatus
    signups: int
    attendance: int
    teacher_claimed: bool
    without_teacher: bool


# One pass per table instead of a subquery per session: sign-ups, attendance and the last release
# of each session are aggregated once, then joined.
_STATS_SQL = """
WITH
  picked AS (SELECT * FROM occurrences WHERE start_utc >= ?1 AND start_utc < ?2),
  signup_counts AS (
    SELECT occurrence_id, count(*) AS n FROM signups
    WHERE occurrence_id IN (SELECT id FROM picked) GROUP BY occurrence_id
  ),
  attendance_counts AS (
    SELECT occurrence_id, count(DISTINCT user_id) AS n FROM attendance
    WHERE occurrence_id IN (SELECT id FROM picked) GROUP BY occurrence_id
  ),
  last_release AS (
    SELECT target, max(at) AS at FROM audit_log WHERE action = 'teacher.release' GROUP BY target
  )
SELECT
  o.id, o.series_id, o.title, s.title AS series_title, o.start_utc, o.status,
  coalesce(sc.n, 0) AS signups,
  coalesce(ac.n, 0) AS attendance,
  (c.occurrence_id IS NOT NULL
   OR (o.status = 'closed' AND r.at IS NOT NULL AND r.at >= o.updated_at)) AS teacher_claimed
FROM picked AS o
LEFT JOIN series AS s ON s.id = o.series_id
LEFT JOIN signup_counts AS sc ON sc.occurrence_id = o.id
LEFT JOIN attendance_counts AS ac ON ac.occurrence_id = o.id
LEFT JOIN teacher_claims AS c ON c.occurrence_id = o.id
LEFT JOIN last_release AS r ON r.target = 'occurrence:' || o.id
ORDER BY o.start_utc, o.id
"""


class StatsQueries(StorageBase):
    """Read-only figures about sessions for coordinators."""

    async def occurrence_stats(self, start_from: datetime, start_before: datetime) -> list[OccurrenceStats]:
        """Return figures for every session (cancelled ones included) starting in [start_from, start_before)."""
        rows = await self._fetchall(_STATS_SQL, (to_db_time(start_from), to_db_time(start_before)))
        found = []
        for row in rows:
            status = cast(OccurrenceStatus, row["status"])
            claimed = bool(row["teacher_claimed"])
            found.append(
                OccurrenceStats(
                    occurrence_id=row["id"],
                    series_id=row["series_id"],
                    title=row["title"],
                    series_title=row["series_title"],
                    start_utc=from_db_time(row["start_utc"]),
                    status=status,
                    signups=row["signups"],
                    attendance=row["attendance"],
                    teacher_claimed=claimed,
                    without_teacher=status == "no_teacher" or (status == "closed" and not claimed),
                )
            )
        return found
