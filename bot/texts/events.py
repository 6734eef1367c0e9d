"""User-facing text for the sessions' Discord scheduled events (what members read in the Events list)."""

from __future__ import annotations

# The event's description. Discord shows the start above it in each reader's own time zone, so the
# text gives the schedule's own zone: US Pacific. Discord allows 1000 characters.
EVENT_DESCRIPTION = (
    "{start} until {end}, US Pacific time. Discord shows the start above in your own time zone.\n\n"
    "A free, drop-in mindful self-compassion practice session, open to everyone. Everyone is welcome "
    "to leave at any time, without blame or explanation; taking care of yourself comes first.\n\n"
    "{practice}"
    "Marking yourself Interested signs you up for session #{id}: you will get reminders and hear about "
    "any change. Taking the mark back undoes that sign-up; a sign-up made another way stays until `/signout`."
)
EVENT_PRACTICE = "Practice: {practice}.\n\n"

# Shown to server admins in the audit log next to each change the mirror makes.
EVENT_AUDIT_REASON = "Practice Circles: the event for practice session #{id}"
