"""Slash-command options: the real bot on the loopback Discord, driven by Laila, Ana and Sam.

Each table row is a case run against one bot per group (the bot is started once per group and
every case is tried in turn; failures are collected with their case id and reported together).
A case is one of three outcomes:

- refused: the bot answers privately with words naming the option and what is allowed, the
  database (series, sessions, claims, sign-ups, members, feedback, audit, deliveries) is unchanged,
  and the apology for unexpected errors ("Something went wrong ... reference") never appears;
- by Discord: Discord itself refuses (an option's range, length or channel type; a command a
  member is not offered), so the bot never sees it, and nothing changes;
- accepted: a good control (emoji-only titles, mentions and markdown kept inert, a time in the
  daylight-saving gap read as RFC 5545 says, with a note) must succeed.

For every case, no message the bot sends pings @everyone, @here or a role, and only a DM may
mention a user (its own recipient).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.bot import PracticeCirclesBot
from bot.config import Config
from bot.model import Actor
from bot.schedule.rules import utc_to_pacific
from loopback import Sandbox, payloads
from loopback.harness import config_for_world
from loopback.people import ActionRefused, CommandUnavailable, Reply, SimulatedPerson
from loopback.world import Channel, ChannelType, Member
from tests.badinput.cases import (
    BOLD,
    EMOJI_TITLE,
    EVERYONE,
    EVIL_URL,
    FILE_URL,
    HERE,
    MASKED_LINK,
    NUL,
    RLO,
    TRAVERSAL,
    ZWSP,
    missing,
)

REFUSED, BY_DISCORD, ACCEPTED = "refused", "by Discord", "accepted"
PEOPLE = ("laila", "ana", "kofi", "sam", "priya")
FAR = dt.timedelta(days=800)
GENERIC = "Something went wrong"


def pacific_day(days_ahead: int) -> str:
    """A Pacific calendar date `days_ahead` from today, as YYYY-MM-DD."""
    return (utc_to_pacific(dt.datetime.now(dt.UTC)).date() + dt.timedelta(days=days_ahead)).isoformat()


def next_spring_forward() -> str:
    """The next Pacific spring-forward Sunday (second Sunday of March) that is still ahead, as YYYY-MM-DD."""
    today = utc_to_pacific(dt.datetime.now(dt.UTC)).date()
    for year in (today.year, today.year + 1):
        first = dt.date(year, 3, 1)
        sunday = first + dt.timedelta(days=(6 - first.weekday()) % 7 + 7)
        if sunday > today + dt.timedelta(days=2):
            return sunday.isoformat()
    raise AssertionError("there is always a spring-forward Sunday within a year")


DAY1, DAY2, LATER = pacific_day(1), pacific_day(2), pacific_day(9)
SPRING = next_spring_forward()
INVISIBLE = "invisible control character"
NOT_FOUND_SESSION = "I can't find session #"
NOT_FOUND_SERIES = "I can't find series #"
WEEKDAYS = "Use MON, TUE, WED, THU, FRI, SAT, SUN"
DATE_RANGE = "2000-01-01 to 2037-12-31"
SESSION_CHANNELS = "only take place in the session channels"
CATALOG = "is not in the course's catalog of practices"
UNKNOWN_RECORDING = "there is no approved recording"
UNUSABLE = ["given for", "isn't one the bot can use in this server", "another server", "Nothing was changed"]


@dataclass(frozen=True)
class Case:
    """One row of a table: who runs which command with which options, and what must happen."""

    name: str
    who: str
    command: str
    options: dict[str, Any]
    words: tuple[str, ...] = ()
    outcome: str = REFUSED


def refused(name: str, who: str, command: str, options: dict[str, Any], *words: str) -> Case:
    """A case the bot must refuse kindly, naming what was wrong."""
    return Case(name, who, command, options, words)


def by_discord(name: str, who: str, command: str, options: dict[str, Any]) -> Case:
    """A case Discord refuses before the bot sees it (ranges, lengths, channel types, hidden commands)."""
    return Case(name, who, command, options, (), BY_DISCORD)


def accepted(name: str, who: str, command: str, options: dict[str, Any], *words: str) -> Case:
    """A good control that must succeed."""
    return Case(name, who, command, options, words, ACCEPTED)


# --- the tables ----------------------------------------------------------------------------------------
# "$name" in an option is replaced by the group's object of that name (see `setup`).

CREATE = {
    "title": "Evening practice",
    "weekly": "MON,WED@18:30",
    "starts_on": DAY1,
    "duration": 45,
    "channel": "$stage",
}
ADD = {"start": f"{DAY2} 18:30", "duration": 30, "title": "Extra sit"}

SERIES_CASES = [
    refused("create-title-blank", "laila", "series create", {**CREATE, "title": "   "}, "the title is empty"),
    refused("create-title-101", "laila", "series create", {**CREATE, "title": "x" * 101}, "please keep it to 100"),
    refused(
        "create-title-5000",
        "laila",
        "series create",
        {**CREATE, "title": "x" * 5000},
        "5000 characters long",
        "please keep it to 100",
    ),
    refused("create-title-NUL", "laila", "series create", {**CREATE, "title": f"Eve{NUL}ning"}, INVISIBLE, "U+0000"),
    refused("create-title-bidi", "laila", "series create", {**CREATE, "title": f"{RLO}gninevE"}, INVISIBLE, "U+202E"),
    refused("create-title-zero-width", "laila", "series create", {**CREATE, "title": f"Eve{ZWSP}ning"}, "U+200B"),
    refused(
        "create-title-two-lines",
        "laila",
        "series create",
        {**CREATE, "title": "Evening\npractice"},
        "the title must be on one line",
    ),
    refused("create-weekly-25h00", "laila", "series create", {**CREATE, "weekly": "MON@25:00"}, "hours are 00-23"),
    refused("create-weekly-24h60", "laila", "series create", {**CREATE, "weekly": "MON@24:60"}, "hours are 00-23"),
    refused(
        "create-weekly-24h00",
        "laila",
        "series create",
        {**CREATE, "weekly": "MON@24:00"},
        "midnight is 00:00, not 24:00",
    ),
    refused("create-weekly-18h75", "laila", "series create", {**CREATE, "weekly": "MON@18:75"}, "minutes are 00-59"),
    refused(
        "create-weekly-funday",
        "laila",
        "series create",
        {**CREATE, "weekly": "FUNDAY@18:30"},
        "'FUNDAY' is not a weekday",
        WEEKDAYS,
    ),
    refused(
        "create-weekly-no-at",
        "laila",
        "series create",
        {**CREATE, "weekly": "MON 18:30"},
        "joined by @",
        "like MON,WED@18:30",
    ),
    refused("create-weekly-no-day", "laila", "series create", {**CREATE, "weekly": "@18:30"}, "names no day"),
    refused(
        "create-weekly-with-zone",
        "laila",
        "series create",
        {**CREATE, "weekly": "MON@18:30 PST"},
        "is not a time",
        "24-hour HH:MM",
    ),
    refused(
        "create-weekly-everyone", "laila", "series create", {**CREATE, "weekly": f"{EVERYONE}@18:30"}, "names no day"
    ),
    refused(
        "create-weekly-role-mention",
        "laila",
        "series create",
        {**CREATE, "weekly": "<@&$teacher_role>"},
        "is not a weekday",
    ),
    refused(
        "create-starts-30-february",
        "laila",
        "series create",
        {**CREATE, "starts_on": "2027-02-30"},
        "February 2027 has 28 days",
        "01-28",
    ),
    refused(
        "create-starts-month-13", "laila", "series create", {**CREATE, "starts_on": "2027-13-01"}, "months are 01-12"
    ),
    refused(
        "create-starts-year-0",
        "laila",
        "series create",
        {**CREATE, "starts_on": "0000-01-01"},
        "outside the dates the bot can schedule",
        DATE_RANGE,
    ),
    refused(
        "create-starts-2038",
        "laila",
        "series create",
        {**CREATE, "starts_on": "2038-01-04"},
        "outside the dates",
        "after 2037",
    ),
    refused(
        "create-starts-word",
        "laila",
        "series create",
        {**CREATE, "starts_on": "next monday"},
        "is not a date",
        "YYYY-MM-DD",
    ),
    refused(
        "create-until-before-start",
        "laila",
        "series create",
        {**CREATE, "until": "2020-01-01"},
        "is before the start date",
    ),
    refused(
        "create-until-30-february",
        "laila",
        "series create",
        {**CREATE, "until": "2027-02-30"},
        "February 2027 has 28 days",
    ),
    refused(
        "create-channel-not-a-session-channel",
        "laila",
        "series create",
        {**CREATE, "channel": "$coffee"},
        SESSION_CHANNELS,
        "[channels] sessions",
    ),
    refused("create-practice-url", "laila", "series create", {**CREATE, "practice": EVIL_URL}, CATALOG),
    refused("create-practice-traversal", "laila", "series create", {**CREATE, "practice": TRAVERSAL}, CATALOG),
    refused("create-practice-empty", "laila", "series create", {**CREATE, "practice": ""}, CATALOG),
    by_discord("create-duration-zero", "laila", "series create", {**CREATE, "duration": 0}),
    by_discord("create-duration-negative", "laila", "series create", {**CREATE, "duration": -5}),
    by_discord("create-duration-241", "laila", "series create", {**CREATE, "duration": 241}),
    by_discord("create-duration-huge", "laila", "series create", {**CREATE, "duration": 10**9}),
    by_discord("create-duration-float", "laila", "series create", {**CREATE, "duration": 45.5}),
    by_discord("create-interval-zero", "laila", "series create", {**CREATE, "interval": 0}),
    by_discord("create-interval-53", "laila", "series create", {**CREATE, "interval": 53}),
    by_discord("create-channel-text", "laila", "series create", {**CREATE, "channel": "$general"}),
    by_discord("create-as-member", "sam", "series create", CREATE),
    by_discord("create-as-teacher", "ana", "series create", CREATE),
    refused("edit-unknown-series", "laila", "series edit", {"series": 999999, "title": "x"}, NOT_FOUND_SERIES),
    refused("edit-series-zero", "laila", "series edit", {"series": 0, "title": "x"}, NOT_FOUND_SERIES),
    refused("edit-series-negative", "laila", "series edit", {"series": -1, "title": "x"}, NOT_FOUND_SERIES),
    refused("edit-nothing", "laila", "series edit", {"series": "$series"}, "Nothing to change"),
    refused("edit-title-bidi", "laila", "series edit", {"series": "$series", "title": f"x{RLO}"}, "U+202E"),
    refused("edit-title-101", "laila", "series edit", {"series": "$series", "title": "y" * 101}, "keep it to 100"),
    refused(
        "edit-weekly-25h00", "laila", "series edit", {"series": "$series", "weekly": "TUE@25:00"}, "hours are 00-23"
    ),
    refused("edit-weekly-empty", "laila", "series edit", {"series": "$series", "weekly": ""}, "joined by @"),
    refused(
        "edit-channel-not-session",
        "laila",
        "series edit",
        {"series": "$series", "channel": "$coffee"},
        SESSION_CHANNELS,
    ),
    refused("edit-practice-url", "laila", "series edit", {"series": "$series", "practice": FILE_URL}, CATALOG),
    refused("pause-unknown", "laila", "series pause", {"series": 999999}, NOT_FOUND_SERIES),
    refused("resume-active", "laila", "series resume", {"series": "$series"}, "is active, not paused"),
    refused("end-huge-id", "laila", "series end", {"series": 2**53}, NOT_FOUND_SERIES),
    accepted(
        "create-emoji-only-title",
        "laila",
        "series create",
        {**CREATE, "title": EMOJI_TITLE, "starts_on": LATER},
        f"Created the series **{EMOJI_TITLE}**",
    ),
    accepted(
        "create-mentions-and-markdown-inert",
        "laila",
        "series create",
        {**CREATE, "title": f"{EVERYONE} <@&$teacher_role> {BOLD} {MASKED_LINK}", "starts_on": LATER},
        "@\u200beveryone",
        "<\u200b@&",
        "\\*\\*loud\\*\\*",
        "\\[free gift\\]",
    ),
    accepted(
        "create-in-the-dst-gap",
        "laila",
        "series create",
        {**CREATE, "title": "Early sit", "weekly": "SUN@02:30", "starts_on": LATER},
        "Every Sunday at 02:30 Pacific time",
        "does not exist on",
        "read as 03:30 PDT",
    ),
]

SESSION_CASES = [
    refused(
        "add-30-february", "laila", "session add", {**ADD, "start": "2027-02-30 18:30"}, "February 2027 has 28 days"
    ),
    refused("add-25h00", "laila", "session add", {**ADD, "start": f"{DAY2} 25:00"}, "hours are 00-23"),
    refused("add-24h60", "laila", "session add", {**ADD, "start": f"{DAY2} 24:60"}, "hours are 00-23"),
    refused("add-24h00", "laila", "session add", {**ADD, "start": f"{DAY2} 24:00"}, "midnight is 00:00"),
    refused("add-words", "laila", "session add", {**ADD, "start": "tomorrow 18:30"}, "'tomorrow' is not a date"),
    refused(
        "add-empty-start", "laila", "session add", {**ADD, "start": ""}, "is not a date and time", "YYYY-MM-DD HH:MM"
    ),
    refused("add-url-as-start", "laila", "session add", {**ADD, "start": EVIL_URL}, "is not a date and time"),
    refused(
        "add-with-PST",
        "laila",
        "session add",
        {**ADD, "start": f"{DAY2} 18:30 PST"},
        "has a time zone or offset",
        "Pacific wall-clock time without one",
    ),
    refused("add-with-Z", "laila", "session add", {**ADD, "start": f"{DAY2}T18:30Z"}, "has a time zone or offset"),
    refused(
        "add-with-UTC+3", "laila", "session add", {**ADD, "start": f"{DAY2} 18:30+03:00"}, "has a time zone or offset"
    ),
    refused(
        "add-in-the-past",
        "laila",
        "session add",
        {**ADD, "start": "2020-01-06 18:30"},
        "is already in the past",
        "future time",
    ),
    refused(
        "add-year-0", "laila", "session add", {**ADD, "start": "0000-01-01 10:00"}, "outside the dates", DATE_RANGE
    ),
    refused("add-2038", "laila", "session add", {**ADD, "start": "2038-01-04 10:00"}, "outside the dates"),
    refused("add-title-NUL", "laila", "session add", {**ADD, "title": f"Tea{NUL}"}, INVISIBLE, "U+0000"),
    refused("add-title-zero-width", "laila", "session add", {**ADD, "title": f"T{ZWSP}ea"}, INVISIBLE, "U+200B"),
    refused("add-title-101", "laila", "session add", {**ADD, "title": "z" * 101}, "keep it to 100"),
    refused("add-title-blank", "laila", "session add", {**ADD, "title": "    "}, "the title is empty"),
    refused("add-channel-not-session", "laila", "session add", {**ADD, "channel": "$coffee"}, SESSION_CHANNELS),
    refused("add-practice-file-url", "laila", "session add", {**ADD, "practice": FILE_URL}, CATALOG),
    by_discord("add-duration-9", "laila", "session add", {**ADD, "duration": 9}),
    by_discord("add-duration-zero", "laila", "session add", {**ADD, "duration": 0}),
    by_discord("add-channel-text", "laila", "session add", {**ADD, "channel": "$general"}),
    refused(
        "cancel-reason-blank", "laila", "session cancel", {"session": "$open", "reason": "   "}, "the reason is empty"
    ),
    refused("cancel-reason-NUL", "laila", "session cancel", {"session": "$open", "reason": f"ill{NUL}"}, "U+0000"),
    refused("cancel-reason-bidi", "laila", "session cancel", {"session": "$open", "reason": f"{RLO}llI"}, "U+202E"),
    refused("cancel-unknown", "laila", "session cancel", {"session": 999999, "reason": "x"}, NOT_FOUND_SESSION),
    refused("cancel-negative", "laila", "session cancel", {"session": -1, "reason": "x"}, NOT_FOUND_SESSION),
    by_discord("cancel-reason-empty", "laila", "session cancel", {"session": "$open", "reason": ""}),
    by_discord("cancel-reason-301", "laila", "session cancel", {"session": "$open", "reason": "r" * 301}),
    refused(
        "move-30-february",
        "laila",
        "session move",
        {"session": "$open", "start": "2027-02-30 10:00"},
        "February 2027 has 28 days",
    ),
    refused("move-25h00", "laila", "session move", {"session": "$open", "start": f"{DAY2} 25:00"}, "hours are 00-23"),
    refused(
        "move-to-the-past",
        "laila",
        "session move",
        {"session": "$open", "start": "2021-05-05 10:00"},
        "already in the past",
    ),
    refused(
        "move-same-time", "laila", "session move", {"session": "$open", "start": "$open_start"}, "already at that time"
    ),
    refused(
        "move-with-offset-words",
        "laila",
        "session move",
        {"session": "$open", "start": f"{DAY2} 10:00 UTC+3"},
        "is not a date and time",
    ),
    refused("move-unknown", "laila", "session move", {"session": 999999, "start": f"{LATER} 10:00"}, NOT_FOUND_SESSION),
    refused(
        "channel-not-session", "laila", "session channel", {"session": "$open", "channel": "$coffee"}, SESSION_CHANNELS
    ),
    refused(
        "channel-same", "laila", "session channel", {"session": "$open", "channel": "$stage"}, "already in that channel"
    ),
    refused(
        "channel-unknown-session",
        "laila",
        "session channel",
        {"session": 999999, "channel": "$quiet"},
        NOT_FOUND_SESSION,
    ),
    by_discord("channel-text", "laila", "session channel", {"session": "$open", "channel": "$general"}),
    refused(
        "assign-a-member",
        "laila",
        "session assign",
        {"session": "$open", "teacher": "sam"},
        "doesn't hold the teacher role",
    ),
    refused(
        "assign-the-bot",
        "laila",
        "session assign",
        {"session": "$open", "teacher": "$bot"},
        "doesn't hold the teacher role",
    ),
    refused("assign-unknown", "laila", "session assign", {"session": 999999, "teacher": "ana"}, NOT_FOUND_SESSION),
    refused(
        "assign-cancelled", "laila", "session assign", {"session": "$cancelled", "teacher": "ana"}, "was cancelled"
    ),
    refused(
        "unassign-reason-blank",
        "laila",
        "session unassign",
        {"session": "$claimed", "reason": " "},
        "the reason is empty",
    ),
    refused(
        "unassign-reason-bidi", "laila", "session unassign", {"session": "$claimed", "reason": f"a{RLO}b"}, "U+202E"
    ),
    refused(
        "unassign-no-teacher",
        "laila",
        "session unassign",
        {"session": "$open", "reason": "tidy"},
        "has no teacher at the moment",
    ),
    by_discord("session-as-member", "sam", "session cancel", {"session": "$open", "reason": "x"}),
    by_discord("audit-limit-zero", "laila", "report audit", {"limit": 0}),
    by_discord("audit-limit-51", "laila", "report audit", {"limit": 51}),
    by_discord("popularity-weeks-zero", "laila", "report popularity", {"weeks": 0}),
    by_discord("csv-weeks-53", "laila", "report csv", {"weeks": 53}),
    accepted(
        "add-in-the-dst-gap",
        "laila",
        "session add",
        {**ADD, "start": f"{SPRING} 02:30"},
        "03:30 PDT",
        "does not exist on",
        "read as 03:30 PDT",
    ),
    accepted(
        "add-emoji-only-title",
        "laila",
        "session add",
        {**ADD, "start": f"{LATER} 09:00", "title": EMOJI_TITLE},
        f"Added **{EMOJI_TITLE}**",
    ),
    accepted(
        "cancel-reason-with-mentions",
        "laila",
        "session cancel",
        {"session": "$extra", "reason": f"{EVERYONE} {HERE} <@&$teacher_role> <@$sam> {BOLD}"},
        "Cancelled",
        "1 member(s) who signed up are being told",
    ),
]

TEACHER_CASES = [
    refused("claim-unknown", "ana", "teach claim", {"session": 999999}, NOT_FOUND_SESSION),
    refused("claim-zero", "ana", "teach claim", {"session": 0}, NOT_FOUND_SESSION),
    refused("claim-cancelled", "ana", "teach claim", {"session": "$cancelled"}, "was cancelled"),
    refused("claim-taken", "kofi", "teach claim", {"session": "$claimed"}, "Another teacher has just claimed"),
    refused("claim-as-member", "sam", "teach claim", {"session": "$open"}, "Only teachers can claim"),
    refused(
        "release-reason-blank", "ana", "teach release", {"session": "$claimed", "reason": "   "}, "the reason is empty"
    ),
    refused(
        "release-reason-NUL",
        "ana",
        "teach release",
        {"session": "$claimed", "reason": f"ill{NUL}"},
        INVISIBLE,
        "U+0000",
    ),
    refused(
        "release-reason-zero-width", "ana", "teach release", {"session": "$claimed", "reason": f"i{ZWSP}ll"}, "U+200B"
    ),
    refused(
        "release-reason-two-lines",
        "ana",
        "teach release",
        {"session": "$claimed", "reason": "ill\nsorry"},
        "must be on one line",
    ),
    refused(
        "release-not-claimed",
        "ana",
        "teach release",
        {"session": "$open", "reason": "ill"},
        "has no teacher at the moment",
    ),
    refused(
        "release-someone-elses",
        "kofi",
        "teach release",
        {"session": "$claimed", "reason": "ill"},
        "held by another teacher",
    ),
    refused(
        "release-as-member",
        "sam",
        "teach release",
        {"session": "$claimed", "reason": "ill"},
        "Only teachers can claim or release",
    ),
    by_discord("release-reason-empty", "ana", "teach release", {"session": "$claimed", "reason": ""}),
    by_discord("release-reason-301", "ana", "teach release", {"session": "$claimed", "reason": "r" * 301}),
    refused("practice-url", "ana", "teach practice", {"session": "$claimed", "practice": EVIL_URL}, CATALOG),
    refused("practice-traversal", "ana", "teach practice", {"session": "$claimed", "practice": TRAVERSAL}, CATALOG),
    refused("practice-file-url", "ana", "teach practice", {"session": "$claimed", "practice": FILE_URL}, CATALOG),
    refused("practice-empty", "ana", "teach practice", {"session": "$claimed", "practice": ""}, CATALOG),
    refused("practice-mention", "ana", "teach practice", {"session": "$claimed", "practice": EVERYONE}, CATALOG),
    refused(
        "practice-not-claimed",
        "ana",
        "teach practice",
        {"session": "$open", "practice": "Silent Sit"},
        "Please claim the session first",
    ),
    refused(
        "practice-as-member",
        "sam",
        "teach practice",
        {"session": "$claimed", "practice": "Silent Sit"},
        "Only teachers",
    ),
    by_discord("open-days-zero", "ana", "teach open", {"days": 0}),
    by_discord("open-days-29", "ana", "teach open", {"days": 29}),
    accepted(
        "practice-any-case", "ana", "teach practice", {"session": "$claimed", "practice": "silent   SIT"}, "Silent Sit"
    ),
    accepted("claim-own-again", "ana", "teach claim", {"session": "$claimed"}, "Tea time"),
    accepted(
        "release-reason-with-mentions",
        "ana",
        "teach release",
        {"session": "$claimed", "reason": f"{EVERYONE} <@&$teacher_role> <@$sam> {BOLD} {MASKED_LINK}"},
        "Tea time",
    ),
]

MEMBER_CASES = [
    refused("signup-unknown", "sam", "signup", {"session": 999999}, NOT_FOUND_SESSION),
    refused("signup-zero", "sam", "signup", {"session": 0}, NOT_FOUND_SESSION),
    refused("signup-most-negative", "sam", "signup", {"session": -(2**53)}, NOT_FOUND_SESSION),
    refused("signup-cancelled", "sam", "signup", {"session": "$cancelled"}, "was cancelled"),
    refused("signup-both", "sam", "signup", {"session": "$open", "series": "$series"}, "either a session or a whole"),
    refused("signup-neither", "sam", "signup", {}, "either a session or a whole series"),
    refused("signup-unknown-series", "sam", "signup", {"series": 999999}, NOT_FOUND_SERIES),
    refused("signout-unknown", "sam", "signout", {"session": 999999}, NOT_FOUND_SESSION),
    refused("signout-neither", "sam", "signout", {}, "either one of your sessions or one of your series"),
    refused("signout-unknown-series", "sam", "signout", {"series": 2**53}, NOT_FOUND_SERIES),
    refused("calendar-unknown-series", "sam", "calendar file", {"series": 999999}, NOT_FOUND_SERIES),
    refused("timezone-PST", "sam", "settings timezone", {"name": "PST"}, "abbreviation", "America/Los_Angeles"),
    refused("timezone-UTC+3", "sam", "settings timezone", {"name": "UTC+3"}, "fixed offset", "Etc/GMT-3"),
    refused("timezone-EST5EDT", "sam", "settings timezone", {"name": "EST5EDT"}, "abbreviation", "America/New_York"),
    refused(
        "timezone-Mars",
        "sam",
        "settings timezone",
        {"name": "Mars/Olympus"},
        "isn't a time zone name the bot knows",
        "named after a place",
    ),
    refused("timezone-blank", "sam", "settings timezone", {"name": "   "}, "Please give a time zone", "Europe/London"),
    refused("timezone-NUL", "sam", "settings timezone", {"name": f"Europe/London{NUL}"}, "isn't a time zone name"),
    refused("timezone-bidi", "sam", "settings timezone", {"name": f"{RLO}nodnoL/eporuE"}, "isn't a time zone name"),
    refused(
        "timezone-overlong", "sam", "settings timezone", {"name": "Europe/" + "x" * 200}, "isn't a time zone name", "…"
    ),
    refused("timezone-traversal", "sam", "settings timezone", {"name": TRAVERSAL}, "isn't a time zone name"),
    refused(
        "timezone-posix-prefix",
        "sam",
        "settings timezone",
        {"name": "posix/Europe/London"},
        "isn't a time zone name",
        "Europe/London",
    ),
    refused("timezone-localtime", "sam", "settings timezone", {"name": "localtime"}, "isn't a time zone name"),
    refused("timezone-mention", "sam", "settings timezone", {"name": EVERYONE}, "isn't a time zone name"),
    refused(
        "timezone-half-hour-offset", "sam", "settings timezone", {"name": "UTC+14:30"}, "fixed offset", "nearest city"
    ),
    refused("timezone-GMT-13", "sam", "settings timezone", {"name": "GMT-13"}, "fixed offset", "nearest city"),
    refused(
        "timezone-and-clear",
        "sam",
        "settings timezone",
        {"name": "Europe/Paris", "clear": True},
        "either give a time zone name or choose clear",
    ),
    by_discord("schedule-days-zero", "sam", "schedule", {"days": 0}),
    by_discord("schedule-days-29", "sam", "schedule", {"days": 29}),
    by_discord("series-as-member", "sam", "series list", {}),
    accepted("timezone-lower-case", "sam", "settings timezone", {"name": "europe/london"}, "**Europe/London**"),
    accepted(
        "timezone-spaces-for-underscores",
        "priya",
        "settings timezone",
        {"name": "america/argentina/buenos aires"},
        "**America/Argentina/Buenos_Aires**",
    ),
    accepted("signup-and-signout", "priya", "signup", {"session": "$open"}, "You're signed up for"),
]

FEEDBACK_CASES = [
    refused("feedback-blank", "sam", "feedback", {"text": "    "}, "the feedback is empty"),
    refused("feedback-NUL", "sam", "feedback", {"text": f"thanks{NUL}"}, INVISIBLE, "U+0000"),
    refused("feedback-bidi", "sam", "feedback", {"text": f"{RLO}sknaht"}, INVISIBLE, "U+202E"),
    refused("feedback-zero-width", "sam", "feedback", {"text": f"than{ZWSP}ks"}, INVISIBLE, "U+200B"),
    by_discord("feedback-1501", "sam", "feedback", {"text": "f" * 1501}),
    accepted(
        "feedback-mentions-inert",
        "sam",
        "feedback",
        {"text": f"{EVERYONE} {HERE} <@&$teacher_role> <@$ana> {BOLD} {MASKED_LINK}\nthank you"},
    ),
    accepted("feedback-emoji-only", "priya", "feedback", {"text": EMOJI_TITLE}),
]

ROOM_CASES = [
    refused("play-https-url", "ana", "room play", {"recording": EVIL_URL}, UNKNOWN_RECORDING, "approved ids: bell"),
    refused("play-traversal", "ana", "room play", {"recording": TRAVERSAL}, UNKNOWN_RECORDING, "approved ids: bell"),
    refused("play-file-url", "ana", "room play", {"recording": FILE_URL}, UNKNOWN_RECORDING),
    refused("play-file-name", "ana", "room play", {"recording": "audio/bell.ogg"}, UNKNOWN_RECORDING),
    refused("play-empty", "ana", "room play", {"recording": ""}, UNKNOWN_RECORDING),
    refused("play-NUL", "ana", "room play", {"recording": f"bell{NUL}"}, UNKNOWN_RECORDING),
    refused("play-mention", "ana", "room play", {"recording": EVERYONE}, UNKNOWN_RECORDING),
    refused("play-as-member", "sam", "room play", {"recording": "bell"}, "was changed"),
    refused("play-not-in-voice", "kofi", "room play", {"recording": "bell"}, "Please join the session's voice"),
]

FOREIGN_CASES = [
    refused(
        "create-channel-of-another-guild",
        "laila",
        "series create",
        {**CREATE, "channel": "$foreign"},
        "The channel given for “channel”",
        *UNUSABLE,
    ),
    refused(
        "edit-channel-of-another-guild",
        "laila",
        "series edit",
        {"series": "$series", "channel": "$foreign"},
        "The channel given for “channel”",
        *UNUSABLE,
    ),
    refused(
        "add-channel-of-another-guild",
        "laila",
        "session add",
        {**ADD, "channel": "$foreign"},
        "The channel given for “channel”",
        *UNUSABLE,
    ),
    refused(
        "channel-of-another-guild",
        "laila",
        "session channel",
        {"session": "$open", "channel": "$foreign"},
        "The channel given for “channel”",
        *UNUSABLE,
    ),
    refused(
        "assign-someone-not-in-the-guild",
        "laila",
        "session assign",
        {"session": "$open", "teacher": "$stranger"},
        "The member given for “teacher”",
        *UNUSABLE,
    ),
]


# --- running the cases ------------------------------------------------------------------------------


@dataclass
class Group:
    """A bot with a schedule to act on, and the objects the tables name with '$'."""

    sandbox: Sandbox
    bot: PracticeCirclesBot
    objects: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


@pytest.fixture
def practice_config(sandbox: Sandbox, tmp_path: Path) -> Config:
    """The default world plus a voice channel that is not one of the session channels."""
    world = sandbox.world
    stage, quiet = world.find_channel("Practice Circle"), world.find_channel("Quiet Sitting")
    world.add_channel("Coffee Corner", ChannelType.GUILD_VOICE, position=3)
    return config_for_world(world, tmp_path / "practice", sections={"channels": {"sessions": [stage.id, quiet.id]}})


def actor(sandbox: Sandbox, name: str) -> Actor:
    """A person as the core sees them."""
    member = sandbox.world.find_member(name)
    return Actor.of(member.id, member.roles)


async def setup(sandbox: Sandbox, bot: PracticeCirclesBot, monkeypatch: pytest.MonkeyPatch) -> Group:
    """A series, an unclaimed session, one claimed by Ana, a cancelled one, one Sam signed up for."""
    world, sessions = sandbox.world, bot.core.sessions
    laila = actor(sandbox, "laila")
    series, _ = await sessions.create_series(
        laila, title="Existing series", weekly="MON,THU@18:30", starts_on=pacific_day(3), duration_minutes=45
    )
    first = (await sessions.upcoming_in_series(series.id))[0]

    async def one_off(days: int, title: str) -> int:
        occurrence = await sessions.add_session(
            laila, start=f"{pacific_day(days)} 11:00", duration_minutes=30, title=title
        )
        return occurrence.id

    claimed, cancelled, extra = await one_off(5, "Tea time"), await one_off(6, "Gone"), await one_off(4, "Extra")
    await sessions.claim(actor(sandbox, "ana"), claimed)
    await sessions.cancel_session(laila, cancelled, "Closed")
    await sessions.sign_up(world.find_member("sam").id, extra)
    foreign = Channel(
        id=world.snowflakes.next(), type=ChannelType.GUILD_VOICE, name="Elsewhere", guild_id=world.snowflakes.next()
    )
    stranger = Member(user=world.add_user("stranger", "Stranger"), roles=[], joined_at=world.now())
    person = sandbox.person("laila")
    resolve_user = person._resolve_user

    def as_discord_resolves(member: Member, resolved: dict[str, dict[str, Any]], channel: Channel) -> None:
        # Someone not in the guild comes with a user entry only, as Discord sends it.
        if member is stranger:
            resolved.setdefault("users", {})[str(member.id)] = payloads.user(member.user)
        else:
            resolve_user(member, resolved, channel)

    monkeypatch.setattr(person, "_resolve_user", as_discord_resolves)
    objects = {
        "series": series.id,
        "open": first.id,
        "open_start": f"{utc_to_pacific(first.start_utc):%Y-%m-%d %H:%M}",
        "claimed": claimed,
        "cancelled": cancelled,
        "extra": extra,
        "stage": world.find_channel("Practice Circle").id,
        "quiet": world.find_channel("Quiet Sitting").id,
        "coffee": world.find_channel("Coffee Corner").id,
        "general": world.find_channel("general").id,
        "teacher_role": world.find_role("Teacher").id,
        "sam": world.find_member("sam").id,
        "ana": world.find_member("ana").id,
        "bot": world.bot_user.id,
        "foreign": foreign,
        "stranger": stranger,
    }
    return Group(sandbox, bot, objects)


def resolve(value: Any, objects: dict[str, Any]) -> Any:
    """An option value with '$name' placeholders replaced by the group's objects."""
    if not isinstance(value, str) or "$" not in value:
        return value
    if value.startswith("$") and value[1:] in objects:
        return objects[value[1:]]
    for name in sorted(objects, key=len, reverse=True):
        value = value.replace(f"${name}", str(objects[name]))
    return value


