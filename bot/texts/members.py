"""User-facing text for members: the schedule, signing up and out, settings, calendars, feedback.

Titles and other typed text reach these templates only through `display_safe`; Discord
timestamps (`<t:…>`) show every reader their own local time, with US Pacific beside them.
"""

from __future__ import annotations

# --- /schedule ----------------------------------------------------------------------------------
SCHEDULE_TITLE = "Upcoming practice sessions"
SCHEDULE_INTRO = (
    "Times appear in your own time zone, with US Pacific time (the schedule's own time) beside them. "
    "Everyone is welcome. Press **Sign up** for a reminder and news of any change."
)
SCHEDULE_EMPTY = "There are no sessions in the next {days} day(s). `/schedule days:28` looks four weeks ahead."
SCHEDULE_FOOTER = "Sessions {first}–{last} of {total} in the next {days} day(s)"
SCHEDULE_FOOTER_MORE = " · more: press Later, or use /schedule days:{days_hint}"
SESSION_NAME = "#{id} · {title}"
SESSION_VALUE = (
    "{when} ({relative})\nUS Pacific: {pacific}\nTeacher: {teacher}\nPractice: {practice}\nIn <#{channel}> · {signups}"
)
SESSION_YOURS = "\n✓ You're signed up"
TEACHER = "<@{id}>"
NO_TEACHER = "no teacher confirmed yet"
PRACTICE_OPEN = "chosen by the teacher"
SIGNUP_COUNT = "{count} signed up"

# --- buttons --------------------------------------------------------------------------------------
SIGN_UP_BUTTON = "Sign up #{id}"
SIGNED_UP_BUTTON = "✓ Signed up #{id}"
SIGN_OUT_BUTTON = "Leave #{id}"
EARLIER_BUTTON = "◀ Earlier"
LATER_BUTTON = "Later ▶"

# --- signing up and out ---------------------------------------------------------------------------
SIGNED_UP = "You're signed up for **{title}** on {when} ({pacific} US Pacific). {reminders}"
ALREADY_SIGNED_UP = "You're already signed up for **{title}** on {when}, so there is nothing more to do. {reminders}"
SIGNED_UP_SERIES = (
    "You're signed up for every session of **{title}** ({rule}): {count} upcoming so far, and new ones "
    "are added as they are scheduled. {reminders}"
)
ALREADY_IN_SERIES = "You're already signed up for the whole series **{title}**. {reminders}"
LEAVE_ANY_TIME = "You can leave any session at any time, no explanation needed (`/signout` or `/mysessions`)."
SIGNED_OUT = (
    "You've left **{title}** on {when}. No explanation needed; please take good care of yourself. "
    "You won't get reminders or notices about it."
)
NOT_SIGNED_UP = "You weren't signed up for **{title}** on {when}, so there was nothing to leave."
SIGNED_OUT_SERIES = (
    "You've left the series **{title}**: its upcoming sessions won't remind you any more. Sessions "
    "you signed up for one by one stay as they are. Please take good care of yourself."
)
NOT_IN_SERIES = (
    "You weren't signed up for the whole series **{title}**, so there was nothing to leave. "
    "`/signout session:` leaves a single session."
)
CHOOSE_SIGNUP = "Please choose either a session or a whole series (one of the two). `/schedule` shows what's coming up."
CHOOSE_SIGNOUT = "Please choose either one of your sessions or one of your series (one of the two)."

# How reminders will reach the member, said after every sign-up.
REMINDERS_WILL = "You'll get a reminder {offsets} before, {route}."
REMINDERS_NONE = (
    "You chose to have no reminders (`/settings reminders` changes that); you'll still hear if the session changes."
)
ROUTE_DM = "by direct message"
ROUTE_THREAD = "in your private reminder thread under <#{channel}> (only you are added to it)"
ROUTE_DMS_CLOSED = (
    "in your private reminder thread under <#{channel}> (only you are added to it), since your direct "
    "messages were closed to the bot (once you open them, choose “By direct message” in `/settings reminders`)"
)
AND = " and "
MINUTES = ("{n} minute", "{n} minutes")
HOURS = ("{n} hour", "{n} hours")
DAYS = ("{n} day", "{n} days")

# --- /mysessions ----------------------------------------------------------------------------------
MINE_TITLE = "Your sessions"
MINE_EMPTY = "You're not signed up for any upcoming sessions. `/schedule` shows what's coming up; everyone is welcome."
MINE_SERIES = "Whole series you follow: {names}"
MINE_FOOTER = "Sessions {first}–{last} of {total}. You can leave any session at any time, no explanation needed."

