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
