"""The custom-id registry: ids are built and read back, kept byte for byte, and no template takes another's ids."""

from __future__ import annotations

import itertools
import re

import pytest

from bot.adapters.buttons import CUSTOM_IDS, CustomId

# The ids on messages already sent. Changing any of these strands the buttons people still have.
RELEASED = {
    "signup": "pc:signup:{occurrence}",
    "signout": "pc:signout:{occurrence}",
    "schedule-page": "pc:schedule:{days}:{page}",
    "mine-page": "pc:mine:{page}",
    "reminder-offsets": "pc:reminders:offsets",
    "reminder-channel": "pc:reminders:channel",
    "reminder-default": "pc:reminders:default",
    "claim": "pc:claim:{occurrence}",
    "series-end": "pc:series-end:{series}",
    "series-keep": "pc:series-keep:{series}",
    "silent-sit": "pc:sit:{occurrence}:{minutes}",
    "play": "pc:play:{occurrence}",
    "self-care": "pc:care:{occurrence}",
}


def samples(template: CustomId) -> list[str]:
    """Ids the template makes, with numbers small and large."""
    return [template.make(**dict.fromkeys(template.fields, number)) for number in (0, 7, 42, 10**18)]


def test_released_templates_are_kept_byte_for_byte() -> None:
    assert {name: template.format for name, template in CUSTOM_IDS.items() if name in RELEASED} == RELEASED


@pytest.mark.parametrize("name", sorted(CUSTOM_IDS))
def test_each_template_reads_back_what_it_makes(name: str) -> None:
    template = CUSTOM_IDS[name]
    for custom_id in samples(template):
        match = re.fullmatch(template.pattern, custom_id)
        assert match is not None, custom_id
        assert template.make(**template.read(match)) == custom_id
        assert len(custom_id) <= 100  # Discord's limit for a custom id


@pytest.mark.parametrize(("first", "second"), list(itertools.permutations(sorted(CUSTOM_IDS), 2)))
def test_no_template_matches_another_templates_ids(first: str, second: str) -> None:
    for custom_id in samples(CUSTOM_IDS[first]):
        assert re.fullmatch(CUSTOM_IDS[second].pattern, custom_id) is None, (custom_id, second)


def test_a_template_refuses_ids_that_are_not_its_own() -> None:
    signup = CUSTOM_IDS["signup"].pattern
    for stranger in ("pc:signup:", "pc:signup:12a", "pc:signup:-1", "pc:signup:1:2", "xpc:signup:1", "pc:signup:١٢"):
        assert re.fullmatch(signup, stranger) is None, stranger
