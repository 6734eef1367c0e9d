"""The Discord permissions the bot asks for when invited, each with the reason it is needed.

Nothing more: no Administrator, no Manage Server, no Mention Everyone. `python -m bot invite-url`
builds the invite link from exactly these bits, and docs/operations.md lists the same reasons.
"""

from __future__ import annotations

from typing import Final

import discord

# (discord.Permissions flag name, why the bot needs it)
REQUIRED: Final[tuple[tuple[str, str], ...]] = (
    ("view_channel", "see the schedule, staff and session channels it posts in"),
    ("send_messages", "post the schedule, notices, the session card, the welcome words and the thank-you"),
    ("send_messages_in_threads", "post reminders in a session's reminder thread for members without DMs"),
    ("create_public_threads", "create one reminder thread per session in the announcements channel"),
    ("embed_links", "show schedules, guidelines and cards as embeds"),
    ("attach_files", "attach calendar (.ics), chart (PNG) and export (CSV) files"),
    ("connect", "join a session's voice or Stage channel when no teacher is present"),
    ("speak", "play the welcome reading, approved recordings and the bell"),
    ("mute_members", "keep participants silent while the bot leads (server mute, Stage audience) and unmute them"),
    ("move_members", "be a Stage moderator, which Discord requires to open a Stage instance"),
    ("manage_channels", "open and close the Stage instance of a session (Stage moderators need it)"),
    ("manage_roles", "make a session's chat read-only for non-teachers while the bot leads, then restore it"),
    ("create_events", "mirror upcoming sessions as scheduled events and update or cancel its own events"),
)


def required_permissions() -> discord.Permissions:
    """Exactly the permissions listed in REQUIRED."""
    return discord.Permissions(**{name: True for name, _ in REQUIRED})


def invite_url(client_id: int) -> str:
    """The OAuth2 link that adds the bot with exactly the required permissions and slash commands."""
    return discord.utils.oauth_url(
        client_id, permissions=required_permissions(), scopes=("bot", "applications.commands")
    )
