"""`python -m bot demo`, run as a user would: the whole flow on the loopback Discord, checked end to end."""

from __future__ import annotations

import array
import os
import re
import subprocess
import sys
import wave
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# The demo takes about a minute and a half; it must finish in under two.
DEMO_TIMEOUT = 170


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run the demo once (it is slow) for every check below; no token in its environment."""
    output = tmp_path_factory.mktemp("demo") / "out"
    environ = {key: value for key, value in os.environ.items() if not key.startswith("DISCORD_TOKEN")}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--output", str(output)],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )
    return result, output


@pytest.mark.timeout(DEMO_TIMEOUT + 30)
def test_the_demo_runs_every_step_and_exits_0_in_under_two_minutes(
    demo_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, output = demo_run
    assert result.returncode == 0, f"the demo failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    assert f"Transcript and audio: {output}" in result.stdout
    total = re.search(r"Total time: ([0-9.]+) s", result.stdout)
    assert total is not None and float(total.group(1)) < 120, result.stdout[-500:]
    # The timeline is printed as it goes, in the promised shape: [mm:ss] HH:MM PT  what happened.
    assert re.search(r"^\[\d\d:\d\d\] \d\d:\d\d PT  Sam presses “Sign up”", result.stdout, re.MULTILINE)


@pytest.mark.timeout(DEMO_TIMEOUT + 30)
def test_the_transcript_shows_each_step(demo_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, output = demo_run
    assert result.returncode == 0, result.stderr[-4000:]
    transcript = (output / "transcript.md").read_text(encoding="utf-8")
    assert "**Result: every step happened as expected**" in transcript
    for expected in (
        # 1. members sign up (buttons and commands) and get reminders; Mei's DMs are closed
        "Sam presses “Sign up” for “Open heart circle”",
        "Priya runs /signup session:",
        "✓ Sam, Priya, Jonas each got one reminder by DM for “Open heart circle”",
        "✓ Mei (DMs closed) got hers for “Open heart circle” in her private reminder thread, and no DM",
        "@Mei Reminder: **Open heart circle** starts in 15 minutes",
        # 2. a teacher claims and leads; the bot stays silent
        "Ana presses “Claim” on the alert for “Open heart circle”",
        "Welcome, @Ana. The teacher is here and will lead from now on.",
        "✓ the bot sent no audio at all during the teacher's session",
        # 3. no teacher: welcome words, a chosen recording, participants silent, a kind close
        "On behalf of CMSC, welcome to this practice session.",
        "Priya chooses “Affectionate Breathing (demo tone)”",
        "✓ the chat rests while the bot leads: Jonas cannot post",
        "✓ Sam stays in the audience, unheard",
        "✓ the raised hand was declined while the recording was playing",
        "✓ the bot sent exactly the welcome reading, then the chosen recording",
        "✓ the Stage's permissions are exactly as before",
        "https://donate.example.org/msc",
        "https://share.example.org/practice-circles",
        # 4. a coordinator cancels; those signed up are told
        "Laila runs /session cancel session:",
        "✓ Sam was told by DM, with the reason",
        "✓ Mei was told in the session's thread",
        "✓ Priya, who had not signed up for it, was not messaged",
        # and nothing the bot sent broke Discord's rules
        "✓ no request went to a route Discord does not have",
    ):
        assert expected in transcript, f"missing from transcript.md: {expected}"


@pytest.mark.timeout(DEMO_TIMEOUT + 30)
def test_the_audio_the_stage_heard_is_written_and_not_silent(
    demo_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, output = demo_run
    assert result.returncode == 0, result.stderr[-4000:]
    wavs = sorted(output.glob("*.wav"))
    assert len(wavs) == 1, "one WAV: only the no-teacher session had audio"
    with wave.open(str(wavs[0]), "rb") as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (48_000, 2, 2)
        seconds = audio.getnframes() / audio.getframerate()
        samples = array.array("h", audio.readframes(audio.getnframes()))
    assert 30 < seconds < 60, "the spoken welcome words, then the ~5 s recording"
    assert max(map(abs, samples[::97])) > 1000, "it holds sound, not silence"