async def state(group: Group) -> tuple[Any, ...]:
    """Everything a command could change: series, sessions, claims, sign-ups, members, feedback, audit, ledger."""
    db = group.bot.core.db
    now = dt.datetime.now(dt.UTC)
    series = await db.list_series()
    occurrences = await db.list_occurrences(now - FAR, now + FAR)
    return (
        series,
        occurrences,
        [await db.get_teacher_claim(o.id) for o in occurrences],
        [await db.list_signups(o.id) for o in occurrences],
        [await db.series_signup_user_ids(s.id) for s in series],
        [await db.get_member(group.sandbox.world.find_member(name).id) for name in PEOPLE],
        await db.list_feedback(),
        await db.list_audit(limit=None),
        await db.count_deliveries(),
    )


def pings(group: Group, known: set[int]) -> list[str]:
    """Mentions that would notify someone in the messages the bot sent since `known` (DM recipients excepted)."""
    world = group.sandbox.world
    found = []
    for message in list(world.messages.values()):
        if message.id in known or message.author_id != world.bot_user.id:
            continue
        users, roles, everyone = payloads.mentions(world, message)
        recipient = world.dm_recipient(world.channel(message.channel_id))
        others = [user for user in users if recipient is None or user != recipient.id]
        if everyone or roles or others:
            found.append(f"message {message.content[:80]!r} pings everyone={everyone} roles={roles} users={others}")
    return found


