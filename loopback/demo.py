"""The self-contained demo: the real bot on the loopback Discord, with minutes passing in seconds.

`python -m bot demo` starts the sandbox Discord (`World.default()`: Laila coordinates, Ana teaches,
Sam, Priya, Jonas and Mei take part, and Mei has closed her DMs) and the real bot against it, on a
temporary database and a temporary copy of the approved recordings: the shipped bell, the official
welcome words synthesised by the bot's own `ensure_welcome_reading`, and a short generated tone
standing in for an approved practice recording. Bot and sandbox share one fast clock (60x by
default), so a 10-minute session takes 10 seconds; nothing is driven by hand, every step waits for
the bot's own timers and answers. Audio plays in real time, as it would on Discord.

The steps (`STEPS`): a coordinator schedules three sessions; members sign up and a teacher claims
the first; reminders arrive; the teacher leads while the bot stays silent; the next session has no
teacher, so the bot reads the welcome words and plays the recording a participant chose; the third
session is cancelled. Each step checks what it expects and stops the demo with a clear message if
anything did not happen, so a broken flow never passes quietly.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

from bot import texts
from bot.adapters.bot import PracticeCirclesBot
from bot.cli.demo import DEFAULT_SPEED, MAX_SPEED
from bot.config import Config
from bot.errors import PracticeCirclesError
from bot.media.recordings import add_recording
from bot.media.welcome_audio import ensure_welcome_reading
from bot.model import OccurrenceRow, Recording
from bot.schedule.rules import format_pacific, utc_to_pacific
from bot.services.sessions import MAX_DURATION, MIN_DURATION
from loopback import ActionRefused, Reply, Sandbox, SimulatedPerson, World
from loopback.capture import OPUS_SILENCE, ogg_opus_packets
from loopback.harness import config_for_world, copy_shipped_recordings, practice_bot
from loopback.world import ChannelType, Message, snowflake_time

T = TypeVar("T")

PRACTICE_SECONDS = 5.0
REMINDER_MINUTES = 15
# Sign-ups must be done before the first 15-minute reminder falls due.
FIRST_SESSION_LEAD = dt.timedelta(minutes=REMINDER_MINUTES + 5)
TEACHER_SESSION_MINUTES = 10
# The second session opens only after the first has closed: they share the Stage.
SESSION_GAP = dt.timedelta(minutes=TEACHER_SESSION_MINUTES + 2)
# Room in the no-teacher session (demo minutes) for joining voice and choosing, beyond the audio itself.
NO_TEACHER_MARGIN_MINUTES = 3
# How much longer than the bot's own timers a wait may take (real seconds) before the demo gives up.
SLACK_SECONDS = 10.0
STAGE = "Practice Circle"
PARTICIPANTS = ("Sam", "Priya", "Jonas", "Mei")
OFFICIAL_OPENING = "On behalf of CMSC, welcome"
TITLES = {"teacher": "Open heart circle", "no_teacher": "Drop-in circle", "cancelled": "Extra circle"}
DEMO_CONFIG: dict[str, dict[str, Any]] = {
    "sessions": {
        "grace_minutes": 1,
        "open_minutes_before": 1,
        "choice_timeout_minutes": 1,
        "silent_sit_minutes": [10, 15, 20],
        "default_silent_sit_minutes": 10,
        "lock_chat": True,
    },
    # The demo's sessions start within the hour, so the 15-minute reminder is the one members get.
    "reminders": {"default_offsets_minutes": [REMINDER_MINUTES]},
}


class DemoFailed(Exception):
    """Something in the demo did not happen as expected; the message says what."""


# --- time ---------------------------------------------------------------------------------------


class DemoClock:
    """The demo's clock: from the next whole minute of real time, running `speed` times faster."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.origin = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        self._started = time.monotonic()

    def __call__(self) -> dt.datetime:
        return self.origin + dt.timedelta(seconds=self.elapsed() * self.speed)

    def elapsed(self) -> float:
        """Real seconds since the demo started."""
        return time.monotonic() - self._started

    def real_seconds_until(self, instant: dt.datetime) -> float:
        """Real seconds until the demo clock reads `instant` (0 if it already has)."""
        return max(0.0, (instant - self()).total_seconds() / self.speed)


def pacific_clock(instant: dt.datetime) -> str:
    """'09:45 PT'."""
    return f"{utc_to_pacific(instant):%H:%M} PT"


def minute_after(instant: dt.datetime) -> dt.datetime:
    """The first whole minute at or after `instant` (sessions start on whole Pacific minutes)."""
    whole = instant.replace(second=0, microsecond=0)
    return whole if whole == instant else whole + dt.timedelta(minutes=1)


# --- what people see, in words ---------------------------------------------------------------------

_TIMESTAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFsSR]))?>")
_USER = re.compile(r"<@!?(\d+)>")
_ROLE = re.compile(r"<@&(\d+)>")
_CHANNEL = re.compile(r"<#(\d+)>")


