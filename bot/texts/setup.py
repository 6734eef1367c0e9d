"""Text for whoever sets the bot up: `check` findings, backups and restores, the start-up report.

The people reading these are volunteers, not programmers. Every finding is one line: what is wrong
in plain words, then the click path (or command) that fixes it. Discord's own names are used for
its buttons and permissions, as its client shows them in English.
"""

from __future__ import annotations

# --- config.example.toml values left in place ---------------------------------------------------
PLACEHOLDER_ID = "{key}: still the example id {value} from config.example.toml; put your own {what}'s id here ({how})"
PLACEHOLDER_LINK = (
    "{key}: still the example link {value!r} from config.example.toml; put your community's own link here"
)
# What each id names, and how to copy it (Developer Mode on: User Settings > Advanced).
PLACEHOLDER_WHAT = {
    "guild": ("server", "in Discord right-click the server icon > Copy Server ID"),
    "channels": ("channel", "in Discord right-click the channel > Copy Channel ID"),
    "roles": ("role", "Server Settings > Roles, right-click the role > Copy Role ID"),
}
PLACEHOLDERS_FOUND = "{count} value(s) still hold the examples from config.example.toml:"

# --- backups and restores -----------------------------------------------------------------------
BACKUP_DONE = "Backed up {database} to {target} (SQLite's integrity check: ok; readable by this user only)"
BACKUP_NO_DATABASE = "there is no database at {database} yet: the bot makes it when it first starts (or run check)"
BACKUP_DAMAGED = (
    "the copy {target} failed SQLite's integrity check ({problems}), so it was deleted and no older backup "
    "was removed. The database itself may be damaged: run `python -m bot check` and see docs/operations.md, "
    "'Backing up and restoring'"
)
BACKUP_ROTATED = "Keeping the newest {keep} backups in {folder}: removed {removed} older one(s)."
BACKUP_REMOVED = "  removed {name}"
RESTORE_NONE = "There are no backups in {folder} yet. `python -m bot backup --config config.toml` makes one."
RESTORE_LIST = "{count} backup(s) in {folder}, newest first (times are UTC):"
RESTORE_LINE = "  {name}  ({kib} KiB)"
RESTORE_HOW = "To put one back, stop the bot, then run:\n  python -m bot restore --config {config} --from {example}"
RESTORED = (
    "Restored {source} as {database} (schema {schema}; SQLite's integrity check: ok). "
    "Start the bot again; it applies any newer migrations and rebuilds its timers."
)
RESTORE_ASIDE = "The database as it was before is kept at {aside} (delete it when you no longer need it)."

# --- check --live and the start-up check: the Discord server itself ----------------------------
# Placeholders: {channel} and {role} are filled with "#name" / "name" for the command line and the
# logs, and with <#id> / <@&id> for the report in Discord (which shows them as links, pinging nobody).
# {bot} is the bot's own role as Server Settings > Roles lists it.
LIVE_HEADING = "{guild}: {count} thing(s) keep the bot from its work:"
LIVE_ALL_GOOD = "{guild}: every channel, role and permission the bot needs is in place"
LIVE_NOT_CHECKED = "not checked: {reason}"
LIVE_CANNOT_LOG_IN = (
    "--live logs in to Discord as the bot, so it needs the token: set DISCORD_TOKEN, or DISCORD_TOKEN_FILE "
    "to the path of a file holding it"
)
LIVE_NEEDS_CONFIG = "the config must be usable first (fix the items above)"
LIVE_NEEDS_REAL_IDS = "replace the example values in the config first"
LIVE_NEEDS_LOGIN = "the token and the Discord addresses must be usable first (see above)"
LIVE_UNREACHABLE = "could not reach Discord ({problem}); check the machine's internet connection and try again"

LOGIN_REFUSED = (
    "{variable}: Discord refused this token (it was reset, or not copied whole). Fix: Developer Portal > "
    "Applications > your app > Bot > Reset Token, then set the new token again"
)
MEMBERS_INTENT_OFF = (
    "The Server Members Intent is off, so the bot cannot start. Fix: Developer Portal > Applications > {app} "
    "> Bot > Privileged Gateway Intents > Server Members Intent: on, then Save Changes"
)
GUILD_MISSING = (
    "guild.id ({id}): the bot is not in a server with this id. Fix: invite it with the link from "
    "`python -m bot invite-url --client-id {app_id}`, or put the right id here (right-click the server icon "
    "> Copy Server ID)"
)
CHANNEL_MISSING = (
    "channels.{key} ({id}): there is no channel with this id in {guild}. Fix: right-click the right channel "
    "> Copy Channel ID, and put it in config.toml"
)
CHANNEL_WRONG_KIND = (
    "channels.{key} ({id}): {channel} is {kind}, but {wanted}. Fix: choose {choose} and put its id in config.toml"
)
CHANNEL_KINDS = {
    "text": "a text channel",
    "news": "an announcement channel",
    "voice": "a voice channel",
    "stage_voice": "a Stage channel",
    "category": "a category",
    "forum": "a forum channel",
    "media": "a media channel",
}
CHANNEL_WANTED = {
    "announcements": (
        "the bot keeps the schedule board and members' private reminder threads there, which needs a text channel",
        "a text channel",
    ),
    "teachers": ("the bot posts alerts there, which needs a text channel", "a text channel"),
    "coordinators": ("the bot posts alerts and reports there, which needs a text channel", "a text channel"),
    "sessions": ("sessions take place there, which needs a voice or Stage channel", "a voice or Stage channel"),
}
ROLE_MISSING = (
    "roles.{key} ({id}): there is no role with this id in {guild}. Fix: Server Settings > Roles > Create Role "
    "(\u201c{label}\u201d), then right-click it > Copy Role ID, and put it in config.toml"
)
ROLE_IS_EVERYONE = (
    "roles.{key}: this is @everyone, so every member would count as a {label}. Fix: Server Settings > Roles > "
    "Create Role (\u201c{label}\u201d), give it to the right people, and put its id in config.toml"
)
ROLE_LABELS = {"coordinator": "Coordinator", "teacher": "Teacher"}

