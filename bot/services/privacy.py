"""Privacy by default: forgetting a member on request or after they left, and consenting to be counted.

`forget` deletes a member's sign-ups, settings, attendance and deliveries, keeps feedback without its
author and the audit log without their name (storage's `forget_member`), releases sessions they
hold as a teacher (the usual release: members and coordinators hear the session needs a teacher),
cancels their timers' work by dropping their ledger rows, and takes them out of their private
reminder thread. Members who leave the server are remembered as departed and forgotten once
`[privacy] forget_departed_after_days` have passed (a daily job), unless they come back first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable

from bot import texts
from bot.config import Config
from bot.errors import ConflictError
from bot.model import Actor
from bot.ports import PrivateRoute
from bot.services.limits import RateLimits
from bot.services.sessions import SessionService
from bot.storage import Database
from bot.storage.privacy import ForgetReport

log = logging.getLogger(__name__)

RETENTION_JOB_ID = "privacy:retention"


class Privacy:
    """What the bot keeps about members, and forgetting it."""

    def __init__(
        self,
        db: Database,
        config: Config,
        sessions: SessionService,
        limits: RateLimits,
        clock: Callable[[], dt.datetime],
        route: PrivateRoute | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.sessions = sessions
        self.limits = limits
        self.clock = clock
        self.route = route

    @property
    def retention(self) -> dt.timedelta:
        """How long the bot keeps what it knows of a member who left."""
        return dt.timedelta(days=self.config.privacy.forget_departed_after_days)

    async def check_can_forget(self, user_id: int) -> None:
        """Refuse kindly while a running session still needs the member's id to give them their voice back."""
        if await self.db.holds_unfinished_safety_records(user_id):
            raise ConflictError(texts.FORGET_AFTER_SESSION)

    async def forget(self, user_id: int, *, departed: bool = False) -> ForgetReport:
        """Forget everything the bot keeps that names this member (see the module docstring)."""
        if not departed:
            self.limits.spend(user_id, "changes")
        await self.check_can_forget(user_id)
        member = await self.db.get_member(user_id)
        for summary in await self.sessions.teacher_sessions(user_id):
            # Their own claim: released the usual way, so the session is offered to other teachers.
            teacher = Actor.of(user_id, [self.config.roles.teacher])
            with contextlib.suppress(ConflictError):  # released meanwhile
                await self.sessions.release(teacher, summary.occurrence.id, texts.FORGET_RELEASE_REASON)
        if self.route is not None:
            try:
                await self.route.forget(user_id, None if member is None else member.private_thread_id)
            except Exception:
                log.warning("could not tidy a forgotten member's private thread", exc_info=True)
        report = await self.db.forget_member(user_id)
        self.limits.forget(user_id)
        log.info(
            "a member was forgotten (%s); %d rows deleted or anonymised", "left" if departed else "asked", report.total
        )
        return report

    async def member_left(self, user_id: int) -> None:
        """A member left the server: start the retention period."""
        await self.db.mark_departed(user_id, self.clock())

    async def member_returned(self, user_id: int) -> None:
        """A member came back before being forgotten: keep what they had."""
        await self.db.mark_returned(user_id)

    async def forget_departed(self) -> int:
        """The daily job: forget members whose retention period has passed; return how many."""
        forgotten = 0
        for user_id in await self.db.departed_before(self.clock() - self.retention):
            try:
                await self.forget(user_id, departed=True)
                forgotten += 1
            except ConflictError:
                log.info("a departed member is still in a running session's records; forgetting them tomorrow")
        return forgotten