class Renderer:
    """Discord markup as a reader on UTC would see it, for the console and the transcript."""

    def __init__(self, world: World) -> None:
        self.world = world

    def name(self, user_id: int) -> str:
        """A user's display name."""
        user = self.world.users.get(user_id)
        return user.display_name if user is not None else f"user {user_id}"

    def place(self, channel_id: int) -> str:
        """Where a message is: '#teachers', 'thread “…”', 'Practice Circle chat', 'DM to Sam'."""
        channel = self.world.channel(channel_id)
        if channel.type == ChannelType.DM:
            return f"DM to {self.name(channel.recipient_ids[0])}"
        if channel.is_thread:
            return f"thread “{channel.name}”"
        if channel.is_voice:
            return f"{channel.name} chat"
        return f"#{channel.name}"

    def markup(self, text: str, seen_at: dt.datetime) -> str:
        """Replace timestamps, mentions and channel links with what a reader sees."""

        def timestamp(match: re.Match[str]) -> str:
            instant = dt.datetime.fromtimestamp(int(match[1]), dt.UTC)
            if match[2] == "R":
                return relative(instant, seen_at)
            # Discord shows these in each reader's own zone; the demo's readers are taken to be on UTC.
            return f"{instant:%a} {instant.day} {instant:%b %Y, %H:%M} UTC"

        def channel(match: re.Match[str]) -> str:
            found = self.world.guild.channels.get(int(match[1]))
            return f"#{found.name}" if found is not None else "#unknown"

        def role(match: re.Match[str]) -> str:
            found = self.world.guild.roles.get(int(match[1]))
            return f"@{found.name}" if found is not None else "@unknown"

        text = _TIMESTAMP.sub(timestamp, text)
        text = _ROLE.sub(role, text)
        text = _USER.sub(lambda match: "@" + self.name(int(match[1])), text)
        return _CHANNEL.sub(channel, text)

    def message(self, message: Message) -> str:
        """A message in full: text, embeds and its buttons and menus."""
        at = snowflake_time(message.id)
        parts = [self.markup(message.content, at)] if message.content else []
        for embed in message.embeds:
            if embed.get("title"):
                parts.append(f"**{self.markup(str(embed['title']), at)}**")
            if embed.get("description"):
                parts.append(self.markup(str(embed["description"]), at))
            for item in embed.get("fields") or []:
                parts.append(f"{self.markup(str(item.get('name')), at)}: {self.markup(str(item.get('value')), at)}")
            footer = (embed.get("footer") or {}).get("text")
            if footer:
                parts.append(f"_{self.markup(str(footer), at)}_")
        controls = list(_controls(message.components))
        if controls:
            parts.append(" ".join(controls))
        return "\n".join(parts)

    def summary(self, message: Message, limit: int = 110) -> str:
        """The first line of a message, cut to fit a console line."""
        line = next((line for line in self.message(message).splitlines() if line.strip()), "")
        line = line.replace("**", "").strip("_ ")
        return line if len(line) <= limit else line[: limit - 1] + "…"


def _controls(components: list[dict[str, Any]]) -> Iterator[str]:
    """Buttons and menus as '[Sign up #3]' and '[menu: … (A | B)]'."""
    for component in components:
        kind = component.get("type")
        if kind == 2 and component.get("label"):
            yield f"[{component['label']}]"
        elif kind == 3:
            options = " | ".join(str(option.get("label")) for option in component.get("options") or [])
            yield f"[menu: {component.get('placeholder') or 'choose'} ({options})]"
        yield from _controls(list(component.get("components") or []))


def relative(instant: dt.datetime, seen_at: dt.datetime) -> str:
    """'in 15 minutes' / '3 minutes ago', as Discord shows a relative timestamp."""
    minutes = round((instant - seen_at).total_seconds() / 60)
    if minutes == 0:
        return "now"
    amount = abs(minutes)
    words = f"{amount // 1440} days" if amount >= 2880 else f"{amount} minute{'s' if amount != 1 else ''}"
    if 120 <= amount < 2880:
        words = f"{round(amount / 60)} hours"
    return f"in {words}" if minutes > 0 else f"{words} ago"


# --- the console timeline and the transcript --------------------------------------------------------


class Timeline:
    """Readable progress lines, `[mm:ss] HH:MM PT  what happened`, printed and kept for the transcript."""

    def __init__(self, clock: DemoClock, out: TextIO) -> None:
        self.clock = clock
        self.out = out
        self.steps: list[tuple[str, list[str]]] = [("Setting up", [])]
        self.checks: list[str] = []
        # Called before each line, so what the bot did in the meantime is told first (see Watcher).
        self.catch_up: Callable[[], None] | None = None
        self._catching_up = False

    def step(self, title: str) -> None:
        """Start a new step."""
        self.steps.append((title, []))
        print(f"\n== {len(self.steps) - 1}. {title}", file=self.out, flush=True)

    def say(self, text: str) -> None:
        """One line of progress, stamped with real seconds since the start and the demo's Pacific time."""
        if self.catch_up is not None and not self._catching_up:
            self._catching_up = True
            try:
                self.catch_up()
            finally:
                self._catching_up = False
        seconds = int(self.clock.elapsed())
        line = f"[{seconds // 60:02d}:{seconds % 60:02d}] {pacific_clock(self.clock())}  {text}"
        self.steps[-1][1].append(line)
        print(line, file=self.out, flush=True)

    def check(self, condition: object, text: str) -> None:
        """Record a check that held, or stop the demo saying which one did not."""
        if not condition:
            raise DemoFailed(f"check failed: {text}")
        self.checks.append(text)
        self.say(f"  ✓ {text}")


