"""Coordinators: weekly series, single sessions, the approved recordings and reports, one cog per group.

`/series create|edit|pause|resume|end|list` (cogs.coordinators.series), `/session
add|cancel|move|channel|assign|unassign` (sessions), `/recordings list|verify|reload` (recordings)
and `/report popularity|csv|audit|audit-export` (reports). Discord shows these commands only to
people who may manage the server (a convenience a server admin can change); what protects the
schedule is the coordinator-role check, here first for a quick kind answer and again in the core.
"""

from __future__ import annotations

from bot.adapters.bot import PracticeCirclesBot
from cogs.coordinators.recordings import Recordings
from cogs.coordinators.reports import Reports
from cogs.coordinators.series import Series
from cogs.coordinators.sessions import SingleSessions

COGS = (Series, SingleSessions, Recordings, Reports)


async def setup(bot: PracticeCirclesBot) -> None:
    """Load the coordinators' cogs."""
    for cog in COGS:
        await bot.add_cog(cog(bot))