async def answer(person: SimulatedPerson, case: Case, options: dict[str, Any]) -> Reply:
    """Run the case's command (or fill in the feedback form) and wait for the reply the person sees."""
    if case.command == "feedback":
        form = await (await person.run_command("feedback")).response()
        assert form.modal is not None, f"/feedback answered with {form.kind}"
        return await (await person.submit_modal(form.modal["custom_id"], options)).response()
    group, _, sub = case.command.partition(" ")
    return await (await person.run_command(group, options, subcommand=sub or None)).response()


async def attempt(group: Group, case: Case) -> None:
    """Run one case; add what went wrong (if anything) to the group's failures."""
    person = group.sandbox.person(case.who)
    options = {name: resolve(value, group.objects) for name, value in case.options.items()}
    before = await state(group)
    known = set(group.sandbox.world.messages)
    problems: list[str] = []
    if case.outcome == BY_DISCORD:
        try:
            await answer(person, case, options)
        except (ValueError, CommandUnavailable, ActionRefused):
            pass
        else:
            problems.append("Discord should have refused this before the bot saw it")
    else:
        reply = await answer(person, case, options)
        text = reply.text
        if not reply.ephemeral:
            problems.append("the reply is not private (ephemeral)")
        if GENERIC in text:
            problems.append("the reply is the apology for unexpected errors")
        if missing(text, case.words):
            problems.append(f"the reply lacks {missing(text, case.words)}: {text[:300]!r}")
        if case.outcome == REFUSED and text.startswith("✅"):
            problems.append("the bot accepted it")
    problems += pings(group, known)
    if case.outcome != ACCEPTED and await state(group) != before:
        problems.append("the database changed")
    if problems:
        shown = "; ".join(problems)
        group.failures.append(f"[{case.name}] {case.who} /{case.command} {case.options}: {shown}")


