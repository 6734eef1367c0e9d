"""The bot's small web server: calendar feeds (public and per member) and the public schedule page.

It runs inside the bot's event loop, starts and stops with it, and only reads the database.
Nothing here imports discord: the bot class hands it the few Discord facts it shows (channel names).
"""

from bot.web.server import WebServer

__all__ = ["WebServer"]