class Watcher:
    """Prints what the bot posts, sends, says and opens, as it happens (it reads the sandbox's world)."""

    def __init__(self, sandbox: Sandbox, timeline: Timeline, render: Renderer) -> None:
        self.sandbox = sandbox
        self.timeline = timeline
        self.render = render
        self._seen: set[int] = set()
        self._bot_channel: int | None = None
        self._stages: set[int] = set()
        self._reporting = False

    async def run(self) -> None:
        """Report changes until cancelled."""
        while True:
            with contextlib.suppress(AssertionError):  # the sandbox's wait ends with one; just wait again
                await self.sandbox.wait_until(self._changed, timeout=3600, what="something new")
            self.report()

    def _changed(self) -> bool:
        world = self.sandbox.world
        state = world.voice_state(world.bot_user.id)
        return (
            len(world.messages) != len(self._seen)
            or (state.channel_id if state else None) != self._bot_channel
            or set(world.guild.stage_instances) != self._stages
        )

    def report(self) -> None:
        """Say what is new since the last report."""
        if self._reporting:
            return  # a line said below asks the timeline to catch up, which lands here again
        self._reporting = True
        try:
            self._report()
        finally:
            self._reporting = False

    def _report(self) -> None:
        world = self.sandbox.world
        bot_id = world.bot_user.id
        for message in sorted(world.messages.values(), key=lambda m: m.id):
            if message.id in self._seen:
                continue
            self._seen.add(message.id)
            if message.author_id == bot_id and not message.ephemeral:
                self.timeline.say(f"{self.render.place(message.channel_id)} ← {self.render.summary(message)}")
        state = world.voice_state(bot_id)
        channel = state.channel_id if state else None
        if channel != self._bot_channel:
            where = f"joins {world.channel(channel).name} to speak" if channel else "leaves voice"
            self.timeline.say(f"the bot {where}")
            self._bot_channel = channel
        stages = set(world.guild.stage_instances)
        for opened in stages - self._stages:
            self.timeline.say(f"the Stage opens: “{world.guild.stage_instances[opened].topic}”")
        for _ in self._stages - stages:
            self.timeline.say("the Stage closes")
        self._stages = stages


# --- the demo's world ------------------------------------------------------------------------------


@dataclass
class Demo:
    """Everything the steps share: the sandbox, the real bot, the clock and what happened so far."""

    sandbox: Sandbox
    bot: PracticeCirclesBot
    config: Config
    clock: DemoClock
    timeline: Timeline
    render: Renderer
    welcome: Recording
    practice: Recording
    output: Path
    sessions: dict[str, OccurrenceRow] = field(default_factory=dict)
    # Messages a later step starts from (the open session's card).
    marks: dict[str, Message] = field(default_factory=dict)
    # The Stage's permission overwrites before the bot led, to compare after it closes.
    stage_before: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    audio_files: list[tuple[Path, str]] = field(default_factory=list)

    def person(self, name: str) -> SimulatedPerson:
        """A member of the world, by name."""
        return self.sandbox.person(name.lower())

    @property
    def bot_id(self) -> int:
        """The bot's user id."""
        return self.sandbox.world.bot_user.id

    @property
    def stage_id(self) -> int:
        """The Stage channel where the sessions take place."""
        return self.sandbox.world.find_channel(STAGE).id

    async def wait(self, what: str, condition: Callable[[], T | None], *, within: float) -> T:
        """Wait for something the bot does (event-driven); stop the demo if it does not happen `within` seconds."""
        try:
            return await self.sandbox.wait_until(condition, timeout=within, what=what)
        except AssertionError:
            raise DemoFailed(f"{what} did not happen within {within:.0f} s") from None

    def until(self, instant: dt.datetime) -> float:
        """A timeout reaching past the moment the demo clock reads `instant`."""
        return self.clock.real_seconds_until(instant) + SLACK_SECONDS

    async def act(self, who: SimulatedPerson, action: str, handle: Awaitable[Any]) -> Reply:
        """Someone runs a command or presses a button; print it and the private reply they see."""
        self.timeline.say(f"{who.name} {action}")
        try:
            reply: Reply = await (await handle).response()
        except AssertionError as error:
            raise DemoFailed(f"{who.name} {action}: the bot did not answer ({error})") from None
        seen = self.render.summary(reply.message) if reply.message else "(nothing)"
        self.timeline.say(f"  {who.name} sees, privately: {seen}")
        return reply

    def session(self, key: str) -> OccurrenceRow:
        """One of the demo's sessions: 'teacher', 'no_teacher' or 'cancelled'."""
        return self.sessions[key]

    def stage_messages(self, after: int = 0) -> list[Message]:
        """The bot's posts in the Stage's chat after message id `after`."""
        return [m for m in self.sandbox.channel_messages(STAGE) if m.id > after and m.author_id == self.bot_id]

    def posted(self, after: int, predicate: Callable[[Message], bool]) -> Message | None:
        """The first post in the Stage's chat after `after` that matches."""
        return next((m for m in self.stage_messages(after) if predicate(m)), None)

    def thread_posts_for(self, person: SimulatedPerson, needle: str) -> list[Message]:
        """Bot posts in the reminder threads that mention `person` and contain `needle`."""
        world = self.sandbox.world
        schedule = world.find_channel("schedule").id
        threads = [c.id for c in world.guild.channels.values() if c.is_thread and c.parent_id == schedule]
        return [
            m
            for thread in threads
            for m in world.history(thread)
            if f"<@{person.id}>" in m.content and needle in m.content
        ]

    def dms_with(self, person: SimulatedPerson, needle: str) -> list[Message]:
        """DMs the bot sent `person` that contain `needle`."""
        return [m for m in person.dms() if needle in m.content]

    def bot_packets(self) -> list[bytes]:
        """The Opus packets the bot sent to the Stage, the silence frames between playbacks left out."""
        voice = self.sandbox.voice
        if voice is None:
            return []
        return [p for p in voice.capture.opus_packets(self.bot_id, self.stage_id) if p != OPUS_SILENCE]


