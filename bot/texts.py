"""User-facing text, kept together so it can be reviewed and later translated.

Quoted words from the community's guidelines (seed 002) are kept verbatim; everything else is the
bot's own wording. Placeholders use str.format names.
"""

from __future__ import annotations

# Seed 002, section 3: the words any participant may share when no teacher is present.
OFFICIAL_WELCOME_WORDS = (
    "On behalf of CMSC, welcome to this practice session. No teacher is able to be present and "
    "these are our guidelines. We are all welcome and none of us is leading this session or "
    "leading a discussion. We will play a recording from the approved list. Each of us is welcome "
    "to be here or welcome to leave and take loving care of ourselves in whatever way works best "
    "for that person. Each of us is responsible for our own well being."
)

# Offline self-care ideas (seed 002, section 4), offered with permission to leave without blame.
SELF_CARE_IDEAS = (
    "having a nice cup of tea",
    "taking a walk",
    "reading",
    "listening to music",
    "writing",
    "singing",
)
