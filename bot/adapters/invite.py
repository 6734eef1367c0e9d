"""What the bot needs from its Discord server, in one place: which permissions, where, and why.

`NEEDS` lists, for each place the bot works (the announcements, teachers', coordinators' and session
channels, and the server as a whole), each permission the code there uses and what it does with it.
The invite link asks for exactly their union (`REQUIRED`, with one reason per permission, which
`python -m bot invite-url --explain` and docs/operations.md show); `check --live` and the start-up
check compare each place against the bot's effective permissions there. Nothing more: no
Administrator, no Manage Server, no Mention Everyone.

`ROLE_COMMANDS` says which commands each staff role must be able to see and use, and in which
channel it works. Role order does not matter for anything the bot does: Discord's hierarchy covers
granting and editing roles, kicking, banning and nicknames, none of which it does; muting, moving,
Stage speakers and channel overwrites follow permissions only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import discord


class Place(StrEnum):
    """Where a permission is needed."""

    SERVER = "server"  # the bot's roles, server-wide: replies in any channel members use commands in
    ANNOUNCEMENTS = "announcements"
    TEACHERS = "teachers"
    COORDINATORS = "coordinators"
    SESSIONS = "sessions"  # every session channel, voice or Stage
    STAGES = "stages"  # session channels that are Stages, on top of SESSIONS


@dataclass(frozen=True)
class Need:
    """One permission the bot's code uses in one place, and what for."""

    permission: str  # a discord.Permissions flag name
    place: Place
    does: str
    only_with_chat_lock: bool = False  # needed only while [sessions] lock_chat is true


# Derived from what the code does: bot/adapters/delivery.py (threads, DMs, staff posts),
# room.py (card, chat lock, mutes, Stage), player.py (voice), events.py (scheduled events), and the
# cogs' replies (embeds, .ics/.png/.csv files) - which follow the bot's permissions where they are sent.
NEEDS: Final[tuple[Need, ...]] = (
    Need("view_channel", Place.ANNOUNCEMENTS, "keep the schedule board and members' private reminder threads"),
    Need("send_messages", Place.ANNOUNCEMENTS, "post the schedule board and keep it current"),
    Need("embed_links", Place.ANNOUNCEMENTS, "show the schedule board"),
    Need(
        "create_private_threads",
        Place.ANNOUNCEMENTS,
        "give a member whose DMs are closed a private reminder thread only they are added to",
    ),
    Need("send_messages_in_threads", Place.ANNOUNCEMENTS, "post reminders in those private threads"),
    Need(
        "read_message_history",
        Place.ANNOUNCEMENTS,
        "find its own messages in a member's private thread, to delete them when the member asks to be forgotten",
    ),
    Need("view_channel", Place.TEACHERS, "post alerts about sessions that still need a teacher"),
    Need("send_messages", Place.TEACHERS, "post alerts about sessions that need a teacher, with a Claim button"),
    Need("view_channel", Place.COORDINATORS, "post alerts and reports for the coordinators"),
    Need("send_messages", Place.COORDINATORS, "post alerts when a session still has no teacher"),
    Need("attach_files", Place.COORDINATORS, "share the popularity chart and spreadsheets there"),
    Need("view_channel", Place.SESSIONS, "hold sessions there"),
    Need("connect", Place.SESSIONS, "join when no teacher is present"),
    Need("speak", Place.SESSIONS, "play the welcome reading, approved recordings and the bell"),
    Need("send_messages", Place.SESSIONS, "post the session card, the welcome words and the thank-you"),
    Need("embed_links", Place.SESSIONS, "show the session card"),
    Need("mute_members", Place.SESSIONS, "keep participants quiet while it leads, and unmute them after"),
    Need("create_events", Place.SESSIONS, "list its sessions as scheduled events"),
    # The chat lock (if configured) and, in voice channels, the hold on cameras and screen sharing.
    Need(
        "manage_roles", Place.SESSIONS, "pause the chat for non-teachers (and cameras in voice channels) while it leads"
    ),
    Need(
        "stream",
        Place.SESSIONS,
        "hold cameras and screen sharing off while it leads (Discord lets it change only what it holds)",
    ),
    Need("manage_channels", Place.STAGES, "open and close the Stage as its moderator"),
    Need("move_members", Place.STAGES, "be the Stage moderator Discord requires to open the Stage"),
    Need("embed_links", Place.SERVER, "answer /schedule, /guidelines and /mysessions wherever members ask"),
    Need("attach_files", Place.SERVER, "send /calendar's .ics file wherever members ask"),
)

# Why each permission is in the invite (all its uses together), in the order the invite lists them.
_WHY: Final[dict[str, str]] = {
    "view_channel": "see the schedule, staff and session channels it posts in",
    "send_messages": "post the schedule board, notices, the session card, the welcome words and the thank-you",
    "send_messages_in_threads": "post reminders in a member's private reminder thread when their DMs are closed",
    "create_private_threads": (
        "give a member whose DMs are closed a private reminder thread only they are added to (never a public mention)"
    ),
    "read_message_history": "find its own messages in a member's private thread, to delete them on /forget-me",
    "embed_links": "show schedules, guidelines and cards as embeds",
    "attach_files": "attach calendar (.ics), chart (PNG) and export (CSV) files",
    "connect": "join a session's voice or Stage channel when no teacher is present",
    "speak": "play the welcome reading, approved recordings and the bell",
    "mute_members": "keep participants silent while the bot leads (server mute, Stage audience) and unmute them",
    "move_members": "be a Stage moderator, which Discord requires to open a Stage instance",
    "manage_channels": "open and close the Stage instance of a session (Stage moderators need it)",
    "manage_roles": "make a session's chat read-only for non-teachers while the bot leads, then restore it",
    "stream": (
        "hold cameras and screen sharing off in a voice channel while the bot leads, then restore them"
        " (Discord lets it change only permissions it holds)"
    ),
    "create_events": "mirror upcoming sessions as scheduled events and update or cancel its own events",
}

# (discord.Permissions flag name, why the bot needs it): exactly the permissions NEEDS uses.
REQUIRED: Final[tuple[tuple[str, str], ...]] = tuple(
    (name, why) for name, why in _WHY.items() if any(need.permission == name for need in NEEDS)
)


@dataclass(frozen=True)
class RoleCommands:
    """The commands a staff role must see and use, and the channel that role works in."""

    role: str  # the key in [roles]
    channel: str  # the key in [channels]
    commands: tuple[str, ...]


ROLE_COMMANDS: Final[tuple[RoleCommands, ...]] = (
    RoleCommands("coordinator", "coordinators", ("series", "session", "recordings", "report")),
    RoleCommands("teacher", "teachers", ("teach", "room")),
)


def required_permissions() -> discord.Permissions:
    """Exactly the permissions listed in REQUIRED."""
    return discord.Permissions(**{name: True for name, _ in REQUIRED})


def invite_url(client_id: int) -> str:
    """The OAuth2 link that adds the bot with exactly the required permissions and slash commands."""
    return discord.utils.oauth_url(
        client_id, permissions=required_permissions(), scopes=("bot", "applications.commands")
    )
