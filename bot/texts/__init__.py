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

# For the operator, when `run` stops because the core could not start (exit status 2, so a service
# manager with Restart=on-failure starts the bot again).
CORE_START_FAILED = (
    "the bot connected to Discord but could not start its timers, so it stopped: {problem}. "
    "The log above has the details; once the cause is fixed the bot starts normally"
)

# To someone who uses the bot's command or button in a server other than the community's (the only
# answer the bot gives there; nothing else is done).
OTHER_SERVER = (
    "This bot serves its own community's server only, so nothing was done here. "
    "The practice sessions, and everything about them, are in that server."
)

# Error replies (the single error handler in bot.adapters.bot uses these).
NOT_ALLOWED = "Sorry — that action is for someone with a different role. Nothing was changed."
UNEXPECTED_ERROR = (
    "Something went wrong on our side and nothing was changed. If it keeps happening, please tell "
    "a coordinator and quote reference {reference}."
)
UNUSABLE_OPTION = (
    "The {what} given for “{option}” isn't one the bot can use in this server (it may belong to another "
    "server, or have just been removed). Please pick one from the list Discord offers. Nothing was changed."
)
# How UNUSABLE_OPTION names each kind of Discord object an option can hold.
OPTION_KINDS = {"channel": "channel", "user": "member", "role": "role", "mentionable": "member or role"}
# Per-member rate limits (bot.services.limits): kind, and saying when it works again.
RATE_LIMITED = {
    "feedback": (
        "Thank you for caring enough to write again so soon. To keep the coordinators' inbox manageable "
        "(they are volunteers), please wait {wait} before sending more feedback. Nothing was lost: what "
        "you sent before has reached them."
    ),
    "changes": (
        "That's a lot of changes in a short time, so the bot is taking a breath. Please try again in "
        "{wait}; nothing was changed this time."
    ),
}
WAIT_SECONDS = ("{n} second", "{n} seconds")
WAIT_MINUTES = ("{n} minute", "{n} minutes")
NOT_A_MEMBER = (
    "This is for members of the community's server, and Discord says you are not in it at the moment, "
    "so nothing was changed. You are welcome to join again at any time."
)
FORGET_AFTER_SESSION = (
    "A session you are in is still running, and the bot needs to remember you until it closes so it can "
    "give you your voice back. Please ask again once the session has closed; nothing was deleted yet."
)
FORGET_RELEASE_REASON = "the teacher asked the bot to forget them"
NEEDS_COORDINATOR = (
    "Only our volunteer coordinators can do that, so nothing was changed. If something in the "
    "schedule needs attention, please let a coordinator know."
)
NEEDS_TEACHER = (
    "Only teachers can claim or release sessions, so nothing was changed. If you would like to "
    "teach, please contact the coordinators."
)

# --- the schedule, for everyone ---------------------------------------------------------------
NO_SUCH_SESSION = "I can't find session #{id}. It may have been removed; `/schedule` shows what is coming up."
NO_SUCH_SERIES = "I can't find series #{id}. `/series list` shows the series there are."
LISTING_DAYS = "I can show from 1 to {max} days ahead; you asked for {got}."
SESSION_CANCELLED = "“{title}” was cancelled, so it can't take sign-ups or teachers any more."
SESSION_OVER = "“{title}” has already finished."
SERIES_ENDED = "The series “{title}” has ended."
REMINDER_OFFSETS = (
    "Reminders can be sent {allowed} minutes before a session; {got} is not one of those. Please choose from the list."
)
FEEDBACK_FOR_COORDINATORS = "New feedback #{id} from <@{user}>:\n>>> {text}"
FEEDBACK_ANONYMOUS_FOR_COORDINATORS = "New anonymous feedback #{id}:\n>>> {text}"
FEEDBACK_KEPT_FOR_YOU = "Here is what you wrote, so you can send it later:\n>>> {text}"

# Autocomplete choices (bot.adapters.formatting): plain text, no markdown or mentions, so titles appear as typed.
SESSION_CHOICE = "#{id} · {title} · {when}"
SESSION_CHOICE_LOCAL = "{time} your time"
SERIES_CHOICE = "{title} · {when} US Pacific{status}"
SERIES_CHOICE_NUMBERED = "#{id} · {title} · {when} US Pacific{status}"
SERIES_CHOICE_STATUS = " ({status})"
SERIES_STATUS = {"active": "active", "paused": "paused", "ended": "ended"}

# --- teachers ---------------------------------------------------------------------------------
ALREADY_CLAIMED = (
    "Thank you for offering! Another teacher has just claimed “{title}”, so it is covered. "
    "`/teach open` shows sessions that still need a teacher."
)
NOT_CLAIMED = "“{title}” has no teacher at the moment, so there is nothing to release."
NOT_YOUR_CLAIM = "That session is held by another teacher; only they or a coordinator can release it."
CLAIM_FIRST = "Please claim the session first; then you can choose its practice."
RELEASED_FOR_COORDINATORS = (
    "A teacher released “{title}” ({start}), which now needs a teacher. Released by <@{teacher}>: {reason}"
)
NOT_A_TEACHER = "That person doesn't hold the teacher role, so they can't be given a session."