async def run_table(group: Group, cases: list[Case]) -> None:
    """Try every case in order (good controls last, as they change the schedule)."""
    ordered = [c for c in cases if c.outcome != ACCEPTED] + [c for c in cases if c.outcome == ACCEPTED]
    for case in ordered:
        try:
            await attempt(group, case)
        except Exception as error:  # a timeout or crash in one case must not hide the others
            group.failures.append(f"[{case.name}] raised {type(error).__name__}: {error}")


def unexpected_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Errors the bot logged as unexpected (each one a reference id given to someone)."""
    return [r.getMessage() for r in caplog.records if r.name == "bot.adapters.bot" and r.levelno >= logging.ERROR]


TABLES: dict[str, list[Case]] = {
    "series": SERIES_CASES,
    "session-and-reports": SESSION_CASES,
    "teachers": TEACHER_CASES,
    "members": MEMBER_CASES,
    "feedback": FEEDBACK_CASES,
    "other-guilds-objects": FOREIGN_CASES,
}


@pytest.mark.parametrize("table", list(TABLES))
async def test_bad_options_are_refused_kindly_and_change_nothing(
    sandbox: Sandbox,
    practice: PracticeCirclesBot,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    table: str,
) -> None:
    group = await setup(sandbox, practice, monkeypatch)
    await run_table(group, TABLES[table])
    assert not group.failures, f"{len(group.failures)} of {len(TABLES[table])} case(s) failed:\n" + "\n".join(
        group.failures
    )
    assert not unexpected_errors(caplog), "the one error handler logged unexpected errors"


async def test_room_play_takes_only_an_approved_recording_id(
    sandbox: Sandbox, practice: PracticeCirclesBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    group = await setup(sandbox, practice, monkeypatch)
    db, quiet = practice.core.db, sandbox.world.find_channel("Quiet Sitting")
    # A session Ana is leading right now in Quiet Sitting, with Ana and Sam in the channel.
    session = await db.add_one_off(
        start=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2), duration_minutes=30, channel_id=quiet.id, title="Now"
    )
    await db.start_run(session.id, "voice")
    await db.set_phase(session.id, "teacher_led")
    await db.claim_teacher(session.id, sandbox.person("ana").id)
    guild = practice.get_guild(sandbox.world.guild.id)
    assert guild is not None
    for name in ("ana", "sam"):
        person = sandbox.person(name)
        await person.join_voice(quiet)
        await sandbox.wait_until(
            lambda who=person.id: (m := guild.get_member(who)) is not None and m.voice is not None,
            what=f"the bot to see {name} in voice",
            # Generous: on a loaded 2-core CI machine the voice-state dispatch can lag behind.
            timeout=20,
        )
    await run_table(group, ROOM_CASES)
    assert not group.failures, "\n".join(group.failures)
    assert not unexpected_errors(caplog)
    assert await practice.core.runner.running_in(quiet.id) is not None


def test_the_tables_hold_enough_cases_and_controls() -> None:
    every = [case for cases in (*TABLES.values(), ROOM_CASES) for case in cases]
    assert len({case.name for case in every}) == len(every), "case ids are unique"
    assert sum(case.outcome == ACCEPTED for case in every) >= 10
    assert len(every) >= 150
