"""Members: the schedule, signing up and out, reminder and time-zone settings, calendars, feedback.

Commands: `/schedule`, `/signup`, `/signout`, `/mysessions`, `/settings reminders`,
`/settings timezone`, `/calendar file|subscribe|revoke`, `/feedback`, one screen or two per module, each with its cog:

- `listings`: /schedule and /mysessions, with page buttons `pc:schedule:{days}:{page}`, `pc:mine:{page}`;
- `signups`: /signup and /signout, with one-click `pc:signup:{occurrence}` and `pc:signout:{occurrence}`;
- `settings`: /settings, with `pc:reminders:offsets`, `pc:reminders:channel`, `pc:reminders:default`;
- `calendar`: /calendar file, subscribe and revoke; `feedback`: /feedback and its form (`pc:feedback:{interaction}`).

Every reply is private (ephemeral) and every error goes to the bot's one error reply. Buttons and
selects are persistent (bot.adapters.buttons), registered at start-up, so they keep working on any
message after any restart.
"""

from __future__ import annotations

from bot.adapters.bot import PracticeCirclesBot
from cogs.members.calendar import Calendar
from cogs.members.feedback import Feedback
from cogs.members.listings import Listings
from cogs.members.settings import Settings
from cogs.members.signups import SignUps

COGS = (Listings, SignUps, Settings, Calendar, Feedback)


async def setup(bot: PracticeCirclesBot) -> None:
    """Load the members' cogs."""
    for cog in COGS:
        await bot.add_cog(cog(bot))
