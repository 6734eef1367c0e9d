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

# The guidelines in the bot's own words (seed 002); the welcome words above are quoted verbatim.
GUIDELINES_TITLE = "How our practice sessions work"
GUIDELINES = (
    "**Open to everyone, everywhere.** These free sessions share mindful self-compassion as widely as "
    "possible. We hope you bring the practices into daily life and share them with others.",
    "**Pacific Time.** The schedule is set in US Pacific Time; the bot shows every session in your own "
    "time. Sign up to get reminders and to hear about schedule changes — it also tells the "
    "coordinators which sessions people value.",
    "**When no teacher can come.** We do our best to have an experienced MSC teacher at every "
    "session. When none is present, we sit together in silence for 10–20 minutes or listen to a "
    "recording from the approved list — only those. You are also warmly invited to leave and use "
    "the time for another self-compassionate activity offline.",
    "**Nobody leads but a teacher.** To keep everyone safe, no participant leads the practice or a "
    "discussion. The bot keeps the room quiet while it plays a recording or holds a silent sit.",
    "**Your care comes first.** People join from many countries and cultures, with needs that "
    "change from day to day. If a session is not what you need right now, or does not feel safe, "
    "you may close up compassionately and leave — no blame, no explanation needed.",
    "**Teachers** guide practices from the Mindful Self-Compassion course and practices related to "
    "self-compassion only.",
)

SELF_CARE_TITLE = "Taking care of yourself"
SELF_CARE_INTRO = (
    "You are always free to leave a session, at any moment, without blame. Giving yourself what you "
    "need is itself self-compassion. If it helps, you could spend the time offline:"
)
SELF_CARE_CLOSING = "Be gentle with yourself. You are welcome back any time."

LINKS_TITLE = "Community and support"
LINK_COMMUNITY = "Join the global MSC community: {url}"
LINK_COORDINATORS = "Questions or concerns? Our volunteer coordinators are glad to hear from you: {url}"
LINK_DONATE = (
    "These sessions are free. If you wish and are able to, you can support the Center for Mindful "
    "Self-Compassion with a gift of any amount: {url}"
)
LINK_SHARE = "Know someone who might welcome this? Please share the offering: {url}"

# Error replies (the single error handler in bot.app uses these).
NOT_ALLOWED = "Sorry — that action is for someone with a different role. Nothing was changed."
UNEXPECTED_ERROR = (
    "Something went wrong on our side and nothing was changed. If it keeps happening, please tell "
    "a coordinator and quote reference {reference}."
)