# --- coordinators -----------------------------------------------------------------------------
NOTHING_TO_CHANGE = "Nothing to change: please give at least one new value."
SERIES_NOT_PAUSED = "The series “{title}” is {status}, not paused, so there is nothing to resume."
NOT_A_SESSION_CHANNEL = (
    "Sessions can only take place in the session channels set in the configuration "
    "([channels] sessions). Please pick one of those."
)
DURATION_RANGE = "A session lasts between {low} and {high} minutes; {got} is outside that."
START_IN_PAST = "{start} is already in the past. Please give a future time (US Pacific)."
SAME_TIME = "The session is already at that time."
SAME_CHANNEL = "The session is already in that channel."

# --- reminders and notices (bot.delivery.wording fills these in) ---------------------------------------
REMINDER = "Reminder: **{title}** starts {relative} — {when} (your time; {pacific} in US Pacific)."
REMINDER_LATE = (
    "Reminder (a little late — sorry, the bot was briefly away): **{title}** starts {relative} — "
    "{when} (your time; {pacific} in US Pacific)."
)
REMINDER_WHERE = "It takes place in <#{channel}>. You are welcome to come as you are, and to leave at any time."
NOTICE_CANCELLED = "**{title}** on {when} is cancelled. We're sorry for the change."
NOTICE_CANCELLED_REASON = "Reason: {reason}"
NOTICE_MOVED = (
    "**{title}** has moved: it was {old_when}, it is now **{new_when}** (your time; {pacific} in US Pacific)."
)
NOTICE_CHANNEL = "**{title}** on {when} will now take place in <#{new_channel}> (it was <#{old_channel}>)."
NOTICE_TEACHER_CHANGED = "**{title}** on {when} has a change of teacher: it will now be led by <@{teacher}>."
NOTICE_TEACHER_NONE = (
    "**{title}** on {when} has no confirmed teacher at the moment. If none can come, we will sit "
    "together quietly or listen to an approved recording — you are welcome either way."
)
NOTICE_CLOCKS = "A heads-up about **{title}** on {when}: the clocks are changing."
NOTICE_RESTORED = "Good news: **{title}** on {when} is back on the schedule."
NOTICE_FOOTER = (
    "You get this because you signed up. *Leave this session* below (or `/signout`) stops messages about it."
)
THREAD_NAME = "Reminders · {title} · {date}"

# Daylight saving moving a weekly session on a member's clock (bot.schedule.timezones.local_shift_note).
CLOCK_NOTE = "Note: {when} the session is at {now_at} your time (it was {was_at}), because {why}."
CLOCK_NOTE_WHEN = {"week": "this week", "time": "this time"}
CLOCK_NOTE_ON_DAY = "{time} on {day}"
CLOCK_NOTE_WHY = {
    "both": "clocks changed both in the US Pacific region and where you are, by different amounts",
    "pacific": "clocks changed in the US Pacific region but not where you are",
    "local": "clocks changed where you are but not in the US Pacific region",
}

# --- the session room (bot.services.runner) ------------------------------------------------------------
WELCOME_POST = "{words}"
CHOICE_PROMPT = (
    "Would the group like to listen to an approved recording, or sit together in silence? Anyone "
    "may choose; the first choice is the one we follow. If nobody chooses within a few minutes, we "
    "will sit quietly together."
)
CHOICE_MADE = "Thank you. We will now share: **{choice}**."
CHOICE_DEFAULT = (
    "No choice was made, so we will sit together in silence for {minutes} minutes, opened and closed by the bell."
)
CHOICE_ALREADY_MADE = "Thank you — a choice has already been made for this session, and we are following it."
NO_SUCH_CHOICE = "That is not one of the choices offered. Please pick from the list."
SILENT_SIT_LABEL = "a silent sit of {minutes} minutes"
PRACTICE_ENDED = (
    "The practice has ended. You are welcome to stay in the quiet until the session closes, or to "
    "leave whenever you like and take loving care of yourself."
)
SPEAK_DECLINED = (
    "While no teacher is present, we all listen together and nobody leads the practice or a "
    "discussion — this keeps everyone safe. Thank you for understanding. You are always free to "
    "leave and care for yourself in whatever way you need."
)
TEACHER_LEADS = "Welcome, <@{teacher}>. The teacher is here and will lead from now on."
TEACHER_PLAY_NOT_LEADING = "The bot plays on request only while a teacher is leading this session."
RECORDING_REFUSED = (
    "⚠️ The approved recording “{title}” ({id}) was NOT played: {reason}. Nothing was sent. "
    "Please check the file with `python -m bot recordings verify`."
)
SESSION_CLOSED = (
    "This session has closed. Thank you for practising together. 🙏\n"
    "These sessions are free; if you wish and are able to, you can support the Center for Mindful "
    "Self-Compassion: {donate}\nKnow someone who might welcome this? Please share: {share}"
)
SESSION_CARD_TITLE = "{title} — practice session"
SESSION_CARD = (
    "Starts {when} (your time; {pacific} in US Pacific).\n"
    "Everyone is welcome to be here, and welcome to leave at any moment without blame — "
    "taking care of yourself is the practice."
)
SELF_CARE_BUTTON = "Taking care of myself"
SILENT_SIT_BUTTON = "Silent sit · {minutes} min"
RECORDING_PLACEHOLDER = "Listen to an approved recording…"
NO_RECORDINGS = "No approved practice recordings yet"
CHOICE_THANKS = "Thank you — we will share {choice}. You can leave at any time."
ROOM_NOT_IN_SESSION = "Please join the session's voice or Stage channel first; then the bot can play there."
ROOM_PLAYING = "Playing “{title}” for the group."