BOT_CANNOT_SEE = (
    "The bot cannot see {channel} ({key}), so it cannot {does} there. Fix: {channel} > Edit Channel > "
    "Permissions > add {bot} > View Channel: \u2713"
)
BOT_TAKEN_AWAY = (
    "In {channel}, the bot cannot {does}: {permission} is taken away there. Fix: {channel} > Edit Channel > "
    "Permissions > {bot} > {permission}: \u2713"
)
BOT_LACKS = (
    "In {channel}, the bot cannot {does}: it lacks {permission}. Fix: Server Settings > Roles > {bot} > "
    "{server_permission}: on (or only where it is needed: Edit Channel > Permissions > {bot} > {permission}: "
    "\u2713, in {channel})"
)
BOT_LACKS_SERVER_WIDE = (
    "The bot cannot {does}: its role lacks {permission}. Fix: Server Settings > Roles > {bot} > {permission}: on"
)
BOT_CANNOT_GRANT = (
    "In {channel}, the bot cannot pause the chat while it leads: Discord lets it change Send Messages there only "
    "if it has Send Messages server-wide (or in the channel's category), or Manage Permissions in the channel "
    "itself. Fix: {channel} > Edit Channel > Permissions > {bot} > Manage Permissions: \u2713 (or set "
    "[sessions] lock_chat = false)"
)
STAFF_CANNOT_SEE = (
    "Members with only the {role} role cannot see {channel}, where the bot posts for them. Fix: {channel} > "
    "Edit Channel > Permissions > add {role} > View Channel: \u2713"
)
STAFF_CANNOT_USE_COMMANDS = (
    "Members with only the {role} role cannot use commands in {channel}. Fix: {channel} > Edit Channel > "
    "Permissions > {role} > Use Application Commands: \u2713"
)
TEACHERS_CANNOT_JOIN = (
    "Members with only the {role} role cannot {what} {channel}, where they lead sessions. Fix: {channel} > "
    "Edit Channel > Permissions > add {role} > {permission}: \u2713"
)
COMMANDS_ASK_FOR = (
    "Members with only the {role} role cannot see {commands}: by default {these} {ask} for {permissions}. "
    "Fix: Server Settings > Integrations > {app} > Roles & Members > Add Roles or Members > {role}"
)
COMMANDS_SWITCHED_OFF = (
    "Members with only the {role} role cannot use {commands}: {these} {are} switched off for them. Fix: "
    "Server Settings > Integrations > {app} > {commands} > {role}: \u2713"
)
COMMANDS_OFF_IN_CHANNEL = (
    "{commands} {are} switched off in {channel}. Fix: Server Settings > Integrations > {app} > {commands} > "
    "Channels > {channel}: \u2713"
)
# The words around a list of commands: one (True) or several (False).
COMMANDS_GRAMMAR = {
    True: {"these": "it", "ask": "asks", "are": "is"},
    False: {"these": "these", "ask": "ask", "are": "are"},
}
COMMANDS_NOT_REGISTERED = (
    "who may use the commands: not checked yet, because the bot registers its commands when it starts; "
    "run check --live again once the bot has started"
)
COMMAND_PERMISSIONS_UNREADABLE = "who may use the commands: not checked, Discord did not say ({problem})"

# Discord's names for permissions, in Server Settings > Roles, and in a channel's Edit Channel > Permissions.
SERVER_PERMISSION_NAMES = {
    "view_channel": "View Channels",
    "send_messages": "Send Messages",
    "send_messages_in_threads": "Send Messages in Threads",
    "create_public_threads": "Create Public Threads",
    "create_private_threads": "Create Private Threads",
    "read_message_history": "Read Message History",
    "embed_links": "Embed Links",
    "attach_files": "Attach Files",
    "connect": "Connect",
    "speak": "Speak",
    "mute_members": "Mute Members",
    "move_members": "Move Members",
    "manage_channels": "Manage Channels",
    "manage_roles": "Manage Roles",
    "stream": "Video",
    "create_events": "Create Events",
    "use_application_commands": "Use Application Commands",
    "manage_guild": "Manage Server",
    "administrator": "Administrator",
}
CHANNEL_PERMISSION_NAMES = SERVER_PERMISSION_NAMES | {
    "view_channel": "View Channel",
    "manage_channels": "Manage Channel",
    "manage_roles": "Manage Permissions",
}

# The report posted once in the coordinators' channel when the start-up check finds something.
SETUP_REPORT_HEADING = (
    "\U0001f6e0\ufe0f **Practice Circles needs a few things set up in this server.** It checked when it "
    "started; each line says where to click:"
)
SETUP_REPORT_LINE = "\u2022 {text}"
SETUP_REPORT_MORE = (
    "\u2022 \u2026and {count} more: run `python -m bot check --live` on the bot's computer to see them all."
)
SETUP_REPORT_FOOTER = (
    "The bot checks again at every start and writes here again only when this list changes. "
    "`python -m bot check --live` shows it at any time."
)
