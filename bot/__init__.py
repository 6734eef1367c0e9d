"""Practice Circles: the core of a Discord bot for free drop-in mindful self-compassion sessions.

The package is readable without knowing Discord: schedule, sessions, recordings, storage and
delivery live here; `cogs/` holds the thin Discord-facing layer.
"""

__version__ = "0.1.0"
