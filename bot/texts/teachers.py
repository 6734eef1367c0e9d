"""User-facing text for teachers (and the alerts about sessions that still need one)."""

from __future__ import annotations

# --- the Claim button -------------------------------------------------------------------------
CLAIM_BUTTON = "Claim"
CLAIM_BUTTON_NUMBERED = "Claim #{id}"

# --- command replies --------------------------------------------------------------------------
CLAIMED = (
    "Thank you! You are leading **{title}** on {when} ({pacific}). {signups} member(s) "
    "signed up so far. `/teach practice` lets you choose the practice from the course."
)
RELEASED = (
    "You have released **{title}** on {when}. Thank you for letting us know — the coordinators "
    "have been told, and other teachers can claim it now. Please take good care of yourself."
)
PRACTICE_CHOSEN = "**{title}** on {when} will offer: **{practice}**."

MINE_TITLE = "Sessions you are leading"
MINE_EMPTY = "You have no upcoming sessions at the moment. `/teach open` shows sessions that still need a teacher."
MINE_LINE = "**#{id}** · {title} — {when} ({relative}) · {practice} · {signups} signed up"
NO_PRACTICE_YET = "practice not chosen yet"

OPEN_TITLE = "Sessions that still need a teacher"
OPEN_EMPTY = "Every session in the next {days} day(s) has a teacher. Thank you all!"
OPEN_LINE = "**#{id}** · {title} — {when} ({relative})"
MORE = "…and {count} more. `/teach claim` and `/teach release` find every one of them."

# --- alerts about sessions without a teacher (bot.services.alerts) ---------------------------------------
ALERT_TEACHERS = (
    "**{title}** on {when} ({relative}; {pacific}) still needs a teacher. If you can "
    "lead it, please press **Claim** — thank you! `/teach open` shows every session still waiting."
)
ALERT_COORDINATORS = (
    "**{title}** on {when} ({relative}) still has no teacher; teachers were asked in <#{teachers}>. "
    "If nobody can come, members will be offered a silent sit or an approved recording."
)
