"""config.toml -> a validated Config; the Discord token comes from the environment only.

Everything is checked in one pass and every problem is reported at once, in plain words that name
the dotted key (`sessions.grace_minutes`) and say what is allowed. Pydantic does the walking;
`_translate` is the one place where its findings become our messages.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot import texts
from bot.errors import ConfigError, ConfigErrors
from bot.validation import invisible_character

PACIFIC = "America/Los_Angeles"
# Names of environment variables, not secrets.
TOKEN_VARIABLE = "DISCORD_TOKEN"  # noqa: S105
TOKEN_FILE_VARIABLE = "DISCORD_TOKEN_FILE"  # noqa: S105
WELCOME_MARKER = "On behalf of CMSC"
# Discord refuses messages over 2000 characters; leave room for the bot's own lines around the words.
WELCOME_MAX_CHARS = 1800
# Snowflakes are unsigned 64-bit integers.
SNOWFLAKE_MAX = 2**64 - 1
# The ids and link host used in config.example.toml; `Config.placeholders()` finds any left in place.
EXAMPLE_IDS = frozenset(int(str(digit) * 18) for digit in range(1, 10))
EXAMPLE_HOSTS = frozenset({"example.org", "example.com", "example.net"})

_ERROR_TYPE = "practice_circles"
# A DNS host name: dot-separated labels of letters, digits and inner hyphens.
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_HOST_LABEL}(?:\.{_HOST_LABEL})*")


def _fail(reason: str, key: str | None = None) -> PydanticCustomError:
    """Build a validation error carrying our own wording (and, for cross-field checks, the key)."""
    context: dict[str, Any] = {"reason": reason}
    if key is not None:
        context["key"] = key
    # The template only echoes the context, so braces inside `reason` are never interpreted.
    return PydanticCustomError(_ERROR_TYPE, "{reason}", context)


def _describe(value: Any) -> str:
    """Show a value the way a TOML user would recognise it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"{value!r} (text)"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, dict):
        return "a [section]"
    return f"a {type(value).__name__}"


# --- reusable checks -----------------------------------------------------------------------------


def _snowflake(value: Any) -> int:
    """Accept a Discord id as a positive whole number, or as digits in quotes (as people paste them)."""
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= SNOWFLAKE_MAX:
        raise _fail(
            "must be a Discord id: a positive whole number such as 123456789012345678 "
            f"(in Discord, turn on Developer Mode, right-click and choose Copy ID), got {_describe(value)}"
        )
    return value


def _snowflake_list(value: Any) -> list[int]:
    """A non-empty list of distinct Discord ids."""
    if not isinstance(value, list) or not value:
        raise _fail(f"must be a list of one or more Discord ids, like [123456789012345678], got {_describe(value)}")
    ids: list[int] = []
    for item in value:
        try:
            ids.append(_snowflake(item))
        except PydanticCustomError:
            raise _fail(
                f"must list Discord ids (positive whole numbers such as 123456789012345678); "
                f"{_describe(item)} is not one"
            ) from None
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise _fail(f"lists {duplicates[0]} more than once; list each channel once")
    return ids


def _whole(low: int, high: int, unit: str) -> Callable[[Any], int]:
    """Build a check for a whole number between low and high inclusive."""

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(f"must be a whole number of {unit} between {low} and {high}, got {_describe(value)}")
        if not low <= value <= high:
            raise _fail(f"must be between {low} and {high} {unit}, got {value}")
        return value

    return check


def _whole_list(low: int, high: int, unit: str, *, allow_empty: bool) -> Callable[[Any], list[int]]:
    """Build a check for a list of distinct whole numbers, each between low and high."""

    def check(value: Any) -> list[int]:
        example = f"[{low}, {high}]" if low != high else f"[{low}]"
        if not isinstance(value, list) or (not value and not allow_empty):
            need = "a list" if allow_empty else "a list of at least one number"
            raise _fail(
                f"must be {need} of {unit}, each between {low} and {high}, like {example}; got {_describe(value)}"
            )
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int) or not low <= item <= high:
                raise _fail(
                    f"each value must be a whole number of {unit} between {low} and {high}, got {_describe(item)}"
                )
        duplicates = sorted({i for i in value if value.count(i) > 1})
        if duplicates:
            raise _fail(f"lists {duplicates[0]} more than once; list each value once")
        return list(value)

    return check


