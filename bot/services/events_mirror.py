"""The scheduled-events mirror: every upcoming session shown as a Discord guild scheduled event.

The database is the source of truth; the events are a picture of it. A *pass* reads the sessions,
the remembered links (`discord_links`, kind 'event') and the events the guild has now, asks the
pure planner `plan_mirror` what to change, and carries that out one request at a time (discord.py
waits out any 429). Passes are coalesced: any number of changes while one runs cause one more.

Rules the planner follows:

- A session is mirrored while it is upcoming (scheduled, open, teacher-led or without teacher),
  has not ended, starts within the horizon and is in a Stage or voice channel; a Stage channel
  gets a stage_instance event, a voice channel a voice event; privacy is guild_only.
- Discord refuses a guild's 101st uncompleted (scheduled or active) event, and people may make
  events of their own, so the mirror keeps the guild at `EVENT_CEILING` live events at most,
  counting everyone's: only the soonest sessions get events, and later ones get theirs as
  sessions end. Removals are made before creations, so a pass never overshoots on its own.
- A cancelled session's event is cancelled (scheduled -> canceled, which members hear about); a
  live (active) one is ended instead, as Discord only allows active -> completed. An event that is
  no longer mirrored for any other reason (the session is over, it fell behind the soonest, left
  the horizon or the session channels) never started, and is deleted quietly: "cancelled" would
  tell its interested members something untrue.
- Events the bot made that no link names (a crash between creating and remembering) are adopted
  when a session without an event has the same start and channel, and cancelled otherwise.
- Active events are left to Discord (it ends a voice event when the channel empties) unless the
  session is over or cancelled.

Marking "Interested" on a mirrored event signs the member up (source 'event'); taking the mark
back signs them out only if that sign-up came from the event, so it never undoes an explicit
/signup, a button or a series sign-up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from bot.errors import ConflictError, NotFoundError
from bot.model import OccurrenceRow
from bot.ports import EventBoard, EventGone, EventKind, EventLimitReached, EventSpec, Field, LiveEvent
from bot.schedule.rules import format_pacific, utc_to_pacific
from bot.services.sessions import MAX_DURATION, UPCOMING_STATUSES, SessionService
from bot.storage import Database
from bot.texts import events as texts
from bot.timers import Timers

log = logging.getLogger(__name__)

# Discord refuses a guild's 101st uncompleted event (JSON error 30038).
DISCORD_EVENT_LIMIT: Final = 100
# Live events the mirror allows in the guild, everyone's counted: the rest is room for people's own
# events and for events made between our count and our creations.
EVENT_CEILING: Final = 90
NAME_LIMIT: Final = 100
DESCRIPTION_LIMIT: Final = 1000
# Discord refuses an event that starts in the past; a session this close to its start is left alone.
CREATE_LEAD: Final = dt.timedelta(minutes=1)
# Passes happen on every change; this one catches what no change announces (a one-off session
# entering the horizon, a runner closing a session) and retries after a failed request.
REFRESH_AT_LEAST_EVERY: Final = dt.timedelta(hours=1)
RETRY_AFTER_FAILURE: Final = dt.timedelta(minutes=5)
REFRESH_JOB: Final = "events:refresh"


@dataclass(frozen=True)
class EventUpdate:
    """Bring one event in line with its session: only the fields that differ are sent."""

    event_id: int
    spec: EventSpec
    fields: frozenset[Field]


@dataclass(frozen=True)
class Removal:
    """An event to take away, and the session whose link goes with it (None for strays)."""

    event_id: int
    occurrence_id: int | None


@dataclass
class MirrorPlan:
    """What one pass changes, in the order it is carried out."""

    forget: list[int] = field(default_factory=list)  # links to events that are gone or finished
    cancel: list[Removal] = field(default_factory=list)  # scheduled events of cancelled sessions, and strays
    complete: list[Removal] = field(default_factory=list)  # active events of sessions over or cancelled
    delete: list[Removal] = field(default_factory=list)  # never-started events no longer mirrored
    adopt: list[tuple[int, int]] = field(default_factory=list)  # (occurrence id, event id) to link
    update: list[EventUpdate] = field(default_factory=list)
    create: list[EventSpec] = field(default_factory=list)  # soonest first
    # When time alone changes the picture next: the end of the soonest mirrored session.
    next_check: dt.datetime | None = None

    def __bool__(self) -> bool:
        changes = (self.forget, self.cancel, self.complete, self.delete, self.adopt, self.update, self.create)
        return any(changes)

    def summary(self) -> str:
        """A short line for the log."""
        parts = (
            ("forget", self.forget),
            ("cancel", self.cancel),
            ("complete", self.complete),
            ("delete", self.delete),
            ("adopt", self.adopt),
            ("update", self.update),
            ("create", self.create),
        )
        return ", ".join(f"{len(items)} {name}" for name, items in parts if items) or "nothing to do"


# --- what an event should look like ------------------------------------------------------------


def describe(occurrence: OccurrenceRow) -> str:
    """The event description: the time in US Pacific, leaving is always fine, interest signs up."""
    start = utc_to_pacific(occurrence.start_utc)
    end = utc_to_pacific(occurrence.end_utc)
    # The end's date only when it is another day (a late session seen from Pacific time).
    end_text = f"{end:%H:%M} {end.tzname()}" if end.date() == start.date() else format_pacific(occurrence.end_utc)
    text = texts.EVENT_DESCRIPTION.format(
        start=format_pacific(occurrence.start_utc),
        end=end_text,
        practice=texts.EVENT_PRACTICE.format(practice=occurrence.practice) if occurrence.practice else "",
        id=occurrence.id,
    )
    return text[:DESCRIPTION_LIMIT]


def mirrored_fields(occurrence: OccurrenceRow) -> tuple[object, ...]:
    """Everything about a session its event shows, or that decides whether it has one."""
    return (
        occurrence.title,
        occurrence.start_utc,
        occurrence.duration_minutes,
        occurrence.channel_id,
        occurrence.practice,
        occurrence.status,
    )


def spec_for(occurrence: OccurrenceRow, kind: EventKind) -> EventSpec:
    """The event a session should have in its channel of the given kind."""
    # Titles are checked to fit when entered; the cut only guards against a longer limit elsewhere.
    return EventSpec(
        occurrence_id=occurrence.id,
        name=occurrence.title[:NAME_LIMIT],
        description=describe(occurrence),
        start=occurrence.start_utc,
        end=occurrence.end_utc,
        channel_id=occurrence.channel_id,
        kind=kind,
    )


def differences(event: LiveEvent, spec: EventSpec) -> frozenset[Field]:
    """The fields in which a live event differs from what its session says."""
    found: set[Field] = set()
    if event.name != spec.name:
        found.add("name")
    if (event.description or "") != spec.description:
        found.add("description")
    if event.start != spec.start:
        found.add("start")
    if event.end != spec.end:
        found.add("end")
    if (event.channel_id, event.kind) != (spec.channel_id, spec.kind):
        found.add("place")
    return frozenset(found)


# --- the planner ---------------------------------------------------------------------------------


def is_over(occurrence: OccurrenceRow, now: dt.datetime) -> bool:
    """Whether a session has closed or its planned end has passed."""
    return occurrence.status == "closed" or occurrence.end_utc <= now


def plan_mirror(
    sessions: Iterable[OccurrenceRow],
    links: Mapping[int, int],
    events: Iterable[LiveEvent],
    *,
    now: dt.datetime,
    horizon_end: dt.datetime,
    channel_kinds: Mapping[int, EventKind],
    ceiling: int = EVENT_CEILING,
) -> MirrorPlan:
    """Decide what to create, update, adopt, cancel, end, delete and forget (see the module docstring).

    `sessions` must hold every upcoming session in the horizon and every session that `links`
    names (a link whose session is missing counts as a session that no longer exists).
    `channel_kinds` says which channels are Stage or voice channels; others cannot have events.
    """
    plan = MirrorPlan()
    by_id = {occurrence.id: occurrence for occurrence in sessions}
    live = {event.id: event for event in events if event.live}
    linked, named = _follow_links(plan, links, live, by_id)
    candidates = sorted(
        (o for o in by_id.values() if _mirrorable(o, now, horizon_end, channel_kinds)),
        key=lambda o: (o.start_utc, o.id),
    )
    strays = _adopt_strays(plan, candidates, linked, live, named)
    staying_active = _take_away_unwanted(plan, candidates, linked, by_id, now)
    # The budget: live events that stay (everyone else's, our active and stray active ones) come first.
    others = sum(1 for e in live.values() if not e.ours)
    stray_active = sum(1 for e in strays.values() if e.state == "active")
    budget = max(0, ceiling - others - staying_active - stray_active)
    plan.next_check = _within_budget(plan, candidates, linked, budget, now, channel_kinds)
    return plan


def _follow_links(
    plan: MirrorPlan, links: Mapping[int, int], live: Mapping[int, LiveEvent], by_id: Mapping[int, OccurrenceRow]
) -> tuple[dict[int, LiveEvent], set[int]]:
    """Each session's live event, from the links; links to nothing live are forgotten."""
    linked: dict[int, LiveEvent] = {}
    named: set[int] = set()
    for occurrence_id, event_id in sorted(links.items()):
        event = live.get(event_id)
        if event is None:
            plan.forget.append(occurrence_id)
            continue
        named.add(event_id)
        if occurrence_id in by_id:
            linked[occurrence_id] = event
        else:
            # The session no longer exists: to members that is a cancellation.
            plan.forget.append(occurrence_id)
            _take_away(plan, event, None, cancelled=True)
    return linked, named


