"""Persistent buttons and selects: one registry of custom ids, one base class that routes errors.

Every component the bot sends carries a custom id built from a template in `CUSTOM_IDS`. The ids
are stored on old messages in people's channels and DMs, so each template is kept byte for byte
once released: a new component gets a new template, never an edited one. No template may match
another's ids (a test checks it).

`PersistentItem` is discord.py's `DynamicItem` with the two things every one of ours needs: it is
rebuilt from the numbers in its custom id after any restart (`from_custom_id`), and whatever its
work raises is answered through the one error reply (discord.py would only log it).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar

import discord

from bot.adapters.error_reply import reply_to_error

ItemT = TypeVar("ItemT", bound=discord.ui.Item[Any])


@dataclass(frozen=True)
class CustomId:
    """One custom-id template: `pc:signup:{occurrence}`, each {field} a whole number."""

    format: str

    @property
    def fields(self) -> tuple[str, ...]:
        """The names of the template's numbers, in order."""
        return tuple(name for _, name, _, _ in string.Formatter().parse(self.format) if name)

    @property
    def pattern(self) -> str:
        """The regular expression discord.py matches pressed ids against (whole id, digits only)."""
        parts = []
        for literal, name, _, _ in string.Formatter().parse(self.format):
            parts.append(re.escape(literal))
            if name:
                parts.append(f"(?P<{name}>[0-9]+)")
        return "".join(parts)

    def make(self, **numbers: int) -> str:
        """The id for these numbers."""
        return self.format.format(**numbers)

    def read(self, match: re.Match[str]) -> dict[str, int]:
        """The numbers in a matched id."""
        return {name: int(match[name]) for name in self.fields}


# Every custom id the bot has ever sent. Keep each byte for byte: old messages carry them.
CUSTOM_IDS: Mapping[str, CustomId] = {
    # members
    "signup": CustomId("pc:signup:{occurrence}"),
    "signout": CustomId("pc:signout:{occurrence}"),
    "schedule-page": CustomId("pc:schedule:{days}:{page}"),
    "mine-page": CustomId("pc:mine:{page}"),
    "reminder-offsets": CustomId("pc:reminders:offsets"),
    "reminder-channel": CustomId("pc:reminders:channel"),
    "reminder-default": CustomId("pc:reminders:default"),
    # on reminders and notices (DMs and private threads): leave that session, stop reminders
    "message-leave": CustomId("pc:msg-leave:{occurrence}"),
    "message-stop-reminders": CustomId("pc:msg-stop-reminders"),
    # /forget-me's confirmation, for the member who asked
    "forget-me": CustomId("pc:forget-me:{user}"),
    # the feedback form: one per /feedback, numbered by the interaction that opened it
    "feedback": CustomId("pc:feedback:{interaction}"),
    # teachers
    "claim": CustomId("pc:claim:{occurrence}"),
    # coordinators
    "series-end": CustomId("pc:series-end:{series}"),
    "series-keep": CustomId("pc:series-keep:{series}"),
    # the session room
    "silent-sit": CustomId("pc:sit:{occurrence}:{minutes}"),
    "play": CustomId("pc:play:{occurrence}"),
    "self-care": CustomId("pc:care:{occurrence}"),
    "count-me-in": CustomId("pc:count-me:{occurrence}"),
}


class PersistentItem(discord.ui.DynamicItem[ItemT], template=r"(?!)"):
    """A component rebuilt from its custom id after any restart, whose errors get the one error reply.

    Subclasses name their template (`custom_id=CUSTOM_IDS[...]`), build the component in `__init__`,
    say how to rebuild it from the id's numbers in `rebuild`, and do their work in `run`.
    """

    custom_id_template: ClassVar[CustomId]

    def __init_subclass__(cls, *, custom_id: CustomId, **kwargs: Any) -> None:
        super().__init_subclass__(template=custom_id.pattern, **kwargs)
        cls.custom_id_template = custom_id

    @classmethod
    def button(
        cls, label: str, style: discord.ButtonStyle = discord.ButtonStyle.secondary, **numbers: int
    ) -> discord.ui.Button[Any]:
        """A button with this component's custom id for these numbers (for subclasses that are buttons)."""
        return discord.ui.Button(label=label, style=style, custom_id=cls.custom_id_template.make(**numbers))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        """Rebuild the component from a pressed custom id."""
        return await cls.rebuild(interaction, **cls.custom_id_template.read(match))

    @classmethod
    async def rebuild(cls, interaction: discord.Interaction, **numbers: int) -> Self:
        """The component for these numbers (by default: the constructor, given them)."""
        # Subclasses' constructors take their id's numbers by name (DynamicItem's own takes the item).
        return cls(**numbers)  # type: ignore[arg-type]

    async def callback(self, interaction: discord.Interaction) -> None:
        """Do the work; anything it raises is answered through the one error reply."""
        try:
            await self.run(interaction)
        except Exception as error:
            await reply_to_error(interaction, error)

    async def run(self, interaction: discord.Interaction) -> None:
        """What pressing or choosing does."""
        raise NotImplementedError