def _text(value: Any) -> str:
    """Non-empty text without control or invisible formatting characters (line breaks and tabs are fine)."""
    if not isinstance(value, str):
        raise _fail(f"must be text in quotes, got {_describe(value)}")
    if not value.strip():
        raise _fail("must not be empty")
    character = invisible_character(value, allowed="\t\n\r")
    if character is not None:
        # Pasted from elsewhere, they reach Discord, the speech synthesiser or a file name unseen.
        raise _fail(
            f"contains an invisible control character (U+{ord(character):04X}); "
            "retype the value without copying special characters"
        )
    return value.strip()


def _https(value: Any) -> str:
    """An https:// link with a host."""
    text = _text(value)
    parts = urlsplit(text)
    if parts.scheme.lower() == "http":
        raise _fail(f"must start with https:// (plain http links are not secure), got {text!r}")
    if parts.scheme.lower() != "https" or not parts.hostname or any(c.isspace() for c in text):
        raise _fail(f"must be a web link starting with https://, like 'https://example.org/page', got {text!r}")
    return text


def _https_or_mailto(value: Any) -> str:
    """An https:// link, or a mailto: address."""
    text = _text(value)
    if text.lower().startswith("mailto:"):
        address = text[len("mailto:") :]
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
            raise _fail(f"must be an email written as 'mailto:name@example.org', got {text!r}")
        return text
    if re.fullmatch(r"[^@\s:/]+@[^@\s]+\.[^@\s]+", text):
        raise _fail(f"looks like an email address; write it as 'mailto:{text}'")
    try:
        return _https(text)
    except PydanticCustomError:
        raise _fail(
            f"must be 'mailto:' followed by an email address, or a web link starting with https://, got {text!r}"
        ) from None


def _listen_host(value: Any) -> str:
    """An address for the web server to listen on: an IP address or a host name, without a port."""
    text = _text(value)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        if not _HOST_NAME.fullmatch(text):
            raise _fail(
                "must be the address to listen on, such as '127.0.0.1' (this machine only, behind a web server "
                f"such as nginx or Caddy) or '0.0.0.0' (every network), without a port or http://; got {text!r}"
            ) from None
    return text


def _port(value: Any) -> int:
    """A TCP port number to listen on."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise _fail(f"must be a port number: a whole number between 1 and 65535, such as 8080; got {_describe(value)}")
    return value


def _public_base_url(value: Any) -> str:
    """The https:// address where people reach the web server, without a query; kept without a trailing slash."""
    text = _https(value)
    parts = urlsplit(text)
    if parts.query or parts.fragment:
        raise _fail(f"must be a plain address without '?' or '#', like 'https://calendar.example.org', got {text!r}")
    return text.rstrip("/")


Snowflake = Annotated[int, BeforeValidator(_snowflake)]
SnowflakeList = Annotated[list[int], BeforeValidator(_snowflake_list)]
Text = Annotated[str, BeforeValidator(_text)]
HttpsLink = Annotated[str, BeforeValidator(_https)]
ContactLink = Annotated[str, BeforeValidator(_https_or_mailto)]


def _resolve_path(value: str, info: ValidationInfo) -> Path:
    """Relative paths are read against the config file's folder, so the bot can start from anywhere."""
    path = Path(value).expanduser()
    base = (info.context or {}).get("base_dir")
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    return path


def _config_path(value: Any, info: ValidationInfo) -> Path:
    """A file path, read against the config file's folder when relative."""
    return _resolve_path(_text(str(value) if isinstance(value, Path) else value), info)


ConfigPath = Annotated[Path, BeforeValidator(_config_path)]


# --- the model -----------------------------------------------------------------------------------


