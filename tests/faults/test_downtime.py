"""Down for hours: the bot stops for six simulated hours mid-session and with reminders due, then comes back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bot import texts
from bot.storage import Database
from loopback import Sandbox
from loopback.harness import config_for_world, practice_bot
from tests.faults.support import crowd_world, query, recordings_with_short_tones

DOWNTIME = dt.timedelta(hours=6)
MEMBERS = 6
DM_OPEN = "/users/@me/channels"


@dataclass
class ShiftedClock:
    """The wall clock moved forward by `shift`: what the restarted bot believes the time is."""

    shift: dt.timedelta = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        """Now, shifted."""
        return dt.datetime.now(dt.UTC) + self.shift


def late_reminder(content: str) -> bool:
    """Whether a DM is a reminder that says it is late."""
    return content.startswith(texts.REMINDER_LATE.split("**")[0])


def ledger_rows(database: Path, occurrence_id: int) -> list[tuple[str, bool, int]]:
    """(status, late, attempts) of every ledger row of a session, read while the bot may be running."""
    rows = query(database, "SELECT status, late, attempts FROM deliveries WHERE occurrence_id = ?", (occurrence_id,))
    return [(status, bool(late), attempts) for status, late, attempts in rows]


async def test_six_hours_down_late_reminders_once_begun_ones_dropped_session_resumed_and_restored(
    tmp_path: Path,
) -> None:
    world, members = crowd_world(MEMBERS)
    data = tmp_path / "practice"
    config = config_for_world(
        world,
        data,
        recordings_file=recordings_with_short_tones(data, tmp_path),
        sections={
            "reminders": {"allowed_offsets_minutes": [60], "default_offsets_minutes": [60]},
            "sessions": {"grace_minutes": 0, "open_minutes_before": 0, "lock_chat": True},
        },
    )
    quiet = world.find_channel("Quiet Sitting")
    stage = config.channels.default_session
    t0 = dt.datetime.now(dt.UTC)
    async with Database.open(config.storage.database) as db:
        # In progress when the bot stops, and still when it comes back: six hours and a minute long.
        sitting = await db.add_one_off(
            start=t0 + dt.timedelta(seconds=3), duration_minutes=361, channel_id=quiet.id, title="Day of quiet"
        )
        # Its reminder falls due while the bot is down; it starts after the bot is back: sent late, once.
        later = await db.add_one_off(
            start=t0 + dt.timedelta(hours=6, minutes=30), duration_minutes=45, channel_id=stage, title="Later circle"
        )
        # Its reminder falls due while the bot is down, and it has begun by the time the bot is back: not sent.
        missed = await db.add_one_off(
            start=t0 + dt.timedelta(hours=3), duration_minutes=45, channel_id=stage, title="Missed circle"
        )
        # Its reminder is due as the bot starts, but Discord fails every DM (503), so the rows wait for a
        # retry when the bot stops; the session begins while it is down: dropped, not sent.
        failing = await db.add_one_off(
            start=t0 + dt.timedelta(minutes=60, seconds=2), duration_minutes=45, channel_id=stage, title="Failed circle"
        )
        async with db.transaction():
            for session in (later, missed, failing):
                for member in members:
                    await db.sign_up(session.id, member.id, "button")

    clock = ShiftedClock()
    database = config.storage.database
    async with Sandbox(world) as sandbox:
        sam, priya = sandbox.person("sam"), sandbox.person("priya")
        await sam.join_voice(quiet)
        await priya.join_voice(quiet)
        overwrites_before = dict(quiet.overwrites)
        sandbox.faults.inject(503, MEMBERS, route=DM_OPEN)

        async with practice_bot(sandbox, config, clock=clock) as bot:
            core = bot.core
            # The session opens and begins with nobody to teach: the welcome, then the choice; everyone muted.
            await sandbox.wait_until(
                lambda: (
                    any(m.content == texts.CHOICE_PROMPT for m in sandbox.channel_messages(quiet))
                    and ledger_rows(database, failing.id) == [("pending", False, 1)] * MEMBERS
                ),
                timeout=20,
                what="the choice to be offered and every DM to the failing session to be refused",
            )
            run = await core.db.get_run(sitting.id)
            assert run is not None and run.phase == "choosing"
            assert sorted(run.restrictions["muted"]) == sorted([sam.id, priya.id])
            assert sam.voice_state is not None and sam.voice_state.mute
            assert priya.voice_state is not None and priya.voice_state.mute
            assert dict(quiet.overwrites) != overwrites_before, "the chat is locked while the bot leads"
        # The bot is stopped; the DMs it could not send and the restrictions it set are in the database.
        assert sam.voice_state is not None and sam.voice_state.mute and dict(quiet.overwrites) != overwrites_before
        assert all(not person.dms() for person in map(sandbox.person, [m.id for m in members]))

        # Six hours later (the sitting has 8 seconds left), the bot comes back.
        clock.shift = sitting.end_utc - dt.timedelta(seconds=8) - dt.datetime.now(dt.UTC)
        assert DOWNTIME <= clock.shift < DOWNTIME + dt.timedelta(minutes=1)
        async with practice_bot(sandbox, config, clock=clock) as bot:
            core = bot.core
            people = [sandbox.person(m.id) for m in members]
            await sandbox.wait_until(
                lambda: (
                    all(p.dms() for p in people)
                    and any(m.content.startswith("This session has closed") for m in sandbox.channel_messages(quiet))
                ),
                timeout=30,
                what="the late reminders and the sitting to close",
            )
            run = await core.db.get_run(sitting.id)
            closed = await core.db.get_occurrence(sitting.id)

        # Reminders: the one still ahead was sent once, flagged late, and says so.
        for person in people:
            assert len(person.dms()) == 1, f"{person.name} got {len(person.dms())} messages"
            assert late_reminder(person.dms()[0].content) and "Later circle" in person.dms()[0].content
        assert ledger_rows(database, later.id) == [("sent", True, 1)] * MEMBERS
        # The one whose session began while the bot was down was never written, let alone sent.
        assert ledger_rows(database, missed.id) == []
        # The rows that were waiting for a retry were dropped, since their session had begun.
        assert ledger_rows(database, failing.id) == [("dropped", False, 1)] * MEMBERS

        # The session in progress was resumed where it was (the choice ran out: a silent sit began),
        # then closed at its end time with every restriction undone.
        after_restart = [m.content for m in sandbox.channel_messages(quiet)]
        assert texts.CHOICE_DEFAULT.format(minutes=config.sessions.default_silent_sit_minutes) in after_restart
        assert run is not None and run.phase == "closed" and run.restrictions == {}
        assert closed is not None and closed.status == "closed"
        assert dict(quiet.overwrites) == overwrites_before
        assert not sam.voice_state.mute and not priya.voice_state.mute
        assert sandbox.spec_violations == [] and sandbox.unknown_routes == []
