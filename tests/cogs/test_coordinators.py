"""The coordinators' commands, run by simulated people against the real bot on the loopback Discord."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.adapters.bot import PracticeCirclesBot
from bot.config import Config
from bot.schedule.rules import discord_timestamp, format_pacific, parse_pacific_datetime
from loopback import Sandbox
from loopback.harness import config_for_world
from loopback.world import ChannelType
from tests.cogs.coordinator_support import ask, pacific_day, snapshot, weekly_series


@pytest.fixture
def practice_config(sandbox: Sandbox, tmp_path: Path) -> Config:
    """The default world plus a voice channel the coordinators have not set up for sessions."""
    world = sandbox.world
    stage, quiet = world.find_channel("Practice Circle"), world.find_channel("Quiet Sitting")
    world.add_channel("Coffee Corner", ChannelType.GUILD_VOICE, position=3)
    return config_for_world(world, tmp_path / "practice", sections={"channels": {"sessions": [stage.id, quiet.id]}})


async def test_series_create_shows_the_rule_the_next_sessions_and_a_daylight_saving_note(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    laila = sandbox.person("laila")
    stage = sandbox.world.find_channel("Practice Circle")
    reply = await ask(
        laila,
        "series create",
        {
            "title": "Early sit",
            "weekly": "SUN@02:30",
            "starts_on": pacific_day(1),
            "duration": 30,
            "channel": stage.id,
            "practice": "Affectionate Breathing",
        },
    )
    assert reply.ephemeral
    (series,) = await practice.core.db.list_series()
    assert (series.title, series.weekdays, f"{series.local_time:%H:%M}") == ("Early sit", ("SU",), "02:30")
    assert (series.channel_id, series.duration_minutes, series.default_practice) == (
        stage.id,
        30,
        "Affectionate Breathing",
    )
    sessions = await practice.core.sessions.upcoming_in_series(series.id)
    assert sessions, "the series' sessions are on the schedule at once"
    text = reply.content
    assert "Every Sunday at 02:30 Pacific time" in text
    assert f"{len(sessions)} session(s) are now on the schedule" in text
    first = sessions[0].start_utc
    assert f"{discord_timestamp(first, 'F')} — {format_pacific(first)}" in text
    # Every year has a spring-forward Sunday, when 02:30 does not exist in Pacific time.
    assert "does not exist on" in text and "read as 03:30 PDT" in text


async def test_series_pause_cancels_and_tells_signed_up_members_and_resume_brings_them_back(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    laila, sam, priya = sandbox.person("laila"), sandbox.person("sam"), sandbox.person("priya")
    series, sessions = await weekly_series(practice, laila)
    await practice.core.sessions.sign_up(sam.id, sessions[0].id)

    paused = await ask(laila, "series pause", {"series": series.id})
    assert paused.ephemeral and "Paused the series **Evening practice**" in paused.content
    assert f"{len(sessions)} upcoming session(s) were cancelled" in paused.content
    assert {o.status for o in await practice.core.sessions.upcoming_in_series(series.id)} == set()
    await practice.core.dispatcher.idle()  # notices go out in the background, after the reply
    assert [m.content.splitlines()[0] for m in sam.dms()] == [
        f"**Evening practice** on {discord_timestamp(sessions[0].start_utc)} is cancelled. We're sorry for the change."
    ]
    assert priya.dms() == [], "only members who signed up are told"

    resumed = await ask(laila, "series resume", {"series": series.id})
    assert "Resumed the series **Evening practice**" in resumed.content
    back = await practice.core.sessions.upcoming_in_series(series.id)
    assert [o.id for o in back] == [o.id for o in sessions]
    await practice.core.dispatcher.idle()
    assert len(sam.dms()) == 2 and "is back on the schedule" in sam.dms()[1].content
    assert priya.dms() == []
    actions = [row.action for row in await practice.core.db.list_audit(limit=None)]
    assert actions[:2] == ["series.resume", "series.paused"]


async def test_move_and_cancel_reach_each_signed_up_member_once_and_nobody_else(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    laila, sam, priya, jonas = (sandbox.person(name) for name in ("laila", "sam", "priya", "jonas"))
    _, sessions = await weekly_series(practice, laila)
    first, second = sessions[0], sessions[1]
    for person in (sam, priya):
        await practice.core.sessions.sign_up(person.id, first.id)
    await practice.core.sessions.sign_up(jonas.id, second.id)

    new_start = f"{pacific_day(3)} 07:15"
    moved = await ask(laila, "session move", {"session": first.id, "start": new_start})
    instant = parse_pacific_datetime(new_start)
    assert moved.ephemeral and f"to {discord_timestamp(instant)}" in moved.content
    assert "2 member(s) who signed up are being told" in moved.content
    after = await practice.core.sessions.session(first.id)
    assert after.start_utc == instant and after.change_version == first.change_version + 1

    cancelled = await ask(laila, "session cancel", {"session": first.id, "reason": "Our teacher is unwell"})
    assert cancelled.ephemeral and "Cancelled **Evening practice**" in cancelled.content
    assert (await practice.core.sessions.session(first.id)).status == "cancelled"

    await practice.core.dispatcher.idle()  # notices go out in the background, after the reply
    for person in (sam, priya):
        texts = [m.content for m in person.dms()]
        assert len(texts) == 2, f"{person.name} hears about each change exactly once"
        assert "has moved" in texts[0] and discord_timestamp(instant) in texts[0]
        assert "is cancelled" in texts[1] and "Reason: Our teacher is unwell" in texts[1]
    assert jonas.dms() == [], "members of another session are not told"
    assert sandbox.person("ana").dms() == sandbox.person("kofi").dms() == []


@pytest.mark.parametrize(
    ("command", "options", "expected"),
    [
        ("series create", {"starts_on": "2027-02-30"}, "February 2027 has 28 days"),
        ("series create", {"weekly": "MON@25:00"}, "hours are 00-23"),
        ("series create", {"weekly": "MOO,WED@18:30"}, "'MOO' is not a weekday"),
        ("series create", {"channel": "Coffee Corner"}, "only take place in the session channels"),
        ("series create", {"title": "x" * 101}, "please keep it to 100"),
        ("series create", {"title": "Evening\u0007 practice"}, "invisible control character (U+0007)"),
        ("session add", {"start": "2020-01-06 18:30"}, "is already in the past"),
        ("session add", {"start": "2027-02-30 18:30"}, "February 2027 has 28 days"),
        ("session add", {"start": "2027-03-01 25:00"}, "hours are 00-23"),
        ("session add", {"channel": "Coffee Corner"}, "only take place in the session channels"),
        ("session add", {"title": "Tea\u202e time"}, "invisible control character (U+202E)"),
    ],
)
async def test_bad_input_gets_a_kind_private_explanation_and_changes_nothing(
    sandbox: Sandbox, practice: PracticeCirclesBot, command: str, options: dict[str, object], expected: str
) -> None:
    laila = sandbox.person("laila")
    stage = sandbox.world.find_channel("Practice Circle")
    defaults: dict[str, dict[str, object]] = {
        "series create": {
            "title": "Evening practice",
            "weekly": "MON,WED@18:30",
            "starts_on": pacific_day(1),
            "duration": 45,
            "channel": stage.id,
        },
        "session add": {"start": f"{pacific_day(2)} 18:30", "duration": 45, "title": "Extra sit"},
    }
    await weekly_series(practice, laila, title="Existing series")
    before = await snapshot(practice.core.db)
    reply = await ask(laila, command, {**defaults[command], **options})
    assert reply.ephemeral
    assert expected in reply.content
    assert "Something went wrong" not in reply.content
    assert await snapshot(practice.core.db) == before


async def test_series_end_asks_first_keep_changes_nothing_and_yes_ends_it(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    laila, sam = sandbox.person("laila"), sandbox.person("sam")
    series, sessions = await weekly_series(practice, laila)
    await practice.core.sessions.sign_up(sam.id, sessions[0].id)

    question = await ask(laila, "series end", {"series": series.id})
    assert question.ephemeral and f"its {len(sessions)} upcoming session(s) will be cancelled" in question.content
    assert question.message is not None
    before = await snapshot(practice.core.db)
    kept = await (await laila.press_button(question.message, f"pc:series-keep:{series.id}")).response()
    assert "Nothing was changed" in kept.content and kept.components == []
    assert await snapshot(practice.core.db) == before

    question = await ask(laila, "series end", {"series": series.id})
    assert question.message is not None
    ended = await (await laila.press_button(question.message, f"pc:series-end:{series.id}")).response()
    assert "Ended the series **Evening practice**" in ended.content and ended.components == []
    assert (await practice.core.sessions.series(series.id)).status == "ended"
    assert await practice.core.sessions.upcoming_in_series(series.id) == []
    await practice.core.dispatcher.idle()  # notices go out in the background, after the reply
    assert len(sam.dms()) == 1 and "is cancelled" in sam.dms()[0].content

    again = await ask(laila, "series end", {"series": series.id})
    assert again.ephemeral and again.content == "The series “Evening practice” has ended." and again.components == []


async def test_series_edit_list_and_autocomplete_by_title(sandbox: Sandbox, practice: PracticeCirclesBot) -> None:
    laila = sandbox.person("laila")
    quiet = sandbox.world.find_channel("Quiet Sitting")
    series, _ = await weekly_series(practice, laila)
    await weekly_series(practice, laila, title="Morning kindness", weekly="TUE@07:00")

    choices = await laila.autocomplete("series", "series", "even", subcommand="edit")
    assert [c["value"] for c in choices] == [series.id]
    assert choices[0]["name"].startswith(f"#{series.id} · Evening practice")

    edited = await ask(
        laila,
        "series edit",
        {"series": series.id, "title": "Evening circle", "weekly": "TUE@19:00", "channel": quiet.id},
    )
    assert "Updated the series **Evening circle**" in edited.content and "Every Tuesday at 19:00" in edited.content
    sessions = await practice.core.sessions.upcoming_in_series(series.id)
    assert sessions and {(o.title, o.channel_id) for o in sessions} == {("Evening circle", quiet.id)}

    listing = await ask(laila, "series list")
    assert listing.ephemeral
    assert "Evening circle" in listing.text and "Morning kindness" in listing.text

    nothing = await ask(laila, "series edit", {"series": series.id})
    assert "Nothing to change" in nothing.content


async def test_session_add_channel_assign_and_unassign(sandbox: Sandbox, practice: PracticeCirclesBot) -> None:
    laila, ana, sam = sandbox.person("laila"), sandbox.person("ana"), sandbox.person("sam")
    quiet = sandbox.world.find_channel("Quiet Sitting")
    start = f"{pacific_day(4)} 12:00"
    added = await ask(laila, "session add", {"start": start, "duration": 30, "title": "Lunchtime pause"})
    assert "Added **Lunchtime pause**" in added.content
    occurrence = (await practice.core.sessions.upcoming(7))[0].occurrence
    assert occurrence.start_utc == parse_pacific_datetime(start)
    await practice.core.sessions.sign_up(sam.id, occurrence.id)

    choices = await laila.autocomplete("session", "session", "lunch", subcommand="assign")
    assert choices == [
        {"name": f"#{occurrence.id} · Lunchtime pause · {format_pacific(occurrence.start_utc)}", "value": occurrence.id}
    ]

    moved = await ask(laila, "session channel", {"session": occurrence.id, "channel": quiet.id})
    assert f"now takes place in <#{quiet.id}>" in moved.content
    not_teacher = await ask(laila, "session assign", {"session": occurrence.id, "teacher": sam})
    assert "doesn't hold the teacher role" in not_teacher.content
    assigned = await ask(laila, "session assign", {"session": occurrence.id, "teacher": ana})
    assert f"<@{ana.id}> now leads **Lunchtime pause**" in assigned.content
    claim = await practice.core.db.get_teacher_claim(occurrence.id)
    assert claim is not None and claim.teacher_id == ana.id
    again = await ask(laila, "session assign", {"session": occurrence.id, "teacher": ana})
    assert "already leads" in again.content

    released = await ask(laila, "session unassign", {"session": occurrence.id, "reason": "Ana is travelling"})
    assert f"it was held by <@{ana.id}>" in released.content
    assert await practice.core.db.get_teacher_claim(occurrence.id) is None
    await practice.core.dispatcher.idle()  # notices go out in the background, after the reply
    texts = [m.content for m in sam.dms()]
    assert len(texts) == 2 and "will now take place in" in texts[0] and "no confirmed teacher" in texts[1]


async def test_recordings_list_verify_and_reload(sandbox: Sandbox, practice: PracticeCirclesBot) -> None:
    laila = sandbox.person("laila")
    listing = await ask(laila, "recordings list")
    assert listing.ephemeral and "Singing bowl bell" in listing.text and "Refused" not in listing.text

    verified = await ask(laila, "recordings verify")
    # The shipped bell and the welcome reading prepared at start-up.
    assert "2 OK, 0 refused" in verified.content and "All good" in verified.content

    bell = practice.core.config.recordings.file.parent / "audio" / "bell.ogg"
    bell.write_bytes(bell.read_bytes() + b"tampered")
    verified = await ask(laila, "recordings verify")
    assert "1 OK, 1 refused" in verified.content and "has changed since it was approved" in verified.content
    assert "/recordings reload" in verified.content
    assert practice.core.recordings.ids() == ["bell", "welcome-reading-en"], "verifying changes nothing"

    reloaded = await ask(laila, "recordings reload")
    assert "1 approved, 1 refused" in reloaded.content
    assert practice.core.recordings.ids() == ["welcome-reading-en"]
    listing = await ask(laila, "recordings list")
    assert "Refused" in listing.text and "has changed since it was approved" in listing.text
    (row,) = await practice.core.db.list_audit(action="recordings.reload")
    assert row.actor_id == laila.id and row.details == {"approved": 1, "refused": 1}

    practice.core.config.recordings.file.write_text("recordings: [", encoding="utf-8")
    broken = await ask(laila, "recordings reload")
    assert "not valid YAML" in broken.content and "Nothing was changed" in broken.content
    assert len(await practice.core.db.list_audit(action="recordings.reload")) == 1


def _ago(days: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