Step = Callable[[Demo], Awaitable[None]]


# --- the steps ------------------------------------------------------------------------------------


async def schedule_sessions(demo: Demo) -> None:
    """Laila, a coordinator, adds three one-off sessions with /session add (times in US Pacific)."""
    laila = demo.person("Laila")
    await demo.sandbox.wait_for_commands("session", "signup", "schedule", "teach")
    first = minute_after(demo.clock() + FIRST_SESSION_LEAD)
    second = first + SESSION_GAP
    plan = {
        "teacher": (first, TEACHER_SESSION_MINUTES),
        "no_teacher": (second, no_teacher_minutes(demo)),
        "cancelled": (second + dt.timedelta(days=1), 30),
    }
    for key, (start, minutes) in plan.items():
        wall = f"{utc_to_pacific(start):%Y-%m-%d %H:%M}"
        options = {"start": wall, "duration": minutes, "title": TITLES[key]}
        await demo.act(
            laila,
            f'runs /session add start:"{wall}" duration:{minutes} title:"{TITLES[key]}"',
            laila.run_command("session", options, subcommand="add", channel="coordinators"),
        )
        found = await demo.bot.core.db.list_occurrences(start, start + dt.timedelta(minutes=1))
        session = next((row for row in found if row.title == TITLES[key]), None)
        if session is None:
            raise DemoFailed(f"“{TITLES[key]}” is not on the schedule after /session add")
        demo.timeline.check(True, f"“{session.title}” is on the schedule: {format_pacific(start)}, {minutes} min")
        demo.sessions[key] = session


def no_teacher_minutes(demo: Demo) -> int:
    """How long the no-teacher session lasts: the grace, then the welcome and the recording in real time."""
    audio_minutes = (demo.welcome.duration_seconds + demo.practice.duration_seconds) * demo.clock.speed / 60
    minutes = demo.config.sessions.grace_minutes + math.ceil(audio_minutes) + NO_TEACHER_MARGIN_MINUTES
    if minutes > MAX_DURATION:
        speed = demo.clock.speed
        raise DemoFailed(f"at speed {speed:g} the audio needs a {minutes}-minute session; use a lower --speed")
    return max(minutes, MIN_DURATION)


async def members_sign_up(demo: Demo) -> None:
    """Sam and Jonas press Sign up under /schedule; Priya and Mei use /signup."""
    teacher, no_teacher, cancelled = (demo.session(key) for key in ("teacher", "no_teacher", "cancelled"))
    for name, sessions in (("Sam", (teacher, no_teacher, cancelled)), ("Jonas", (teacher, no_teacher))):
        person = demo.person(name)
        listing = await demo.act(person, "runs /schedule", person.run_command("schedule"))
        if listing.message is None:
            raise DemoFailed(f"/schedule showed {name} nothing")
        for session in sessions:
            await demo.act(
                person,
                f"presses “Sign up” for “{session.title}”",
                person.press_button(listing.message, f"pc:signup:{session.id}"),
            )
    for name, sessions in (("Priya", (teacher, no_teacher)), ("Mei", (teacher, no_teacher, cancelled))):
        person = demo.person(name)
        for session in sessions:
            await demo.act(
                person, f"runs /signup session:{session.id}", person.run_command("signup", {"session": session.id})
            )
    for name, expected in (("Sam", 3), ("Jonas", 2), ("Priya", 2), ("Mei", 3)):
        mine = await demo.bot.core.sessions.my_sessions(demo.person(name).id)
        demo.timeline.check(len(mine) == expected, f"{name} is signed up for {expected} sessions")


async def teacher_claims(demo: Demo) -> None:
    """The bot asked the teachers for help; Ana presses Claim on the first session's alert."""
    session = demo.session("teacher")
    ana = demo.person("Ana")
    claim_id = f"pc:claim:{session.id}"
    alert = await demo.wait(
        "the teachers' alert for the first session",
        lambda: next((m for m in demo.sandbox.channel_messages("teachers") if m.component_named(claim_id)), None),
        within=SLACK_SECONDS,
    )
    await demo.act(ana, f"presses “Claim” on the alert for “{session.title}”", ana.press_button(alert, claim_id))
    claim = await demo.bot.core.db.get_teacher_claim(session.id)
    demo.timeline.check(claim is not None and claim.teacher_id == ana.id, f"Ana will lead “{session.title}”")
    due = session.start_utc - dt.timedelta(minutes=REMINDER_MINUTES)
    demo.timeline.check(
        demo.clock() < due, "all this happened before the first reminder fell due (else: try a lower --speed)"
    )