def _mirrorable(
    occurrence: OccurrenceRow, now: dt.datetime, horizon_end: dt.datetime, channel_kinds: Mapping[int, EventKind]
) -> bool:
    """Whether a session should have an event: upcoming, not over, inside the horizon, in a Stage or voice channel."""
    return (
        occurrence.status in UPCOMING_STATUSES
        and occurrence.end_utc > now
        and occurrence.start_utc < horizon_end
        and occurrence.channel_id in channel_kinds
    )


def _adopt_strays(
    plan: MirrorPlan,
    candidates: Iterable[OccurrenceRow],
    linked: dict[int, LiveEvent],
    live: Mapping[int, LiveEvent],
    named: set[int],
) -> dict[int, LiveEvent]:
    """Events of ours that no link names: adopt one that matches a session without an event, cancel the rest."""
    strays = {e.id: e for e in sorted(live.values(), key=lambda e: e.id) if e.ours and e.id not in named}
    for occurrence in candidates:
        if occurrence.id in linked:
            continue
        match = next(
            (
                e
                for e in strays.values()
                if e.state == "scheduled" and (e.start, e.channel_id) == (occurrence.start_utc, occurrence.channel_id)
            ),
            None,
        )
        if match is not None:
            del strays[match.id]
            linked[occurrence.id] = match
            plan.adopt.append((occurrence.id, match.id))
    for stray in strays.values():
        if stray.state == "scheduled":
            plan.cancel.append(Removal(stray.id, None))
    return strays


