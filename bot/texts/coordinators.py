"""User-facing text for coordinators: the schedule, recordings and reports.

Coordinators are volunteers, not programmers: every reply says what happened, who was told, and
what to do next, in plain words. Times are Discord timestamps (each reader's own zone) with the
US Pacific time beside them, since the schedule is set in Pacific time.
"""

from __future__ import annotations

# --- command and option descriptions (shown in Discord's command picker) ------------------------
SERIES_GROUP = "For coordinators: weekly series of practice sessions"
SESSION_GROUP = "For coordinators: change one session"
RECORDINGS_GROUP = "For coordinators: the approved recordings"
REPORT_GROUP = "For coordinators: popularity and who changed what"

# --- series -----------------------------------------------------------------------------------
SERIES_CREATED = (
    "✅ Created the series **{title}** (#{id}).\n"
    "**When:** {rule}.\n"
    "**Where:** <#{channel}> · **Length:** {minutes} minutes{practice}\n"
    "{added} session(s) are now on the schedule (up to {days} days ahead; more are added day by day)."
)
PRACTICE_PART = " · **Practice:** {practice}"
NEXT_SESSIONS = "**Next sessions** (your own time, then US Pacific):"
NEXT_SESSION_LINE = "• {when} — {pacific}"
NO_NEXT_SESSIONS = "There are no sessions left to hold under this rule."
DST_HEADING = "🕑 **Daylight saving:**"
DST_LINE = "• {note}"
DST_MORE = "• …and {count} more date(s) like these."
SERIES_EDITED = (
    "✅ Updated the series **{title}** (#{id}).\n"
    "**When:** {rule}.\n"
    "**Where:** <#{channel}> · **Length:** {minutes} minutes{practice}\n"
    "Its upcoming sessions follow the change, and members who signed up are told about any that moved, "
    "changed channel or were cancelled. Sessions you moved by hand keep their own time."
)
SERIES_PAUSED = (
    "⏸️ Paused the series **{title}** (#{id}). {count} upcoming session(s) were cancelled and the members "
    "who signed up for them are being told. `/series resume` brings them back."
)
SERIES_RESUMED = (
    "▶️ Resumed the series **{title}** (#{id}). {count} session(s) are back on the schedule or newly added, "
    "and members who had signed up for the restored ones are being told."
)
SERIES_END_CONFIRM = (
    "⚠️ Ending the series **{title}** (#{id}) is for good: its {count} upcoming session(s) will be "
    "cancelled and the {signups} sign-up(s) for them will get a cancellation notice. It cannot be resumed "
    "afterwards (you can always create a new series).\n"
    "Do you want to end it?"
)
SERIES_END_BUTTON = "Yes, end this series"
SERIES_KEEP_BUTTON = "No, keep it"
SERIES_ENDED = (
    "⏹️ Ended the series **{title}** (#{id}). {count} upcoming session(s) were cancelled and the members "
    "who signed up for them are being told."
)
SERIES_KEPT = "Nothing was changed: the series **{title}** (#{id}) carries on as before."
SERIES_LIST_TITLE = "Series"
SERIES_LIST_LINE = "**#{id} · {title}** — {rule} · <#{channel}> · {minutes} min · {status}"
SERIES_LIST_EMPTY = "There are no series yet. `/series create` starts one."
MORE_LINES = "…and {count} more."

# --- single sessions --------------------------------------------------------------------------
SESSION_ADDED = (
    "✅ Added **{title}** (session #{id}) on {when} — {pacific}, in <#{channel}>, for {minutes} minutes{practice}."
)
SESSION_CANCELLED = (
    "✅ Cancelled **{title}** (session #{id}) on {when} — {pacific}. {signups} member(s) who signed up are "
    "being told, with your reason."
)
SESSION_MOVED = (
    "✅ Moved **{title}** (session #{id}) from {old_when} to {when} — {pacific}. {signups} member(s) who "
    "signed up are being told."
)
SESSION_CHANNEL = (
    "✅ **{title}** (session #{id}) on {when} now takes place in <#{channel}> (it was <#{old_channel}>). "
    "{signups} member(s) who signed up are being told."
)
SESSION_ASSIGNED = (
    "✅ <@{teacher}> now leads **{title}** (session #{id}) on {when} — {pacific}. If another teacher held it, "
    "the members who signed up are told about the change."
)
SESSION_UNASSIGNED = (
    "✅ **{title}** (session #{id}) on {when} has no teacher now; it was held by <@{teacher}>. "
    "Members who signed up are told, and other teachers can claim it."
)
ASSIGN_ALREADY = "<@{teacher}> already leads **{title}** (session #{id}); nothing needed changing."