async def reminders_arrive(demo: Demo) -> None:
    """The bot's 15-minute reminder timers fire: DMs for Sam, Priya and Jonas; Mei's in the session thread."""
    for key in ("teacher", "no_teacher"):
        await reminded(demo, demo.session(key))


async def reminded(demo: Demo, session: OccurrenceRow) -> None:
    """Wait for one session's 15-minute reminders and check who got them, and how."""
    people = [demo.person(name) for name in PARTICIPANTS]
    due = session.start_utc - dt.timedelta(minutes=REMINDER_MINUTES)
    demo.timeline.say(f"waiting for the 15-minute reminders of “{session.title}” (due {pacific_clock(due)})")
    needle = f"Reminder: **{session.title}**"
    await demo.wait(
        f"the 15-minute reminders for “{session.title}”",
        lambda: all(demo.dms_with(p, needle) or demo.thread_posts_for(p, needle) for p in people),
        within=demo.until(due),
    )
    got = [p.name for p in people if p.name != "Mei" and len(demo.dms_with(p, needle)) == 1]
    demo.timeline.check(len(got) == 3, f"{', '.join(got)} each got one reminder by DM for “{session.title}”")
    mei = demo.person("Mei")
    demo.timeline.check(
        len(demo.thread_posts_for(mei, needle)) == 1 and not mei.dms(),
        f"Mei (DMs closed) got hers for “{session.title}” in her private reminder thread, and no DM",
    )


async def teacher_leads(demo: Demo) -> None:
    """Ana comes to the Stage and leads; the bot opens and closes the session but never speaks."""
    session = demo.session("teacher")
    card = await wait_for_card(demo, session)
    for name in ("Ana", "Sam", "Jonas"):
        await demo.person(name).join_voice(STAGE)
        demo.timeline.say(f"{name} joins the Stage")
    await demo.wait(
        "the bot handing over to the teacher",
        lambda: demo.posted(card.id, lambda m: m.content.startswith("Welcome, <@")),
        within=demo.until(session.start_utc + dt.timedelta(minutes=demo.config.sessions.grace_minutes)),
    )
    run = await demo.bot.core.db.get_run(session.id)
    demo.timeline.check(run is not None and run.phase == "teacher_led", "the session is teacher-led")
    demo.timeline.say("Ana leads the practice; the bot listens")
    await wait_for_close(demo, session, card)
    voice = demo.sandbox.voice
    demo.timeline.check(
        voice is not None and not voice.capture.frames(demo.bot_id),
        "the bot sent no audio at all during the teacher's session",
    )
    for name in ("Ana", "Sam", "Jonas"):
        await demo.person(name).leave_voice()
    demo.timeline.say("everyone leaves the Stage")


async def bot_welcomes(demo: Demo) -> None:
    """Nobody comes to teach: at start + grace the bot posts the official words and reads them aloud."""
    session = demo.session("no_teacher")
    card = demo.marks["card"] = await wait_for_card(demo, session)
    demo.stage_before = overwrites(demo)
    for name in PARTICIPANTS:
        await demo.person(name).join_voice(STAGE)
        demo.timeline.say(f"{name} joins the Stage")
    begins = session.start_utc + dt.timedelta(minutes=demo.config.sessions.grace_minutes)
    demo.timeline.say(f"nobody is here to teach; at {pacific_clock(begins)} the bot welcomes the group")
    await demo.wait(
        "the welcome words in the chat",
        lambda: demo.posted(card.id, lambda m: m.content.startswith(OFFICIAL_OPENING)),
        within=demo.until(begins),
    )
    jonas, mei = demo.person("Jonas"), demo.person("Mei")
    try:
        await jonas.send_message(STAGE, "hello everyone")
    except ActionRefused:
        demo.timeline.check(True, "the chat rests while the bot leads: Jonas cannot post")
    else:
        raise DemoFailed("Jonas could post in the chat while the bot was leading")
    demo.timeline.say(f"the bot reads the welcome words aloud ({demo.welcome.duration_seconds:.0f} s of real audio)")
    await demo.act(
        mei, "presses “Taking care of myself” on the session card", mei.press_button(card, f"pc:care:{session.id}")
    )
    await mei.leave_voice()
    demo.timeline.say("Mei leaves the Stage to care for herself, without blame")