def _take_away_unwanted(
    plan: MirrorPlan,
    candidates: Iterable[OccurrenceRow],
    linked: Mapping[int, LiveEvent],
    by_id: Mapping[int, OccurrenceRow],
    now: dt.datetime,
) -> int:
    """Linked events of sessions no longer mirrored go; returns how many active events stay as they are."""
    wanted = {occurrence.id for occurrence in candidates}
    staying_active = 0
    for occurrence_id, event in sorted(linked.items()):
        occurrence = by_id[occurrence_id]
        if occurrence_id in wanted:
            staying_active += event.state == "active"
            continue
        finished = occurrence.status == "cancelled" or is_over(occurrence, now)
        if event.state == "active" and not finished:
            staying_active += 1
            continue
        _take_away(plan, event, occurrence_id, cancelled=occurrence.status == "cancelled")
    return staying_active


def _within_budget(
    plan: MirrorPlan,
    candidates: Iterable[OccurrenceRow],
    linked: Mapping[int, LiveEvent],
    budget: int,
    now: dt.datetime,
    channel_kinds: Mapping[int, EventKind],
) -> dt.datetime | None:
    """The soonest sessions get (or keep) their events up to the budget; returns when the picture next changes."""
    kept_ends: list[dt.datetime] = []
    used = 0
    for occurrence in candidates:
        event = linked.get(occurrence.id)
        if event is not None and event.state == "active":
            kept_ends.append(occurrence.end_utc)
            continue
        if event is None and occurrence.start_utc <= now + CREATE_LEAD:
            continue  # too late to announce: Discord refuses events that start in the past
        if used >= budget:
            if event is not None:
                if (occurrence.id, event.id) in plan.adopt:
                    plan.adopt.remove((occurrence.id, event.id))
                _take_away(plan, event, occurrence.id, cancelled=False)
            continue
        used += 1
        kept_ends.append(occurrence.end_utc)
        spec = spec_for(occurrence, channel_kinds[occurrence.channel_id])
        if event is None:
            plan.create.append(spec)
            continue
        changed = differences(event, spec)
        if "start" in changed and spec.start <= now + CREATE_LEAD:
            # Discord refuses a start in the past; the rest can still follow.
            changed = changed - {"start", "end"}
        if changed:
            plan.update.append(EventUpdate(event.id, spec, changed))
    return min(kept_ends, default=None)