class _Section(BaseModel):
    """Common settings: unknown keys are refused, values are never coerced silently."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class GuildSection(_Section):
    """[guild]: the Discord server the bot serves."""

    id: Snowflake


class ChannelsSection(_Section):
    """[channels]: where the bot posts and where sessions happen."""

    announcements: Snowflake
    teachers: Snowflake
    coordinators: Snowflake
    sessions: SnowflakeList
    default_session: Snowflake

    @model_validator(mode="before")
    @classmethod
    def _default_session_is_first(cls, data: Any) -> Any:
        """Without default_session, the first session channel is the default."""
        if isinstance(data, dict) and "default_session" not in data:
            sessions = data.get("sessions")
            if isinstance(sessions, list) and sessions:
                data = {**data, "default_session": sessions[0]}
        return data

    @model_validator(mode="after")
    def _default_session_is_listed(self) -> ChannelsSection:
        """The default session channel must be one of the session channels."""
        if self.default_session not in self.sessions:
            listed = ", ".join(str(i) for i in self.sessions)
            raise _fail(
                f"must be one of channels.sessions ({listed}), got {self.default_session}", key="default_session"
            )
        return self


class RolesSection(_Section):
    """[roles]: who may do what."""

    coordinator: Snowflake
    teacher: Snowflake


class RemindersSection(_Section):
    """[reminders]: when members may be reminded, and when unclaimed sessions raise an alert."""

    allowed_offsets_minutes: Annotated[
        list[int], BeforeValidator(_whole_list(1, 10080, "minutes", allow_empty=False))
    ] = Field(default_factory=lambda: [1440, 60, 15])
    default_offsets_minutes: Annotated[
        list[int], BeforeValidator(_whole_list(1, 10080, "minutes", allow_empty=True))
    ] = Field(default_factory=lambda: [60])
    unclaimed_alert_teachers_hours: Annotated[int, BeforeValidator(_whole(1, 336, "hours"))] = 48
    unclaimed_alert_coordinators_hours: Annotated[int, BeforeValidator(_whole(1, 336, "hours"))] = 6
    time_change_notice_days: Annotated[int, BeforeValidator(_whole(1, 14, "days"))] = 3

    @model_validator(mode="after")
    def _defaults_are_allowed(self) -> RemindersSection:
        """Default reminder times must be among the times members may choose."""
        for offset in self.default_offsets_minutes:
            if offset not in self.allowed_offsets_minutes:
                allowed = ", ".join(str(o) for o in self.allowed_offsets_minutes)
                raise _fail(
                    f"each value must be one of reminders.allowed_offsets_minutes ({allowed}); {offset} is not",
                    key="default_offsets_minutes",
                )
        return self


class SessionsSection(_Section):
    """[sessions]: how a practice session runs."""

    grace_minutes: Annotated[int, BeforeValidator(_whole(0, 30, "minutes"))] = 5
    open_minutes_before: Annotated[int, BeforeValidator(_whole(0, 60, "minutes"))] = 10
    silent_sit_minutes: Annotated[list[int], BeforeValidator(_whole_list(10, 20, "minutes", allow_empty=False))] = (
        Field(default_factory=lambda: [10, 15, 20])
    )
    default_silent_sit_minutes: Annotated[int, BeforeValidator(_whole(10, 20, "minutes"))] = 15
    choice_timeout_minutes: Annotated[int, BeforeValidator(_whole(1, 15, "minutes"))] = 3
    # A soft bell every N minutes inside a silent sit (0: only the opening and closing bells).
    interval_bell_minutes: Annotated[int, BeforeValidator(_whole(0, 20, "minutes"))] = 0
    lock_chat: bool = True
    horizon_days: Annotated[int, BeforeValidator(_whole(7, 365, "days"))] = 56
    timezone: Literal["America/Los_Angeles"] = "America/Los_Angeles"

    @field_validator("timezone", mode="before")
    @classmethod
    def _pacific_only(cls, value: Any) -> Any:
        """The schedule is set in US Pacific Time by the community's guidelines."""
        if value != PACIFIC:
            raise _fail(
                f"must be {PACIFIC!r}, got {_describe(value)}. The community's schedule is set in US "
                "Pacific Time, as its session guidelines say, so this setting cannot change. Members "
                "do not need it changed: Discord shows every session time in each reader's own time zone."
            )
        return value

    @model_validator(mode="after")
    def _default_sit_is_offered(self) -> SessionsSection:
        """The default silent-sit length must be one of the lengths offered."""
        if self.default_silent_sit_minutes not in self.silent_sit_minutes:
            offered = ", ".join(str(m) for m in self.silent_sit_minutes)
            raise _fail(
                f"must be one of sessions.silent_sit_minutes ({offered}), got {self.default_silent_sit_minutes}",
                key="default_silent_sit_minutes",
            )
        return self


