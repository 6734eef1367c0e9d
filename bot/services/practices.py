"""The practices teachers choose from: the Mindful Self-Compassion course's core practices.

A teacher picks one of these for a session they lead; the approved recordings (recordings.yaml)
are what the bot itself may play when no teacher is present.
"""

from __future__ import annotations

from bot.errors import NotFoundError

MSC_PRACTICES: tuple[str, ...] = (
    "Affectionate Breathing",
    "Soles of the Feet",
    "Loving-Kindness for Ourselves",
    "Finding Loving-Kindness Phrases",
    "Self-Compassion Break",
    "Compassionate Body Scan",
    "Compassionate Walking",
    "Giving and Receiving Compassion",
    "Compassionate Friend",
    "Soften-Soothe-Allow",
    "Compassionate Listening",
    "Compassion with Equanimity",
    "Meeting Unmet Needs",
    "Discovering Core Values",
    "Compassionate Letter to Myself",
    "Savoring and Gratitude",
    "Silent Sit",
)


def find_practice(name: str) -> str:
    """The catalog's spelling of a practice, matched case-insensitively."""
    wanted = " ".join(name.split()).casefold()
    for practice in MSC_PRACTICES:
        if practice.casefold() == wanted:
            return practice
    raise NotFoundError(
        f"{name[:80]!r} is not in the course's catalog of practices; please pick one from the list "
        "(start typing to see suggestions)."
    )


def suggest_practices(prefix: str, limit: int = 25) -> list[str]:
    """Catalog practices containing `prefix`, for autocomplete."""
    wanted = prefix.casefold().strip()
    return [practice for practice in MSC_PRACTICES if wanted in practice.casefold()][:limit]
