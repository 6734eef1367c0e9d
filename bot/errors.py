"""Domain errors raised by the core.

Each carries a message written for the person who caused it: what was wrong and how to fix it.
They are turned into replies (Discord) or printed lines (CLI) in exactly one place each.
"""

from __future__ import annotations

from bot.redaction import redact_tokens


class PracticeCirclesError(Exception):
    """Base class for every error the core raises on purpose.

    Messages often quote what the person typed or the file held; anything token-shaped in them is
    hidden here, once, so no reply, report or log line built from an error can show a token.
    """

    def __init__(self, message: str) -> None:
        message = redact_tokens(message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(PracticeCirclesError):
    """The configuration file or environment is not usable; names the key at fault."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = redact_tokens(problem)


class ConfigErrors(PracticeCirclesError):
    """Several configuration problems found in one pass, so the user can fix them all at once."""

    def __init__(self, errors: list[ConfigError]) -> None:
        lines = "\n".join(f"  - {error.message}" for error in errors)
        super().__init__(f"The configuration has {len(errors)} problem(s):\n{lines}")
        self.errors = errors


class RecordingError(PracticeCirclesError):
    """An entry of the approved-recordings list is unusable; names the entry."""

    def __init__(self, entry: str, problem: str) -> None:
        super().__init__(f"recording {entry!r}: {problem}" if entry else problem)
        self.entry = redact_tokens(entry)
        self.problem = redact_tokens(problem)


class ScheduleError(PracticeCirclesError):
    """A schedule rule or time that cannot be used as given."""


class NotFoundError(PracticeCirclesError):
    """Something the user named does not exist."""


class PermissionDeniedError(PracticeCirclesError):
    """The user lacks the role an action needs."""


class ConflictError(PracticeCirclesError):
    """The action lost a race or contradicts the current state (e.g. a session already claimed)."""


class StorageError(PracticeCirclesError):
    """The database cannot be used (locked by another instance, newer schema, corrupt)."""


class RateLimitedError(PracticeCirclesError):
    """A member did something more often than the community's limits allow; says when to try again."""


class DatabaseInUseError(StorageError):
    """Another Practice Circles process holds the database's single-instance lock."""

    def __init__(self, message: str, holder: str) -> None:
        super().__init__(message)
        self.holder = holder


class SchemaBehindError(StorageError):
    """The database's schema is older than this version's, and migrating was not allowed."""

    def __init__(self, message: str, current: int, latest: int) -> None:
        super().__init__(message)
        self.current = current
        self.latest = latest


class CoreStartError(PracticeCirclesError):
    """The core could not start (rebuilding timers from the database failed); the bot has stopped."""
