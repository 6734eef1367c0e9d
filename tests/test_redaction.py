"""Token-shaped values are hidden from errors and log lines, whoever writes them."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from bot.errors import ConfigError, PracticeCirclesError, RecordingError
from bot.redaction import HIDDEN, RedactingFormatter, redact_tokens
from loopback.world import make_token

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_a_token_inside_text_is_hidden_and_the_rest_kept() -> None:
    token = make_token(198622483471925248)
    assert redact_tokens(f"got '{token}' (text)") == f"got '{HIDDEN}' (text)"
    assert (
        redact_tokens(f"https://discord.example.org/{token}/api/v10") == f"https://discord.example.org/{HIDDEN}/api/v10"
    )


def test_ordinary_text_is_left_alone() -> None:
    for text in (
        "practice_circles.egg-info 2026-03-08T02:30:00Z",
        "snowflake 198622483471925248, version 3.14.3, sha256 " + "ab" * 32,
        "recordings/affectionate-breathing.ogg",
    ):
        assert redact_tokens(text) == text


def test_domain_errors_never_carry_a_token() -> None:
    token = make_token(1145141919810893312)
    config = ConfigError("links.community", f"must be a web link, got {token!r}")
    recording = RecordingError(token, f"title {token}")
    plain = PracticeCirclesError(f"Discord said no to {token}")
    for error in (config, recording, plain):
        assert token not in str(error) and token not in error.message
    assert token not in config.problem and token not in recording.problem and token not in recording.entry


def test_log_lines_hide_tokens_in_arguments_and_tracebacks() -> None:
    token = make_token(81384788765712384)
    formatter = RedactingFormatter("%(levelname)s %(message)s")
    try:
        raise RuntimeError(f"request to /{token} failed")
    except RuntimeError:
        record = logging.LogRecord("discord.http", logging.ERROR, __file__, 1, "sent %s", (token,), sys.exc_info())
    line = formatter.format(record)
    assert token not in line
    assert line.count(HIDDEN) == 2 and "RuntimeError" in line


def test_the_command_line_logs_through_the_redacting_formatter() -> None:
    script = (
        "import logging, bot.cli\n"
        "bot.cli.main(['invite-url', '--client-id', '123456789012345678'])\n"
        "print(type(logging.getLogger().handlers[0].formatter).__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "RedactingFormatter"
