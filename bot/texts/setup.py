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
