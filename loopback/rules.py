"""Discord's own timed rules, which no request triggers: the loopback Discord keeps them as Discord does.

From Discord's documentation (Stage Instance: "Auto Closing"; Guild Scheduled Event: "Status
Update Automation"):

- A Stage channel with no speakers for a certain period of time (on the order of minutes) has its
  Stage instance deleted automatically.
- An active stage or voice event whose channel has had nobody connected for a few minutes is
  completed.
- A scheduled event that has not begun a while after its scheduled start time (a few hours) is
  cancelled.
- Members who marked an event Interested are notified when it starts (scheduled -> active).

Discord gives no exact figures ("on the order of minutes", "a few hours"); the defaults below are
the middle of those ranges. A world may set them shorter so tests run fast. Times are read from
`World.now`, so a demo's fast clock speeds them up as well; the sweep itself runs every
`sweep_seconds` of real time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from loopback.world import (
    ChannelType,
    DiscordRules,
    EntityType,
    EventStatus,
    Notification,
    ScheduledEvent,
    StageInstance,
)

__all__ = ["DiscordRules", "Notification", "RuleState", "event_started", "sweep"]

if TYPE_CHECKING:
    from loopback.events import Events
    from loopback.world import World


@dataclass
class RuleState:
    """Since when each Stage has had no speaker and each active event's channel nobody in it."""

    stage_silent_since: dict[int, datetime] = field(default_factory=dict)
    event_empty_since: dict[int, datetime] = field(default_factory=dict)
    ended_stages: list[StageInstance] = field(default_factory=list)
    sweeps: int = 0


def event_started(world: World, event: ScheduledEvent) -> None:
    """Scheduled -> active: everyone Interested gets Discord's "starting now" notification."""
    now = world.now()
    for user_id in event.interested:
        world.notifications.append(Notification(user_id, "event_starting", event.id, now))


def sweep(world: World, events: Events, state: RuleState) -> bool:
    """Apply every rule whose time has come; True if anything changed."""
    rules, now, guild = world.rules, world.now(), world.guild
    changed = False
    for channel_id, instance in list(guild.stage_instances.items()):
        speakers = [s for s in guild.voice_states.values() if s.channel_id == channel_id and not s.suppress]
        if speakers:
            state.stage_silent_since.pop(channel_id, None)
            continue
        since = state.stage_silent_since.setdefault(channel_id, now)
        if now - since >= rules.stage_without_speaker:
            del guild.stage_instances[channel_id]
            state.stage_silent_since.pop(channel_id, None)
            state.ended_stages.append(instance)
            events.stage_instance("DELETE", instance)
            changed = True
    for event in list(guild.scheduled_events.values()):
        if event.status == EventStatus.SCHEDULED:
            if now - event.scheduled_start_time >= rules.unstarted_event_cancelled:
                event.status = EventStatus.CANCELED
                events.scheduled_event("UPDATE", event)
                changed = True
        elif event.status == EventStatus.ACTIVE and event.entity_type != EntityType.EXTERNAL:
            channel = guild.channels.get(event.channel_id or 0)
            occupied = channel is not None and any(s.channel_id == channel.id for s in guild.voice_states.values())
            if (
                occupied
                or channel is None
                or channel.type not in (ChannelType.GUILD_VOICE, ChannelType.GUILD_STAGE_VOICE)
            ):
                state.event_empty_since.pop(event.id, None)
                continue
            since = state.event_empty_since.setdefault(event.id, now)
            if now - since >= rules.empty_event_completes:
                event.status = EventStatus.COMPLETED
                state.event_empty_since.pop(event.id, None)
                events.scheduled_event("UPDATE", event)
                changed = True
    return changed