class WelcomeSection(_Section):
    """[welcome]: the words shared when no teacher is present."""

    words: str = texts.OFFICIAL_WELCOME_WORDS

    @field_validator("words", mode="before")
    @classmethod
    def _official_opening(cls, value: Any) -> str:
        """Keep the guidelines' opening line; join line breaks so multi-line text reads as one paragraph."""
        words = " ".join(_text(value).split())
        if WELCOME_MARKER not in words:
            raise _fail(
                f"must contain the words {WELCOME_MARKER!r}. The community's guidelines give these "
                "welcome words for sessions without a teacher; that opening tells everyone the session "
                "is offered by the Center for Mindful Self-Compassion and that no participant is leading "
                "it. Delete this key to use the official words."
            )
        if len(words) > WELCOME_MAX_CHARS:
            raise _fail(
                f"must be at most {WELCOME_MAX_CHARS} characters so it fits in one Discord message, got {len(words)}"
            )
        return words


class LinksSection(_Section):
    """[links]: where members can find the community, the coordinators, donations and sharing."""

    community: HttpsLink
    coordinators: ContactLink
    donate: HttpsLink
    share: HttpsLink


class PrivacySection(_Section):
    """[privacy]: how long the bot keeps what it knows of members who left the server."""

    forget_departed_after_days: Annotated[int, BeforeValidator(_whole(1, 365, "days"))] = 30


class LimitsSection(_Section):
    """[limits]: how often one member may send feedback or change things, so nobody floods the volunteers."""

    feedback_per_hour: Annotated[int, BeforeValidator(_whole(1, 60, "messages"))] = 3
    changes_per_minute: Annotated[int, BeforeValidator(_whole(1, 120, "changes"))] = 12


class StorageSection(_Section):
    """[storage]: where the bot keeps its database and its backups."""

    database: ConfigPath = Field(default=Path("data/practice-circles.sqlite3"), validate_default=True)
    backups: ConfigPath = Field(default=Path("data/backups"), validate_default=True)
    keep_backups: Annotated[int, BeforeValidator(_whole(1, 365, "backups"))] = 14

    @model_validator(mode="after")
    def _backups_beside_not_onto(self) -> StorageSection:
        """The backups folder is a folder of its own, never the database file itself."""
        if self.backups == self.database:
            raise _fail("must be a folder for the backups, not the database file itself", key="backups")
        return self


class RecordingsSection(_Section):
    """[recordings]: the approved-recordings list."""

    file: ConfigPath = Field(default=Path("recordings.yaml"), validate_default=True)


class WebSection(_Section):
    """[web]: the small web server for calendar feeds and the public schedule page (off without this section)."""

    enabled: bool = True
    host: Annotated[str, BeforeValidator(_listen_host)] = "127.0.0.1"
    port: Annotated[int, BeforeValidator(_port)] = 8080
    public_url: Annotated[str, BeforeValidator(_public_base_url)]
    join_url: HttpsLink


class Config(_Section):
    """The whole validated configuration."""

    guild: GuildSection
    channels: ChannelsSection
    roles: RolesSection
    reminders: RemindersSection = Field(default_factory=lambda: RemindersSection())
    sessions: SessionsSection = Field(default_factory=lambda: SessionsSection())
    welcome: WelcomeSection = Field(default_factory=lambda: WelcomeSection())
    links: LinksSection
    privacy: PrivacySection = Field(default_factory=lambda: PrivacySection())
    limits: LimitsSection = Field(default_factory=lambda: LimitsSection())
    storage: StorageSection = Field(default_factory=lambda: StorageSection())
    recordings: RecordingsSection = Field(default_factory=lambda: RecordingsSection())
    # None: no [web] section, so no web server (the calendar feeds and the page are off).
    web: WebSection | None = None

    @property
    def web_enabled(self) -> WebSection | None:
        """The [web] section when the web server is to run; None when it is absent or switched off."""
        return self.web if self.web is not None and self.web.enabled else None

    @model_validator(mode="before")
    @classmethod
    def _path_sections_always_validated(cls, data: Any) -> Any:
        """Validate [storage] and [recordings] even when absent, so their default paths are resolved too."""
        if isinstance(data, dict):
            data = {"storage": {}, "recordings": {}, **data}
        return data

    def placeholders(self) -> list[str]:
        """Keys still holding the example values from config.example.toml (ids and example.org links)."""
        return list(self.placeholder_values())

    def placeholder_values(self) -> dict[str, int | str]:
        """Each key still holding an example value from config.example.toml, with that value."""
        found: dict[str, int | str] = {}
        # In the order config.example.toml lists them.
        ids = {
            "guild.id": [self.guild.id],
            "channels.announcements": [self.channels.announcements],
            "channels.teachers": [self.channels.teachers],
            "channels.coordinators": [self.channels.coordinators],
            "channels.sessions": list(self.channels.sessions),
            "roles.coordinator": [self.roles.coordinator],
            "roles.teacher": [self.roles.teacher],
        }
        for key, values in ids.items():
            examples = [value for value in values if value in EXAMPLE_IDS]
            if examples:
                found[key] = examples[0]
        links = {f"links.{name}": getattr(self.links, name) for name in LinksSection.model_fields}
        if self.web_enabled is not None:
            links |= {"web.public_url": self.web_enabled.public_url, "web.join_url": self.web_enabled.join_url}
        for key, link in links.items():
            host = (urlsplit(link).hostname or link.rpartition("@")[2]).lower()
            if host in EXAMPLE_HOSTS or host.endswith(tuple(f".{h}" for h in EXAMPLE_HOSTS)):
                found[key] = link
        return found


