"""The welcome reading: the official welcome words as an approved recording the bot can speak.

A human reading (kind `welcome-reading` in recordings.yaml) is always preferred. Without one, the
words are synthesised offline, once, with espeak-ng, converted like any other recording (Ogg/Opus,
even loudness) and added to the approved list with its sha256, so from then on it is played, and
verified, exactly like every other approved recording. Changing the words later does not replace
an existing reading: remove its entry (and file) to have it made again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bot.errors import RecordingError
from bot.media.recordings import ADD_COMMAND, add_recording, load_recordings
from bot.model import Recording

KIND = "welcome-reading"
SOURCE = "Practice Circles (espeak-ng synthesis of the official welcome words)"
# A calm reading: slower than espeak-ng's 175 words a minute, a little lower, a little more space between words.
ESPEAK_WORDS_PER_MINUTE = 140
ESPEAK_PITCH = 40
ESPEAK_WORD_GAP_10MS = 3
SYNTHESIS_TIMEOUT_SECONDS = 120


def reading_id(language: str) -> str:
    """The id of the synthesised reading for a language: 'welcome-reading-en', 'welcome-reading-pt-br'."""
    return f"{KIND}-{language.lower()}"


def ensure_welcome_reading(catalog_path: Path, words: str, *, language: str = "en") -> Recording:
    """The approved welcome reading in this language; synthesised and added to the list once if there is none."""
    # Blocking (synthesis and conversion take seconds): async code runs it with asyncio.to_thread. Callers in
    # other threads or processes wait for each other on the folder lock, so only one of them adds the reading.
    text = " ".join(words.split())
    rid = reading_id(language)
    if not text:
        raise RecordingError(rid, "there are no welcome words to read")
    path = Path(catalog_path).absolute()
    with _locked(path.parent):
        existing = _existing(path, language, rid)
        if existing is not None:
            return existing
        with tempfile.TemporaryDirectory(prefix="welcome-reading-") as folder:
            wav = Path(folder) / "welcome.wav"
            _synthesise(text, language, wav, rid)
            # add_recording converts the WAV with bot.media.conversion.convert_to_ogg_opus (loudnorm, 20 ms frames).
            added = add_recording(
                wav,
                recordings_path=path,
                title=f"Welcome words, read aloud ({language})",
                kind=KIND,
                source=SOURCE,
                language=language,
                recording_id=rid,
            )
        return added.recording


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the list's folder (no lock file is left behind); threads and processes alike."""
    # flock belongs to this open file description, so even two threads of one process exclude each other.
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _existing(path: Path, language: str, rid: str) -> Recording | None:
    """An approved welcome reading in this language, if the list has one; a refused synthesised one is an error."""
    if not path.exists():
        return None  # add_recording creates the list
    catalog = load_recordings(path)
    for recording in catalog.by_kind(KIND):
        if recording.language.lower() == language.lower():
            return recording
    for error in catalog.refused:
        if error.entry == rid:
            raise RecordingError(
                rid,
                (
                    f"{path.name} lists it but it was refused ({error.problem}); fix that entry, or remove it "
                    "and its file so the welcome reading can be made again"
                ),
            )
    return None


def _synthesise(text: str, language: str, wav: Path, rid: str) -> None:
    """Speak the text into a WAV file with espeak-ng: fixed arguments, no shell, the words on stdin."""
    argv = [
        "espeak-ng",
        "-v",
        language.lower(),
        "-s",
        str(ESPEAK_WORDS_PER_MINUTE),
        "-p",
        str(ESPEAK_PITCH),
        "-g",
        str(ESPEAK_WORD_GAP_10MS),
        "-b",
        "1",  # the input is UTF-8
        "-w",
        str(wav),
        "--stdin",
    ]
    try:
        result = subprocess.run(
            argv, input=text.encode("utf-8"), capture_output=True, timeout=SYNTHESIS_TIMEOUT_SECONDS, check=False
        )
    except FileNotFoundError:
        raise RecordingError(
            rid,
            (
                "espeak-ng is not installed, so the welcome words cannot be read aloud; install it "
                f"(apt install espeak-ng), or record the words and add them with `{ADD_COMMAND} FILE "
                f"--kind {KIND} --language {language} ...`"
            ),
        ) from None
    except subprocess.TimeoutExpired:
        raise RecordingError(rid, f"espeak-ng took longer than {SYNTHESIS_TIMEOUT_SECONDS} s") from None
    problem = result.stderr.decode("utf-8", "replace").strip().splitlines()
    if result.returncode != 0 or not wav.is_file() or wav.stat().st_size == 0:
        said = f": {problem[-1]}" if problem else ""
        raise RecordingError(
            rid,
            (
                f"espeak-ng could not read the words in language {language!r}{said}. Record the words and add them "
                f"with `{ADD_COMMAND} FILE --kind {KIND} --language {language} ...`"
            ),
        )
