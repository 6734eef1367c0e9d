"""A Discord on loopback (REST v10, gateway v10, voice) for tests and the demo.

The real discord.py client logs in to it, registers commands and answers simulated people.
"""

from bot.sandbox.people import ActionRefused, CommandUnavailable, InteractionHandle, Reply, SimulatedPerson
from bot.sandbox.server import Sandbox
from bot.sandbox.world import World

__all__ = [
    "ActionRefused",
    "CommandUnavailable",
    "InteractionHandle",
    "Reply",
    "Sandbox",
    "SimulatedPerson",
    "World",
]