# --- loading -------------------------------------------------------------------------------------


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate config.toml; raise ConfigErrors listing every problem at once."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigErrors(
            [
                ConfigError(
                    "",
                    (
                        f"no configuration file at {path.absolute()}. Copy config.example.toml to {path.name} "
                        "in that folder and fill in your server's ids and links."
                    ),
                )
            ]
        ) from None
    except IsADirectoryError:
        raise ConfigErrors([ConfigError("", f"{path.absolute()} is a folder; give the path of config.toml")]) from None
    except OSError as error:
        raise ConfigErrors([ConfigError("", f"cannot read {path.absolute()}: {error.strerror}")]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigErrors(
            [
                ConfigError(
                    "",
                    (f"{path} is not UTF-8 text (a problem near byte {error.start}); save it as UTF-8 in your editor"),
                )
            ]
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigErrors([ConfigError("", f"{path} is not valid TOML: {_toml_problem(error)}")]) from None
    except ValueError:
        # tomllib's only other refusal: a whole number of thousands of digits.
        raise ConfigErrors(
            [ConfigError("", (f"{path} holds a number thousands of digits long; no setting needs more than 20 digits"))]
        ) from None

    errors = _refuse_tokens(data, prefix="")
    try:
        config = Config.model_validate(data, context={"base_dir": path.absolute().parent})
    except ValidationError as error:
        errors += _translate(error)
    else:
        if not errors:
            return config
    raise ConfigErrors(errors)


def _toml_problem(error: tomllib.TOMLDecodeError) -> str:
    """Turn tomllib's '... (at line 3, column 10)' into 'line 3, column 10: ...'."""
    text = str(error)
    match = re.fullmatch(r"(?s)(.*) \(at line (\d+), column (\d+)\)", text)
    if match is None:
        return text
    problem, line, column = match.groups()
    return (
        f"line {line}, column {column}: {problem[:1].lower()}{problem[1:]} "
        "(check quotes around text, and '=' between each key and its value)"
    )


def _refuse_tokens(data: dict[str, Any], prefix: str) -> list[ConfigError]:
    """Refuse, and remove before validation, any key that would put the bot's token in the file."""
    errors: list[ConfigError] = []
    for key in list(data):
        dotted = f"{prefix}{key}"
        if key.lower() == "token" or key.lower().endswith("_token"):
            del data[key]
            errors.append(
                ConfigError(
                    dotted,
                    (
                        "the bot's token must never be written in the config file: anyone who sees the file could "
                        f"act as the bot. Remove this line and set the {TOKEN_VARIABLE} environment variable, or "
                        f"{TOKEN_FILE_VARIABLE} to the path of a file holding the token. If this file was ever "
                        "shared, reset the token in the Discord Developer Portal."
                    ),
                )
            )
        elif isinstance(data[key], dict):
            errors += _refuse_tokens(data[key], prefix=f"{dotted}.")
    return errors


def _section_model(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model that the keys at `loc` belong to, for suggesting spellings."""
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        # An optional section ([web]) is annotated `Section | None`.
        annotation = next((arg for arg in get_args(annotation) if arg is not type(None)), annotation)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _translate(error: ValidationError) -> list[ConfigError]:
    """The one place pydantic's findings become messages a volunteer can act on."""
    problems: list[ConfigError] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        context = item.get("ctx") or {}
        if item["type"] == _ERROR_TYPE and "key" in context:
            loc = (*loc, context["key"])
        key = ".".join(str(part) for part in loc)
        value = item.get("input")
        kind = item["type"]
        if kind == _ERROR_TYPE:
            problem = str(context["reason"])
        elif kind == "missing":
            if key == "channels.default_session":
                # Only missing when channels.sessions itself is broken, which is reported already.
                continue
            if _section_model(loc) is not None:
                problem = f"the [{key}] section is missing; copy it from config.example.toml and fill it in"
            else:
                problem = "is missing; add it (config.example.toml shows what it looks like)"
        elif kind == "extra_forbidden":
            problem = _unknown_key(loc)
        elif kind in ("model_type", "dict_type"):
            problem = f"must be a section written as [{key}] with keys below it, got {_describe(value)}"
        elif kind == "bool_type":
            problem = f"must be true or false (without quotes), got {_describe(value)}"
        elif kind == "string_type":
            problem = f"must be text in quotes, got {_describe(value)}"
        elif kind in ("int_type", "int_parsing", "int_from_float"):
            problem = f"must be a whole number, got {_describe(value)}"
        elif kind == "list_type":
            problem = f"must be a list in square brackets, got {_describe(value)}"
        else:
            # Not expected with the checks above; keep pydantic's one-line summary, never its dump.
            problem = f"is not valid: {item['msg']}"
        problems.append(ConfigError(key, problem))
    return problems


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    """Explain an unknown key and suggest the closest known one."""
    *parent, name = (str(part) for part in loc)
    model = _section_model(tuple(parent))
    known = list(model.model_fields) if model is not None else []
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    where = f"the [{'.'.join(parent)}] section" if parent else "the top level (sections)"
    if close:
        return f"unknown key — did you mean {close[0]!r}?"
    return f"unknown key; {where} accepts: {', '.join(known)}"


# --- the token -----------------------------------------------------------------------------------


class Secret:
    """A string that never shows itself in logs, reprs or tracebacks; `.reveal()` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value, for handing to Discord and nothing else."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('<hidden>')"

    def __str__(self) -> str:
        return "<hidden>"

    def __reduce__(self) -> Any:
        # Pickling would write the value out; nothing in the bot needs to.
        raise TypeError("a Secret cannot be pickled")


def load_token(environ: Mapping[str, str] = os.environ) -> Secret:
    """Read the bot token from DISCORD_TOKEN, or from the file named by DISCORD_TOKEN_FILE.

    Setting both is refused rather than silently preferring one, so the bot never runs with a token
    its operator did not mean to use. Empty values count as not set.
    """
    direct = environ.get(TOKEN_VARIABLE, "").strip()
    file_name = environ.get(TOKEN_FILE_VARIABLE, "").strip()
    if direct and file_name:
        raise ConfigError(
            TOKEN_VARIABLE,
            (
                f"both {TOKEN_VARIABLE} and {TOKEN_FILE_VARIABLE} are set; set only one of them, "
                "so it is clear which token the bot uses"
            ),
        )
    if direct:
        return Secret(_checked_token(direct, TOKEN_VARIABLE))
    if file_name:
        token_path = Path(file_name).expanduser()
        try:
            text = token_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(TOKEN_FILE_VARIABLE, f"names {token_path}, but there is no such file") from None
        except UnicodeDecodeError:
            raise ConfigError(TOKEN_FILE_VARIABLE, f"names {token_path}, which is not a text file") from None
        except OSError as error:
            raise ConfigError(
                TOKEN_FILE_VARIABLE, f"names {token_path}, which cannot be read: {error.strerror}"
            ) from None
        token = text.strip()
        if not token:
            raise ConfigError(TOKEN_FILE_VARIABLE, f"names {token_path}, which is empty; put the bot's token in it")
        return Secret(_checked_token(token, TOKEN_FILE_VARIABLE))
    if TOKEN_VARIABLE in environ:
        raise ConfigError(TOKEN_VARIABLE, "is set but empty; put the bot's token in it")
    raise ConfigError(
        TOKEN_VARIABLE,
        (
            f"the bot's token is not set. Set {TOKEN_VARIABLE} to the token from the Discord Developer "
            f"Portal (Bot page), or set {TOKEN_FILE_VARIABLE} to the path of a file holding it"
        ),
    )


def _checked_token(token: str, variable: str) -> str:
    """Refuse common paste mistakes without ever echoing the token."""
    if token.lower().startswith("bot "):
        raise ConfigError(variable, "starts with 'Bot '; give only the token itself, the bot adds that word")
    if any(character.isspace() for character in token):
        raise ConfigError(variable, "contains spaces or line breaks; a token is a single word")
    return token
