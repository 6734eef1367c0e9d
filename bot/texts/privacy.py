"""User-facing text for privacy, the schedule board, the buttons on reminders, and time-change heads-ups.

Plain words on what the bot keeps and why: who attends self-compassion sessions is nobody else's business.
"""

from __future__ import annotations

# --- /privacy -------------------------------------------------------------------------------------
PRIVACY_TITLE = "What the bot keeps about you, and why"
PRIVACY_LINES = (
    "**Your sign-ups**, so you get reminders and hear about changes to the sessions you chose, and so "
    "the coordinators know how many people a session serves. Only you see which sessions you signed up for.",
    "**Your settings**: when and how you get reminders, and your time zone if you gave one (only to warn "
    "you when daylight saving moves a session on your clock).",
    "**Attendance**, only for sessions you signed up for (or when you pressed *Count me in* on the "
    "session card): when you came and left, for the coordinators' popularity figures. Nobody else's "
    "presence is recorded.",
    "**Messages the bot sent you** (reminders and notices), so none is sent twice.",
    "**Your private calendar link**, if you asked for one (`/calendar subscribe`): only a fingerprint of it, "
    "so nobody can rebuild the link from the bot's records.",
    "**Feedback you send**, for the coordinators; you can send it anonymously.",
    "**A log of changes** made with the bot's commands, so coordinators can see what changed and when.",
)
PRIVACY_NOT_KEPT = (
    "The bot does not keep what you say in voice or chat, and never posts who attends in a place others can "
    "read: if your direct messages are closed, reminders go to a private thread only you are added to "
    "(server moderators with *Manage Threads* can see private threads; Discord allows them that)."
)
PRIVACY_RETENTION = (
    "If you leave the server, all of this is forgotten {days} days later (unless you come back first). "
    "`/forget-me` forgets it now: sign-ups, settings, attendance and messages are deleted, and your "
    "feedback and the change log are kept without your name."
)

# --- /forget-me -------------------------------------------------------------------------------------
FORGET_CONFIRM = (
    "This deletes your sign-ups, settings, attendance, your private calendar link and the record of messages "
    "the bot sent you, and "
    "removes your name from feedback you sent and from the change log. You will get no more reminders. "
    "It cannot be undone, but you are welcome to sign up again any time. Shall I forget you?"
)
FORGET_BUTTON = "Yes, forget me"
FORGET_NOT_YOURS = "This button belongs to someone else's request, so nothing was changed."
FORGET_DONE = (
    "Done: the bot has forgotten you. Nothing it keeps names you any more. Please take good care of "
    "yourself, and you are always welcome back."
)

# --- attendance, on the session card ------------------------------------------------------------------
CARD_ATTENDANCE = (
    "Attendance is counted only for members who signed up for this session. If you would like to be "
    "counted, press *Count me in*; otherwise nobody records that you were here."
)
COUNT_ME_BUTTON = "Count me in"
SIGNED_UP_TO_BE_COUNTED = (
    "Thank you: you are signed up for **{title}**, and you will be counted when you join its channel. "
    "You can leave at any time, no explanation needed."
)
COUNTED = (
    "Thank you: you are signed up for **{title}** and counted as here. You can leave at any time, "
    "no explanation needed."
)

# --- buttons on reminders and notices (DMs and private threads) -------------------------------------
DM_LEAVE_BUTTON = "Leave this session"
DM_STOP_REMINDERS_BUTTON = "Stop reminders"
REMINDERS_STOPPED = (
    "Reminders are off: you won't get any more reminders before sessions. You will still hear if a "
    "session you signed up for changes. `/settings reminders` turns them back on."
)
REMINDERS_ALREADY_STOPPED = "Reminders were already off, so nothing changed. `/settings reminders` turns them back on."

# --- the private reminder thread ---------------------------------------------------------------------
PRIVATE_THREAD_NAME = "Your practice reminders"
PRIVATE_THREAD_WELCOME = (
    "<@{user}>, this private thread is only for you (the bot adds nobody else), so your reminders stay "
    "private while your direct messages are closed. You can leave it at any time."
)

# --- the schedule board ---------------------------------------------------------------------------------
BOARD_TITLE = "This week's practice sessions"
BOARD_INTRO = (
    "Everyone is welcome. Times show in your own time zone, with US Pacific (the schedule's own time) "
    "beside them. Press a **Sign up** button for a reminder and news of any change — only you will "
    "see your answer."
)
BOARD_EMPTY = "No sessions are scheduled in the next 7 days. This message updates itself when that changes."
BOARD_SESSION_VALUE = "{when} ({relative})\nUS Pacific: {pacific}\nIn <#{channel}> · {teacher}"
BOARD_TEACHER = "with <@{id}>"
BOARD_NO_TEACHER = "teacher to be confirmed"
BOARD_MORE = "{count} more session(s) this week: `/schedule` shows them all."
BOARD_FOOTER = "Kept up to date by the bot · /schedule looks further ahead"
