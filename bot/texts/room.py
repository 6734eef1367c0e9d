"""Words of the session room in real conditions: late joiners, dropped sound, another practice, closing.

Said in the session's chat (to everyone there, naming nobody: who attends is nobody else's
business) or, for what needs a volunteer's hands, to the coordinators.
"""

from __future__ import annotations

# --- in the session's chat ------------------------------------------------------------------------

LATE_JOINER = (
    "A gentle word for anyone just arriving: no teacher is present, so the bot is guiding this part "
    "and everyone listens together. That is why your microphone is off{video}: no participant "
    "guides the practice or a discussion. You are welcome to stay, and just as welcome to leave "
    "without blame and take loving care of yourself in whatever way works best for you."
)
LATE_JOINER_VIDEO = " and cameras and screen sharing rest"
ANOTHER_PRACTICE = (
    "There is still time before we close. If you wish, choose another practice below — or simply "
    "rest, or leave and take care of yourself."
)
SILENT_SIT_TIMING = "The silent sit begins now and ends {ends} ({minutes} minutes)."
SILENT_SIT_OVER_WORDS = "The silent sit has ended. Thank you for sitting together."
INTERVAL_WORDS = "A gentle mark of time: the silent sit continues until {ends}."
TEXT_GUIDED_OVERLAP = (
    "The bot's voice is guiding another session at this time, so this one is guided in words only. "
    "Please read the welcome above; we will sit together in silence."
)
VOICE_DROPPED = "The sound has dropped for a moment. Please stay with your breath — we are reconnecting."
VOICE_BACK = "We are back. The audio carries on from where it was."
VOICE_RETRYING = "The sound was lost. We are reconnecting and will carry on from where we were."
VOICE_GAVE_UP = (
    "We are sorry: the sound could not be brought back. Let us continue in silence instead, guided "
    "here in words. You are welcome to stay, and welcome to leave and take care of yourself."
)
TEACHER_TAKES_OVER = "Welcome, <@{teacher}>. A teacher is here and will lead from now on."

# --- for the coordinators ---------------------------------------------------------------------------

WELCOME_READING_UNAVAILABLE = (
    "The spoken welcome reading could not be prepared ({reason}). Sessions still open: the welcome "
    "words are posted in the chat. To add the spoken reading, run `python -m bot check --config FILE` "
    "as the bot's user outside the service (it prepares the reading), then restart the bot."
)
RESTORE_BY_HAND = (
    "After “{title}” ({when}) the bot could not undo everything it changed in <#{channel}>; it keeps "
    "trying, but please check by hand:\n{problems}"
)
RESTORE_PROBLEM_MUTE = "• <@{member}> is still server-muted: right-click them in voice and untick Server Mute ({why})."
RESTORE_PROBLEM_CHANNEL = (
    "• The permissions of <#{channel}> for {target} are not yet back as they were: Edit Channel → "
    "Permissions, and reset what the bot changed (Send Messages, Video) ({why})."
)
VOICE_FAILED_FOR_COORDINATORS = (
    "The bot's voice kept failing in “{title}” (<#{channel}>): it tried {attempts} times, then "
    "continued as a silent sit guided in words. Last problem: {reason}."
)
OVERLAP_TEXT_GUIDED_FOR_COORDINATORS = (
    "“{title}” (<#{channel}>) began with no teacher while the bot's voice was leading another session, "
    "so it is guided in words only (written welcome, silent sits)."
)
TEACHER_ROLE_LOST = (
    "<@{teacher}> no longer holds the Teacher role, so their claims were released: {sessions}. "
    "Those sessions need a teacher again."
)
TEACHER_TOOK_OVER = (
    "“{title}” ({when}): the claimed teacher <@{claimed}> was not there after the grace minutes, so "
    "<@{teacher}>, also a teacher, took over and now holds the session."
)
OVERLAP_CONFIRM = (
    "That would overlap {sessions}. One bot can speak in only one room at a time: if no teacher "
    "comes to both, one of them is guided in words only. To go ahead anyway, run the command "
    "again with `overlap: True`."
)
OVERLAP_CONFIRMED = "Note: “{title}” ({when}) overlaps {sessions}; {actor} confirmed it."
OVERLAP_ITEM = "“{title}” ({when})"