async def recording_plays(demo: Demo) -> None:
    """Priya picks the approved recording; it plays; a raised hand and an unmute are gently declined."""
    session = demo.session("no_teacher")
    choice_id = f"pc:play:{session.id}"
    prompt = await demo.wait(
        "the choice after the welcome words",
        lambda: demo.posted(demo.marks["card"].id, lambda m: m.component_named(choice_id) is not None),
        within=demo.welcome.duration_seconds + SLACK_SECONDS,
    )
    priya, sam = demo.person("Priya"), demo.person("Sam")
    await demo.act(priya, f"chooses “{demo.practice.title}”", priya.choose(prompt, choice_id, [demo.practice.id]))
    chosen = await demo.wait(
        "the bot announcing the choice",
        lambda: demo.posted(prompt.id, lambda m: m.content.startswith("Thank you. We will now share")),
        within=SLACK_SECONDS,
    )
    await sam.request_to_speak()
    demo.timeline.say("Sam raises a hand during the recording")
    declined = await demo.wait(
        "the bot gently declining Sam's raised hand",
        lambda: demo.posted(chosen.id, lambda m: m.content == texts.SPEAK_DECLINED),
        within=SLACK_SECONDS,
    )
    state = sam.voice_state
    demo.timeline.check(state is not None and not state.can_speak, "Sam stays in the audience, unheard")
    demo.timeline.check(not await priya.try_unmute(), "Priya tries to unmute: nobody but the bot can be heard")
    listening = [demo.person(name) for name in PARTICIPANTS]
    demo.timeline.check(
        all(p.voice_state is None or not p.voice_state.can_speak for p in listening),
        "every participant stays silent while the recording plays",
    )
    ended = await demo.wait(
        "the end of the recording",
        lambda: demo.posted(chosen.id, lambda m: m.content == texts.PRACTICE_ENDED),
        within=demo.practice.duration_seconds + SLACK_SECONDS,
    )
    demo.timeline.check(declined.id < ended.id, "the raised hand was declined while the recording was playing")
    expected = [
        p for p in ogg_opus_packets(demo.welcome.path) + ogg_opus_packets(demo.practice.path) if p != OPUS_SILENCE
    ]
    demo.timeline.check(
        demo.bot_packets() == expected,
        f"the bot sent exactly the welcome reading, then the chosen recording: {len(expected)} Opus packets, "
        "in order, identical to the files'",
    )


async def session_closes(demo: Demo) -> None:
    """At the end the bot restores every permission, closes the Stage and thanks everyone, with the links."""
    session = demo.session("no_teacher")
    world = demo.sandbox.world
    card = demo.marks["card"]
    closing = await wait_for_close(demo, session, card)
    run = await demo.bot.core.db.get_run(session.id)
    demo.timeline.check(overwrites(demo) == demo.stage_before, "the Stage's permissions are exactly as before")
    demo.timeline.check(run is not None and not run.restrictions, "nothing the bot changed is left to undo")
    links = demo.config.links
    demo.timeline.check(
        links.donate in closing.content and links.share in closing.content,
        "the thank-you carries the donation and sharing links",
    )
    jonas = demo.person("Jonas")
    await jonas.send_message(STAGE, "Thank you all 🙏")
    demo.timeline.say("Jonas writes in the chat again: “Thank you all 🙏”")
    demo.timeline.check(
        not world.guild.stage_instances and world.voice_state(demo.bot_id) is None, "the Stage is closed; the bot left"
    )
    for name in PARTICIPANTS:
        person = demo.person(name)
        if person.voice_state is not None:
            await person.leave_voice()
    voice = demo.sandbox.voice
    if voice is None:
        raise DemoFailed("the sandbox has no voice server to record what the Stage heard")
    wav = demo.output / f"session-{session.id}-{slug(session.title)}.wav"
    seconds = voice.capture.to_wav(wav, demo.bot_id, demo.stage_id, strip_silence_tail=True)
    audio = demo.welcome.duration_seconds + demo.practice.duration_seconds
    demo.timeline.check(
        abs(seconds - audio) < 1.0, f"{wav.name}: what the Stage heard, {seconds:.1f} s (the files: {audio:.1f} s)"
    )
    what = f"“{session.title}”: the welcome words, then “{demo.practice.title}”, {seconds:.1f} s"
    demo.audio_files.append((wav, what))


async def cancel_session(demo: Demo) -> None:
    """Laila cancels the third session with /session cancel; everyone signed up is told, Mei in the thread."""
    session = demo.session("cancelled")
    laila = demo.person("Laila")
    reason = "Our teachers are on retreat that day"
    await demo.act(
        laila,
        f'runs /session cancel session:{session.id} reason:"{reason}"',
        laila.run_command(
            "session", {"session": session.id, "reason": reason}, subcommand="cancel", channel="coordinators"
        ),
    )
    needle = f"**{session.title}**"
    sam, mei, priya = demo.person("Sam"), demo.person("Mei"), demo.person("Priya")
    await demo.wait(
        "the cancellation notices",
        lambda: (
            any("cancelled" in m.content for m in demo.dms_with(sam, needle))
            and any("cancelled" in m.content for m in demo.thread_posts_for(mei, needle))
        ),
        within=SLACK_SECONDS,
    )
    demo.timeline.check(
        any(reason in m.content for m in demo.dms_with(sam, needle)), "Sam was told by DM, with the reason"
    )
    demo.timeline.check(bool(demo.thread_posts_for(mei, needle)), "Mei was told in the session's thread")
    demo.timeline.check(not demo.dms_with(priya, needle), "Priya, who had not signed up for it, was not messaged")
    row = await demo.bot.core.db.get_occurrence(session.id)
    demo.timeline.check(row is not None and row.status == "cancelled", f"“{session.title}” is cancelled")


async def sandbox_agrees(demo: Demo) -> None:
    """Every request the bot made was one Discord would accept."""
    sandbox = demo.sandbox
    if sandbox.spec is None:
        demo.timeline.say("Discord's OpenAPI spec was not found, so requests were not checked against it")
    else:
        demo.timeline.check(
            not sandbox.spec_violations,
            f"all {sandbox.validated_requests} REST requests so far match Discord's OpenAPI spec",
        )
    demo.timeline.check(not sandbox.unknown_routes, "no request went to a route Discord does not have")
    limiter = sandbox.rate_limiter
    demo.timeline.check(limiter is None or not limiter.violations, "no rate limit was broken")


