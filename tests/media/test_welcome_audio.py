"""Tests for bot.media.welcome_audio: the welcome words are synthesised once into an approved, hash-pinned recording."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.errors import RecordingError
from bot.media import welcome_audio
from bot.media.opus import open_approved
from bot.media.recordings import add_recording, load_recordings
from bot.media.welcome_audio import SOURCE, ensure_welcome_reading
from bot.texts import OFFICIAL_WELCOME_WORDS

REPO_ROOT = Path(__file__).resolve().parents[2]

needs_synthesis = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("ffmpeg")), reason="needs espeak-ng and ffmpeg"
)


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    """A copy of the shipped list and its bell, so nothing is written into the repository."""
    (tmp_path / "audio").mkdir()
    shutil.copy(REPO_ROOT / "recordings.yaml", tmp_path / "recordings.yaml")
    shutil.copy(REPO_ROOT / "audio" / "bell.ogg", tmp_path / "audio" / "bell.ogg")
    return tmp_path / "recordings.yaml"


@pytest.fixture
def syntheses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts espeak-ng was asked to read (it still reads them)."""
    calls: list[str] = []
    real: Callable[..., None] = welcome_audio._synthesise

    def counted(text: str, *args: Any) -> None:
        calls.append(text)
        real(text, *args)

    monkeypatch.setattr(welcome_audio, "_synthesise", counted)
    return calls


def entries(path: Path) -> list[dict[str, Any]]:
    """The list's entries as written."""
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["recordings"])


@needs_synthesis
def test_two_callers_at_once_synthesise_once_and_a_rerun_adds_nothing(recordings: Path, syntheses: list[str]) -> None:
    start = threading.Barrier(2)

    def call() -> Any:
        start.wait(timeout=10)
        return ensure_welcome_reading(recordings, OFFICIAL_WELCOME_WORDS)

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = (future.result(timeout=120) for future in [pool.submit(call), pool.submit(call)])

    assert first == second
    assert len(syntheses) == 1
    assert (first.id, first.kind, first.language) == ("welcome-reading-en", "welcome-reading", "en")
    assert first.source == SOURCE
    assert first.duration_seconds >= 15  # about 80 words read calmly
    assert [entry["id"] for entry in entries(recordings)] == ["bell", "welcome-reading-en"]
    verified = subprocess.run(
        [sys.executable, "-m", "bot", "recordings", "verify", "--recordings", str(recordings)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "OK       welcome-reading-en" in verified.stdout
    assert open_approved(first).channels == 1  # the player accepts it as it is: 20 ms Opus packets

    before = recordings.read_bytes()
    again = ensure_welcome_reading(recordings, "  " + OFFICIAL_WELCOME_WORDS.replace(". ", ".\n") + "\n")
    assert again == first
    assert recordings.read_bytes() == before and len(syntheses) == 1


def test_an_approved_reading_in_the_language_is_used_as_it_is(recordings: Path, syntheses: list[str]) -> None:
    add_recording(
        REPO_ROOT / "audio" / "bell.ogg",  # stands in for a teacher's reading; it is already Ogg/Opus
        recordings_path=recordings,
        title="Bienvenida",
        kind="welcome-reading",
        source="A teacher",
        language="es",
        recording_id="bienvenida",
    )
    reading = ensure_welcome_reading(recordings, OFFICIAL_WELCOME_WORDS, language="es")
    assert reading.id == "bienvenida" and syntheses == []


def test_a_refused_synthesised_entry_is_explained_not_duplicated(recordings: Path, syntheses: list[str]) -> None:
    bell = entries(recordings)[0]
    broken = {**bell, "id": "welcome-reading-en", "kind": "welcome-reading", "language": "en", "sha256": "0" * 64}
    recordings.write_text(yaml.safe_dump({"recordings": [bell, broken]}, sort_keys=False), encoding="utf-8")
    before = recordings.read_bytes()
    with pytest.raises(RecordingError, match="lists it but it was refused") as caught:
        ensure_welcome_reading(recordings, OFFICIAL_WELCOME_WORDS)
    assert "changed since it was approved" in caught.value.problem
    assert recordings.read_bytes() == before and syntheses == []


@needs_synthesis
def test_a_language_espeak_ng_cannot_speak_adds_nothing(recordings: Path) -> None:
    before = recordings.read_bytes()
    with pytest.raises(RecordingError, match="espeak-ng could not read the words in language 'xx'") as caught:
        ensure_welcome_reading(recordings, OFFICIAL_WELCOME_WORDS, language="xx")
    assert "--kind welcome-reading --language xx" in caught.value.problem  # how to add a human reading instead
    assert recordings.read_bytes() == before
    assert sorted(path.name for path in (recordings.parent / "audio").iterdir()) == ["bell.ogg"]
    assert load_recordings(recordings).by_kind("welcome-reading") == []


def test_no_words_no_reading(recordings: Path) -> None:
    with pytest.raises(RecordingError, match="no welcome words"):
        ensure_welcome_reading(recordings, " \n ")