def _take_away(plan: MirrorPlan, event: LiveEvent, occurrence_id: int | None, *, cancelled: bool) -> None:
    """Remove an event the way Discord allows and members would expect (see the module docstring)."""
    removal = Removal(event.id, occurrence_id)
    if event.state == "active":
        plan.complete.append(removal)
    elif cancelled:
        plan.cancel.append(removal)
    else:
        plan.delete.append(removal)


# --- the Discord side, as the mirror needs it ------------------------------------------------------


# --- passes --------------------------------------------------------------------------------------


@dataclass
class PassReport:
    """What one pass did."""

    plan: MirrorPlan
    created: int = 0
    failed: int = 0
    stopped_at_limit: bool = False

    def __str__(self) -> str:
        extra = f", {self.failed} failed" if self.failed else ""
        limit = ", Discord's event limit reached" if self.stopped_at_limit else ""
        return f"{self.plan.summary()}{extra}{limit}"


class EventsMirror:
    """Keeps the guild's scheduled events in line with the sessions, and turns interest into sign-ups."""

    def __init__(
        self,
        db: Database,
        sessions: SessionService,
        board: EventBoard,
        timers: Timers,
        *,
        session_channels: Iterable[int],
        horizon: dt.timedelta,
        clock: Callable[[], dt.datetime],
        ceiling: int = EVENT_CEILING,
    ) -> None:
        self.db = db
        self.sessions = sessions
        self.board = board
        self.timers = timers
        self.session_channels = tuple(session_channels)
        self.horizon = horizon
        self.clock = clock
        self.ceiling = ceiling
        self.last_report: PassReport | None = None
        self._started = False
        self._wanted = False
        self._worker: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._has_started = asyncio.Event()
        # What each session looked like to the last pass that carried out its whole plan.
        self._mirrored: dict[int, tuple[object, ...]] = {}

    # --- when passes run ----------------------------------------------------------------------

    def start(self) -> None:
        """Begin mirroring (after the core has rebuilt its timers): the first pass heals any drift."""
        self._started = True
        self._has_started.set()
        self.request_pass()

    def stop(self) -> None:
        """Stop mirroring; a pass under way is cancelled (the next start heals what it left)."""
        self._started = False
        self.timers.cancel(REFRESH_JOB)
        if self._worker is not None:
            self._worker.cancel()

    def request_pass(self) -> None:
        """Ask for a pass soon; requests made while one runs cause exactly one more."""
        self._wanted = True
        if not self._started:
            return  # remembered: start() runs it
        if self._worker is None or self._worker.done():
            self._idle.clear()
            self._worker = asyncio.create_task(self._work(), name="events-mirror")

    async def on_session_changed(self, occurrence: OccurrenceRow) -> None:
        """SessionService listener: a change to what a session's event shows (or whether it has one) asks for a pass.

        A change the events do not show (a teacher claiming the session) asks for none: a pass
        reads the whole horizon and the guild's events, and a burst of claims made a pass each.
        """
        if self._mirrored.get(occurrence.id) == mirrored_fields(occurrence):
            return
        self.request_pass()

    async def settled(self) -> None:
        """Wait until mirroring has started and no pass is running or wanted."""
        await self._has_started.wait()
        await self._idle.wait()

    async def _work(self) -> None:
        try:
            while self._wanted and self._started:
                self._wanted = False
                try:
                    self.last_report = await self.run_pass()
                except Exception:
                    log.exception("scheduled-events pass failed; retrying in %s", RETRY_AFTER_FAILURE)
                    self._refresh_at(self.clock() + RETRY_AFTER_FAILURE)
        finally:
            self._idle.set()

    def _refresh_at(self, when: dt.datetime) -> None:
        self.timers.schedule_at(REFRESH_JOB, when, self._refresh)

    async def _refresh(self) -> None:
        self.request_pass()

    # --- one pass -----------------------------------------------------------------------------

    async def run_pass(self) -> PassReport:
        """Read sessions, links and events; plan; carry the plan out, removals before creations."""
        now = self.clock()
        horizon_end = now + self.horizon
        self._mirrored = {}  # until this pass has carried out its plan, every change asks for another
        sessions = await self.db.list_occurrences(now - dt.timedelta(minutes=MAX_DURATION), horizon_end)
        links = await self.db.links_of_kind("event")
        known = {occurrence.id for occurrence in sessions}
        for occurrence_id in links.keys() - known:
            occurrence = await self.db.get_occurrence(occurrence_id)
            if occurrence is not None:
                sessions.append(occurrence)
        events = await self.board.live_events()
        plan = plan_mirror(
            sessions,
            links,
            events,
            now=now,
            horizon_end=horizon_end,
            channel_kinds=self.board.channel_kinds(self.session_channels),
            ceiling=self.ceiling,
        )
        report = await self._carry_out(plan)
        if plan:
            log.info("scheduled events: %s", report)
        next_check = now + REFRESH_AT_LEAST_EVERY
        if plan.next_check is not None:
            next_check = min(next_check, plan.next_check)
        if report.failed:
            next_check = min(next_check, now + RETRY_AFTER_FAILURE)
        else:
            self._mirrored = {occurrence.id: mirrored_fields(occurrence) for occurrence in sessions}
        self._refresh_at(next_check)
        return report

    async def _carry_out(self, plan: MirrorPlan) -> PassReport:
        report = PassReport(plan)
        for occurrence_id in plan.forget:
            await self.db.drop_link(occurrence_id, "event")
        removals = (
            [(r, self.board.cancel) for r in plan.cancel]
            + [(r, self.board.complete) for r in plan.complete]
            + [(r, self.board.delete) for r in plan.delete]
        )
        for removal, remove in removals:
            # The link goes first, so interest changes on a vanishing event no longer count.
            if removal.occurrence_id is not None:
                await self.db.drop_link(removal.occurrence_id, "event")
            try:
                await remove(removal.event_id)
            except EventGone:
                pass  # already gone or finished: nothing left to do
            except Exception:
                log.exception("could not remove event %d", removal.event_id)
                report.failed += 1
        for occurrence_id, event_id in plan.adopt:
            await self.db.set_link(occurrence_id, "event", event_id)
        for update in plan.update:
            try:
                await self.board.update(update.event_id, update.spec, update.fields)
            except EventGone:
                # Deleted behind our back since we looked: the next pass makes a new one.
                await self.db.drop_link(update.spec.occurrence_id, "event")
                self._wanted = True
            except Exception:
                log.exception("could not update event %d for session %d", update.event_id, update.spec.occurrence_id)
                report.failed += 1
        for spec in plan.create:
            try:
                event_id = await self.board.create(spec)
            except EventLimitReached:
                # People made events since we counted; later sessions wait for room.
                log.warning("Discord's event limit reached; %d session(s) wait for room", len(plan.create))
                report.stopped_at_limit = True
                break
            except Exception:
                log.exception("could not create the event for session %d", spec.occurrence_id)
                report.failed += 1
                continue
            await self.db.set_link(spec.occurrence_id, "event", event_id)
            report.created += 1
        return report

    # --- interest -----------------------------------------------------------------------------

    async def interest_added(self, event_id: int, user_id: int) -> bool:
        """A member marked Interested: sign them up for the event's session; True if that was new."""
        occurrence_id = await self.db.occurrence_for_link("event", event_id)
        if occurrence_id is None:
            return False  # not one of ours, or no longer mirrored
        try:
            return await self.sessions.sign_up(user_id, occurrence_id, source="event")
        except (ConflictError, NotFoundError) as refused:
            log.info("interest in event %d not turned into a sign-up: %s", event_id, refused)
            return False

    async def interest_removed(self, event_id: int, user_id: int) -> bool:
        """A member took Interested back: sign them out if (and only if) the interest signed them up."""
        occurrence_id = await self.db.occurrence_for_link("event", event_id)
        if occurrence_id is None:
            return False
        signups = await self.db.list_signups(occurrence_id)
        if not any(s.user_id == user_id and s.source == "event" for s in signups):
            return False  # an explicit sign-up stays until /signout
        try:
            return await self.sessions.sign_out(user_id, occurrence_id)
        except NotFoundError:
            return False