STEPS: tuple[tuple[str, Step], ...] = (
    ("A coordinator schedules three sessions", schedule_sessions),
    ("Members sign up, with buttons and with commands", members_sign_up),
    ("A teacher claims the first session", teacher_claims),
    ("Members get their 15-minute reminders", reminders_arrive),
    ("A teacher leads the first session: the bot stays silent", teacher_leads),
    ("No teacher for the second session: the bot welcomes the group", bot_welcomes),
    ("A participant chooses an approved recording; everyone else stays silent", recording_plays),
    ("The session closes: permissions restored, thanks and links", session_closes),
    ("A coordinator cancels the third session: those signed up are told", cancel_session),
    ("Discord's rules were kept", sandbox_agrees),
)


# --- helpers for the steps --------------------------------------------------------------------------


async def wait_for_card(demo: Demo, session: OccurrenceRow) -> Message:
    """Wait until the session opens (its card in the Stage's chat)."""
    opens = session.start_utc - dt.timedelta(minutes=demo.config.sessions.open_minutes_before)
    demo.timeline.say(f"waiting for “{session.title}” to open at {pacific_clock(opens)}")
    title = texts.SESSION_CARD_TITLE.format(title=session.title)
    return await demo.wait(
        f"“{session.title}” opening",
        lambda: demo.posted(0, lambda m: any(e.get("title") == title for e in m.embeds)),
        within=demo.until(opens),
    )


async def wait_for_close(demo: Demo, session: OccurrenceRow, card: Message) -> Message:
    """Wait until the session closes (the thank-you in the Stage's chat)."""
    ends = session.start_utc + dt.timedelta(minutes=session.duration_minutes)
    demo.timeline.say(f"waiting for “{session.title}” to close at {pacific_clock(ends)}")
    return await demo.wait(
        f"“{session.title}” closing",
        lambda: demo.posted(card.id, lambda m: m.content.startswith("This session has closed.")),
        within=demo.until(ends),
    )


def overwrites(demo: Demo) -> dict[int, tuple[int, int, int]]:
    """The Stage's permission overwrites, copied (the sandbox may change them in place)."""
    channel = demo.sandbox.world.find_channel(STAGE)
    return {key: (o.type, int(o.allow), int(o.deny)) for key, o in channel.overwrites.items()}