# --- recordings -------------------------------------------------------------------------------
RECORDINGS_TITLE = "Approved recordings"
RECORDINGS_APPROVED_HEADING = "**Approved** — the bot may play these ({count}):"
RECORDING_LINE = "• **{title}** (`{id}`) — {kind}, {language}, {minutes} · {source}"
RECORDINGS_REFUSED_HEADING = "**Refused** — never offered until fixed ({count}):"
REFUSED_LINE = "• `{entry}`: {problem}"
RECORDINGS_NONE = "No recordings are listed yet. A volunteer with access to the server can add one with `{command}`."
RECORDINGS_VERIFIED = "Checked every file again just now (sha256 and length): {ok} OK, {refused} refused."
RECORDINGS_VERIFY_ALL_OK = "All good: each file is exactly the approved one."
RECORDINGS_VERIFY_DIFFERS = (
    "The list in use differs from what the files say now. `/recordings reload` puts the new result into use "
    "(until then, every recording is still checked again right before it plays)."
)
RECORDINGS_RELOADED = (
    "✅ Reloaded the recordings list: {ok} approved, {refused} refused. Sessions use the new list from now on."
)
RECORDING_OK_MARK = "✅"
RECORDING_REFUSED_MARK = "⛔"
VERIFY_LINE = "{mark} `{entry}` {detail}"

# --- reports ----------------------------------------------------------------------------------
POPULARITY_POSTED = "📊 Session popularity over the last {weeks} week(s):"
POPULARITY_PRIVATE = "📊 Session popularity, last {weeks} week(s) — only you see this; ask in <#{channel}> to share it:"
POPULARITY_CSV = "📄 Session popularity over the last {weeks} week(s), as a spreadsheet (CSV)."
POPULARITY_CSV_PRIVATE = (
    "📄 Session popularity over the last {weeks} week(s), as a spreadsheet (CSV). (Shown only to you: reports "
    "are posted for everyone only in <#{channel}>.)"
)
CHART_ALT = "Heatmap of mean sign-ups by Pacific weekday and hour"
AUDIT_TITLE = "Recent changes (newest first)"
AUDIT_LINE = "{when} · {who} · **{action}** · {target}{details}"
AUDIT_BOT = "the bot"
AUDIT_EMPTY = "No changes have been recorded yet."
AUDIT_EXPORT = "📄 The whole change log ({count} entries), as a spreadsheet (CSV)."
AUDIT_TARGET_SESSION = "session #{id}"
AUDIT_TARGET_SERIES = "series #{id}"
# Plain-language names for the actions in the log; unknown ones are shown as stored.
AUDIT_ACTIONS = {
    "series.create": "created a series",
    "series.edit": "edited a series",
    "series.paused": "paused a series",
    "series.resume": "resumed a series",
    "series.ended": "ended a series",
    "session.add": "added a session",
    "session.cancel": "cancelled a session",
    "session.move": "moved a session",
    "session.channel": "changed a session's channel",
    "teacher.assign": "assigned a teacher",
    "teacher.claim": "claimed a session to lead",
    "teacher.release": "released a teacher",
    "alert.teachers": "asked teachers to lead a session",
    "alert.coordinators": "told coordinators a session has no teacher",
    "recordings.reload": "reloaded the recordings",
}
RECORDINGS_KEPT = "{problem}. Nothing was changed: the recordings in use stay as they were until the list is fixed."
