"""`python -m bot check` reports each part and exits 0 only when everything is usable."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A config.toml (the example) beside a copy of the shipped recordings list and bell."""
    shutil.copy(REPO / "config.example.toml", tmp_path / "config.toml")
    shutil.copy(REPO / "recordings.yaml", tmp_path / "recordings.yaml")
    (tmp_path / "audio").mkdir()
    shutil.copy(REPO / "audio" / "bell.ogg", tmp_path / "audio" / "bell.ogg")
    return tmp_path


def test_usable_setup_exits_zero_and_migrates_the_database(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN_FILE", raising=False)
    assert main(["check", "--config", str(workspace / "config.toml")]) == 0
    out = capsys.readouterr().out
    assert "Everything is usable." in out
    assert "1 approved" in out
    database = workspace / "data" / "practice-circles.sqlite3"
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] >= 1


def test_broken_config_is_reported_with_its_key(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = workspace / "config.toml"
    config.write_text(config.read_text().replace("grace_minutes = 5", "grace_minutes = 90"))
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "sessions.grace_minutes: must be between 0 and 30 minutes, got 90" in out
    assert "not checked: the config must load first" in out
    assert not (workspace / "data").exists(), "nothing is created when the config is unusable"


def test_tampered_recording_makes_check_fail(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (workspace / "audio" / "bell.ogg").open("ab") as bell:
        bell.write(b"\0")
    assert main(["check", "--config", str(workspace / "config.toml")]) == 1
    out = capsys.readouterr().out
    assert "refused" in out and "bell" in out
    assert "Please fix the items marked BAD" in out


def test_token_is_never_printed(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "MTIzNDU2Nzg5MDEyMzQ1Njc4.secret-token-value"
    monkeypatch.setenv("DISCORD_TOKEN", secret)
    assert main(["check", "--config", str(workspace / "config.toml")]) == 0
    captured = capsys.readouterr()
    assert "present (not shown)" in captured.out
    assert secret not in captured.out + captured.err


def test_missing_config_as_a_real_process(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--config", str(tmp_path / "nope.toml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "config.example.toml" in result.stdout
