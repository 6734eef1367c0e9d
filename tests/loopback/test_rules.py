"""Discord's timed rules in the loopback Discord: Stages without a speaker end, unstarted events are cancelled."""

from __future__ import annotations

import datetime as dt

from loopback import Sandbox
from loopback.world import EntityType, EventStatus, Overwrite, Permission, ScheduledEvent, StageInstance


def _stage(sandbox: Sandbox) -> StageInstance:
    world = sandbox.world
    channel = world.find_channel("Practice Circle")
    instance = StageInstance(id=world.snowflakes.next(), channel_id=channel.id, topic="Evening")
    world.guild.stage_instances[channel.id] = instance
    return instance


async def test_a_stage_with_no_speaker_ends_after_the_configured_time_and_one_with_a_speaker_lives(
    sandbox: Sandbox,
) -> None:
    world = sandbox.world
    world.rules.stage_without_speaker = dt.timedelta(seconds=0.6)
    assert dt.timedelta(minutes=1) < type(world.rules)().stage_without_speaker, "Discord's default is minutes"
    instance = _stage(sandbox)
    ana = sandbox.person("ana")
    await ana.join_voice("Practice Circle")
    state = ana.voice_state
    assert state is not None and state.suppress, "an audience member is no speaker"
    await sandbox.wait_until(lambda: instance.channel_id not in world.guild.stage_instances, what="the Stage to end")
    assert sandbox.rule_state.ended_stages == [instance]

    again = _stage(sandbox)
    state.suppress = False  # now a speaker
    began, sweeps = world.now(), sandbox.rule_state.sweeps
    await sandbox.wait_until(
        lambda: world.now() - began > dt.timedelta(seconds=1.5) and sandbox.rule_state.sweeps > sweeps + 3,
        what="more than twice the time to pass",
    )
    assert world.guild.stage_instances.get(again.channel_id) is again


async def test_an_event_never_started_is_cancelled_and_a_started_one_is_not(sandbox: Sandbox) -> None:
    world = sandbox.world
    world.rules.unstarted_event_cancelled = dt.timedelta(seconds=0.5)
    assert type(world.rules)().unstarted_event_cancelled >= dt.timedelta(hours=1), "Discord's: a few hours"
    channel = world.find_channel("Quiet Sitting")

    def event(status: EventStatus) -> ScheduledEvent:
        made = ScheduledEvent(
            id=world.snowflakes.next(),
            name="Evening",
            scheduled_start_time=world.now() - dt.timedelta(seconds=1),
            scheduled_end_time=world.now() + dt.timedelta(hours=1),
            entity_type=EntityType.VOICE,
            creator_id=world.bot_user.id,
            channel_id=channel.id,
            status=status,
        )
        world.guild.scheduled_events[made.id] = made
        return made

    never, started = event(EventStatus.SCHEDULED), event(EventStatus.ACTIVE)
    await sandbox.person("sam").join_voice("Quiet Sitting")  # someone is there: the active one goes on
    await sandbox.wait_until(lambda: never.status == EventStatus.CANCELED, what="the unstarted event cancelled")
    assert started.status == EventStatus.ACTIVE


async def test_losing_the_video_permission_stops_cameras_and_screen_shares(sandbox: Sandbox) -> None:
    world = sandbox.world
    channel = world.find_channel("Quiet Sitting")
    sam = sandbox.person("sam")
    await sam.join_voice(channel)
    assert await sam.start_video() and await sam.start_video(screen=True)
    channel.overwrites[world.guild.id] = Overwrite(world.guild.id, 0, deny=Permission.STREAM)
    sandbox.enforce_voice_permissions(channel)
    state = sam.voice_state
    assert state is not None and not state.self_video and not state.self_stream
    assert not await sam.start_video()
