"""Sessions: everything members, teachers and coordinators do to the schedule, with checks, audit and notices.

A series is a weekly rule at a Pacific wall-clock time (`bot.schedule.rules.WeeklyRule`). Its sessions
are stored as occurrences from now to the horizon ahead (`bot.services.horizon`), each with the UTC
start the rule gave it as its recurrence id. The actions are grouped by who takes them.
"""

from bot.services.sessions.base import (
    MAX_DURATION,
    MAX_FEEDBACK,
    MAX_LISTING_DAYS,
    MAX_REASON,
    MAX_TITLE,
    MIN_DURATION,
    UPCOMING_STATUSES,
    SessionSummary,
)
from bot.services.sessions.coordinators import CoordinatorActions
from bot.services.sessions.members import MemberActions
from bot.services.sessions.teachers import TeacherActions

__all__ = [
    "MAX_DURATION",
    "MAX_FEEDBACK",
    "MAX_LISTING_DAYS",
    "MAX_REASON",
    "MAX_TITLE",
    "MIN_DURATION",
    "UPCOMING_STATUSES",
    "SessionService",
    "SessionSummary",
]


class SessionService(MemberActions, TeacherActions, CoordinatorActions):
    """Everything members, teachers and coordinators do to the schedule, with checks, audit and notices."""