# --- /settings --------------------------------------------------------------------------------------
SETTINGS_TITLE = "Your settings"
SETTINGS_REMINDERS = "**Reminders:** {offsets}"
SETTINGS_OFFSETS = "{offsets} before"
SETTINGS_COMMUNITY_DEFAULT = " (the community default)"
SETTINGS_NO_REMINDERS = "none; you'll still hear about changes to sessions you signed up for"
SETTINGS_ROUTE = "**How:** {route}"
SETTINGS_TIMEZONE = "**Time zone:** {zone}"
SETTINGS_NO_TIMEZONE = (
    "not set. Discord already shows every time in your own zone; with one set, reminders also tell "
    "you when daylight saving moves a session on your clock (`/settings timezone`)."
)
SETTINGS_HOW = "Choose below; each change is saved at once."
OFFSETS_PLACEHOLDER = "When to remind me (choose none for no reminders)"
OFFSET_OPTION = "{text} before"
CHANNEL_PLACEHOLDER = "How to remind me"
CHANNEL_DM = "By direct message"
CHANNEL_THREAD = "In my private reminder thread"
USE_DEFAULT_BUTTON = "Use the community default"
SETTINGS_SAVED = "Saved."

TIMEZONE_SET = (
    "Your time zone is now **{zone}** (it is {local} there now). Discord already shows session times "
    "in your own zone; with this, reminders also tell you when daylight saving moves a weekly "
    "session on your clock."
)
TIMEZONE_CLEARED = "Your time zone is cleared. Discord still shows every session time in your own zone."
TIMEZONE_BOTH = "Please either give a time zone name or choose clear, not both."

# --- /calendar --------------------------------------------------------------------------------------
CALENDAR_SERIES = (
    "Here is **{title}** as a calendar file: open or import it in your calendar app. Times follow "
    "US Pacific time, so daylight-saving changes are handled for you; cancelled sessions are left out. "
    "Later changes need a fresh file."
)
CALENDAR_MINE = (
    "Here are your {count} upcoming session(s) as a calendar file: open or import it in your calendar "
    "app. Later changes need a fresh file."
)
CALENDAR_EMPTY = (
    "You're not signed up for any upcoming sessions yet, so there is nothing to put in a calendar. "
    "`/schedule` shows what's coming up, and `/calendar file series:` gives a whole series."
)
CALENDAR_MINE_NAME = "My practice sessions"
CALENDAR_FILE_SERIES = "practice-circles-series-{id}.ics"
CALENDAR_FILE_MINE = "practice-circles-my-sessions.ics"
CALENDAR_SUBSCRIBED = (
    "Here is your private calendar link. In your calendar app, choose to add or subscribe to a calendar "
    "“from a URL” (Google Calendar: Other calendars, +, From URL) and paste:\n`{url}`\n"
    "Your app then shows the sessions you sign up for, and moves or cancels them when they change, "
    "usually within a few hours. Anyone with this link can see which sessions you signed up for, so "
    "please keep it to yourself; `/calendar revoke` stops it at any time."
)
CALENDAR_SUBSCRIBED_REPLACED = "The link you were given before no longer works; use this one instead."
CALENDAR_REVOKED = (
    "Your private calendar link no longer works, and nobody can use it any more. You can remove the "
    "calendar from your app; `/calendar subscribe` gives you a new link whenever you like."
)
CALENDAR_NOTHING_TO_REVOKE = (
    "You had no private calendar link, so there was nothing to stop. `/calendar subscribe` gives you one."
)
CALENDAR_FEEDS_OFF = (
    "Calendar links aren't switched on for this community yet (the bot's web server is off), so "
    "nothing was changed. `/calendar file` still gives you a calendar file, and a coordinator can "
    "turn the links on."
)

# --- /feedback (modal labels: at most 45 characters; descriptions at most 100) ----------------------
FEEDBACK_TITLE = "Feedback for the coordinators"
FEEDBACK_LABEL = "What would you like to share?"
FEEDBACK_DESCRIPTION = "Our volunteer coordinators read every message."
FEEDBACK_PLACEHOLDER = "What helped, what didn't, an idea, a concern…"
FEEDBACK_SESSION_LABEL = "Is it about a session? (optional)"
FEEDBACK_SESSION_PLACEHOLDER = "Choose a recent session, or leave this empty"
FEEDBACK_NAME_LABEL = "Send it with your name?"
FEEDBACK_NAME_PLACEHOLDER = "With my name (or choose anonymous)"
FEEDBACK_WITH_NAME = "With my name, so they can reply"
FEEDBACK_ANONYMOUS = "Anonymously: the bot does not keep who sent it"
MINE_CLOCK_NOTE = "\n🕑 {note}"
FEEDBACK_THANKS = (
    "Thank you for sharing this. It has been passed to our volunteer coordinators, who read every "
    "message (they are volunteers too, so a reply may take a little while)."
)
