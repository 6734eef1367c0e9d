"""A Discord on loopback (REST v10, gateway v10, voice) for tests and the demo.

The real discord.py client logs in to it, registers commands and answers simulated people.
"""

from loopback.people import ActionRefused, CommandUnavailable, InteractionHandle, Reply, SimulatedPerson, Upload
from loopback.server import Sandbox
from loopback.world import World

__all__ = [
    "ActionRefused",
    "CommandUnavailable",
    "InteractionHandle",
    "Reply",
    "Sandbox",
    "SimulatedPerson",
    "Upload",
    "World",
]