def slug(text: str) -> str:
    """'Drop-in circle' -> 'drop-in-circle'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# --- preparing the audio ------------------------------------------------------------------------------


def prepare_recordings(config: Config, workdir: Path) -> tuple[Recording, Recording]:
    """The welcome reading (the bot's own espeak-ng synthesis) and a generated practice tone, both approved."""
    catalog_path = Path(config.recordings.file)
    # Made before the bot starts (rather than when the first session opens) so the fast clock does not
    # run on through the synthesis; it is the same function and the same pinned entry the bot would make.
    welcome = ensure_welcome_reading(catalog_path, config.welcome.words)
    wav = workdir / "practice-tone.wav"
    try:
        subprocess.run(
            [
                "sox",
                "-n",
                "-r",
                "48000",
                "-c",
                "2",
                str(wav),
                "synth",
                str(PRACTICE_SECONDS),
                "sine",
                "220",
                "sine",
                "330",
                "tremolo",
                "0.3",
                "30",
                "fade",
                "q",
                "0.5",
                str(PRACTICE_SECONDS),
                "1.5",
                "vol",
                "0.3",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except FileNotFoundError:
        raise DemoFailed("sox is needed to make the demo's practice recording (apt install sox)") from None
    except subprocess.CalledProcessError as error:
        raise DemoFailed(f"sox could not make the practice tone: {error.stderr.decode(errors='replace')}") from None
    practice = add_recording(
        wav,
        recordings_path=catalog_path,
        title="Affectionate Breathing (demo tone)",
        kind="practice",
        source="Practice Circles demo: a generated tone standing in for an approved CMSC recording",
    ).recording
    return welcome, practice


# --- running it --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote its transcript and audio, and how long it took."""

    output: Path
    seconds: float
    failure: str | None = None


async def run_demo(output: Path | None = None, speed: float = DEFAULT_SPEED, out: TextIO = sys.stdout) -> DemoResult:
    """Run every step against the sandbox; write transcript.md and the WAVs to `output` (a new folder if None)."""
    if not 1 <= speed <= MAX_SPEED:
        raise DemoFailed(f"--speed must be between 1 and {MAX_SPEED:g}, got {speed:g}")
    folder = Path(tempfile.mkdtemp(prefix="practice-circles-demo-")) if output is None else output
    folder.mkdir(parents=True, exist_ok=True)
    clock = DemoClock(speed)
    timeline = Timeline(clock, out)
    # The loopback Discord keeps the demo's time too, so message times and <t:…> stamps agree with the bot.
    world = World.default(now=clock)
    failure: str | None = None
    # The demo as far as it got, so a failed run still writes what members saw up to the failure.
    started: list[Demo] = []
    with tempfile.TemporaryDirectory(prefix="practice-circles-demo-data-") as scratch:
        data = Path(scratch)
        config = config_for_world(world, data, recordings_file=copy_shipped_recordings(data), sections=DEMO_CONFIG)
        timeline.say(f"the clock runs {speed:g}x: a minute of the demo passes in {60 / speed:g} s of real time")
        try:
            welcome, practice = await asyncio.to_thread(prepare_recordings, config, data)
            timeline.say(
                f"approved recordings ready: “{welcome.title}” ({welcome.duration_seconds:.1f} s, espeak-ng), "
                f"“{practice.title}” ({practice.duration_seconds:.1f} s), the bell"
            )
            async with Sandbox(world=world) as sandbox:
                await _run_steps(sandbox, config, clock, timeline, welcome, practice, folder, started)
            # Leaving voice and logging out happen after the last step; Discord's rules hold for them too.
            if sandbox.spec_violations or sandbox.unknown_routes:
                raise DemoFailed(f"requests Discord would refuse: {sandbox.spec_violations or sandbox.unknown_routes}")
        except (DemoFailed, PracticeCirclesError) as error:
            failure = str(error)
        except Exception as error:  # noqa: BLE001 - whatever stopped the demo is reported, not swallowed
            traceback.print_exc()
            failure = f"the demo stopped unexpectedly: {type(error).__name__}: {error}"
        if failure is not None:
            timeline.say(f"FAILED: {failure}")
        seconds = clock.elapsed()
        write_transcript(folder / "transcript.md", timeline, started[0] if started else None, speed, seconds, failure)
    return DemoResult(folder, seconds, failure)


async def _run_steps(
    sandbox: Sandbox,
    config: Config,
    clock: DemoClock,
    timeline: Timeline,
    welcome: Recording,
    practice: Recording,
    folder: Path,
    started: list[Demo],
) -> None:
    """Start the real bot against the started sandbox and run every step, narrating as it goes."""
    render = Renderer(sandbox.world)
    watcher = Watcher(sandbox, timeline, render)
    timeline.catch_up = watcher.report
    watching = asyncio.create_task(watcher.run(), name="demo-watcher")
    try:
        async with practice_bot(sandbox, config, clock=clock, clock_speed=clock.speed) as bot:
            timeline.say("the loopback Discord is up and the real bot is connected")
            demo = Demo(sandbox, bot, config, clock, timeline, render, welcome, practice, folder)
            started.append(demo)
            for title, step in STEPS:
                timeline.step(title)
                await step(demo)
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        watcher.report()
        timeline.catch_up = None


def write_transcript(
    path: Path, timeline: Timeline, demo: Demo | None, speed: float, seconds: float, failure: str | None
) -> None:
    """transcript.md: each step as it happened, the checks, what each member saw, every channel's messages."""
    lines = [
        "# Practice Circles demo — transcript",
        "",
        f"The real bot against the loopback Discord, on a clock running {speed:g}x (a minute of the demo "
        f"passes in {60 / speed:g} s; audio plays in real time). Each line: real time since the start, then the "
        "demo's US Pacific clock. Discord shows a timestamp in each reader's own time zone; here those are in UTC.",
        "",
        f"**Result: {'FAILED — ' + failure if failure else 'every step happened as expected'}** (in {seconds:.1f} s)",
        "",
    ]
    for number, (title, entries) in enumerate(timeline.steps):
        lines += [f"## {number}. {title}" if number else f"## {title}", "", "```text", *entries, "```", ""]
    lines += ["## Checks", "", *(f"- ✓ {check}" for check in timeline.checks), ""]
    if demo is not None:
        lines += _members_section(demo) + _channels_section(demo) + _audio_section(demo)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _quote(text: str) -> list[str]:
    return [f"> {line}" if line else ">" for line in text.splitlines()] + [""]


def _messages(demo: Demo, heading: str, messages: list[Message]) -> list[str]:
    lines = [f"**{heading}**", ""]
    for message in messages:
        lines += [f"{pacific_clock(snowflake_time(message.id))}:", "", *_quote(demo.render.message(message))]
    return lines


def _members_section(demo: Demo) -> list[str]:
    lines = ["## What each member saw", ""]
    for name in ("Laila", "Ana", *PARTICIPANTS):
        person = demo.person(name)
        lines += [f"### {name}", ""]
        dms = person.dms()
        lines += _messages(demo, "Direct messages from the bot", dms) if dms else ["_No direct messages._", ""]
        in_threads = demo.thread_posts_for(person, "")
        if in_threads:
            lines += _messages(demo, "For them in their private reminder threads", in_threads)
        replies = person.ephemeral_replies()
        if replies:
            lines += _messages(demo, "Private replies (only they saw these)", replies)
    return lines


def _channels_section(demo: Demo) -> list[str]:
    world = demo.sandbox.world
    lines = ["## Channel messages", ""]
    for channel in sorted(world.guild.channels.values(), key=lambda c: c.id):
        history = world.history(channel.id)
        if not history:
            continue
        lines += [f"### {demo.render.place(channel.id)}", ""]
        for message in history:
            author = demo.render.name(message.author_id)
            stamp = pacific_clock(snowflake_time(message.id))
            lines += [f"{stamp}, {author}:", "", *_quote(demo.render.message(message))]
    return lines


def _audio_section(demo: Demo) -> list[str]:
    lines = ["## Audio the Stage heard", ""]
    lines += [f"- `{path.name}` — {what}" for path, what in demo.audio_files]
    lines += ["- The teacher-led session: no audio from the bot, so no file.", ""]
    return lines
