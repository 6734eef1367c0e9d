"""Who may do what. Checked in the core, whatever Discord's command defaults say.

Discord lets a server admin change who sees a command, so command visibility is a convenience,
never the guard: every state-changing action calls one of these first.
"""

from __future__ import annotations

from bot import texts
from bot.config import RolesSection
from bot.errors import PermissionDeniedError
from bot.model import Actor


def is_coordinator(actor: Actor, roles: RolesSection) -> bool:
    """True if the actor holds the coordinator role."""
    return roles.coordinator in actor.role_ids


def is_teacher(actor: Actor, roles: RolesSection) -> bool:
    """True if the actor holds the teacher role."""
    return roles.teacher in actor.role_ids


def require_coordinator(actor: Actor, roles: RolesSection) -> None:
    """Refuse unless the actor is a coordinator."""
    if not is_coordinator(actor, roles):
        raise PermissionDeniedError(texts.NEEDS_COORDINATOR)


def require_teacher(actor: Actor, roles: RolesSection) -> None:
    """Refuse unless the actor is a teacher (coordinators who also teach hold both roles)."""
    if not is_teacher(actor, roles):
        raise PermissionDeniedError(texts.NEEDS_TEACHER)
