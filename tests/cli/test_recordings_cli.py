"""Tests for `python -m bot recordings add | verify | list`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.media import conversion as audio
from bot.media.recordings import HEADER, load_recordings

REPO_ROOT = Path(__file__).resolve().parents[2]
BELL = REPO_ROOT / "audio" / "bell.ogg"


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    """Run `recordings ...` in-process and return (exit code, stdout, stderr)."""
    code = main(["recordings", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def add_bell(capsys: pytest.CaptureFixture[str], listing: Path) -> tuple[int, str, str]:
    """Add the shipped bell to the list as 'bell'."""
    return run(capsys, "add", str(BELL), "--title", "Bell", "--kind", "bell", "--recordings", str(listing))


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    """A 2-second stereo WAV made with sox, outside the list folder."""
    path = tmp_path / "incoming" / "Breathing.wav"
    path.parent.mkdir()
    subprocess.run(
        ["sox", "-D", "-n", "-r", "44100", "-c", "2", str(path), "synth", "2", "sine", "300", "gain", "-20"],
        check=True,
    )
    return path


@pytest.fixture
def listing(tmp_path: Path) -> Path:
    """Where the list goes (not created yet)."""
    folder = tmp_path / "bot-home"
    folder.mkdir()
    return folder / "recordings.yaml"


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder with its bytes, to show nothing changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_add_converts_a_wav_then_copies_an_ogg_and_verify_passes(
    capsys: pytest.CaptureFixture[str], wav: Path, listing: Path
) -> None:
    code, out, err = run(
        capsys,
        "add",
        str(wav),
        "--title",
        "Affectionate Breathing",
        "--kind",
        "practice",
        "--source",
        "A Teacher",
        "--language",
        "en",
        "--recordings",
        str(listing),
    )
    assert (code, err) == (0, "")
    assert "added 'affectionate-breathing'" in out
    assert "converted to Ogg/Opus 48 kHz with even loudness" in out
    converted = listing.parent / "audio" / "affectionate-breathing.ogg"
    assert audio.ready_for_discord(converted)

    code, out, err = run(
        capsys,
        "add",
        str(BELL),
        "--title",
        "Bell",
        "--kind",
        "bell",
        "--source",
        "Practice Circles",
        "--language",
        "zxx",
        "--id",
        "soft-bell",
        "--source-url",
        "https://soundcloud.test/bell",
        "--recordings",
        str(listing),
    )
    assert (code, err) == (0, "")
    assert "copied as it is" in out
    assert (listing.parent / "audio" / "soft-bell.ogg").read_bytes() == BELL.read_bytes()

    text = listing.read_text(encoding="utf-8")
    assert text.startswith(HEADER)  # the friendly header stays on top
    catalog = load_recordings(listing)
    assert catalog.ids() == ["affectionate-breathing", "soft-bell"]
    breathing = catalog.get("affectionate-breathing")
    assert breathing.duration_seconds == pytest.approx(2.0, abs=0.05)
    assert breathing.file == "audio/affectionate-breathing.ogg"
    assert breathing.sha256 == audio.sha256_file(converted)
    assert catalog.get("soft-bell").source_url == "https://soundcloud.test/bell"

    code, out, _ = run(capsys, "verify", "--recordings", str(listing))
    assert code == 0
    assert out.splitlines()[:2] == [
        "OK       affectionate-breathing  (practice, 0:02, audio/affectionate-breathing.ogg)",
        "OK       soft-bell  (bell, 0:06, audio/soft-bell.ogg)",
    ]
    assert "all 2 recording(s) OK" in out

    code, out, _ = run(capsys, "list", "--recordings", str(listing))
    assert code == 0
    assert "Affectionate Breathing — A Teacher" in out and "soft-bell" in out


def test_verify_fails_and_names_a_tampered_entry(capsys: pytest.CaptureFixture[str], listing: Path) -> None:
    assert add_bell(capsys, listing)[0] == 0
    with (listing.parent / "audio" / "bell.ogg").open("ab") as stream:
        stream.write(b"tampered")
    code, out, _ = run(capsys, "verify", "--recordings", str(listing))
    assert code == 1
    assert "REFUSED  bell: its file audio/bell.ogg has changed since it was approved" in out
    assert "1 of 1 refused" in out
    code, out, _ = run(capsys, "list", "--recordings", str(listing))
    assert code == 0
    assert "no approved recordings" in out and "1 entry is refused" in out


def test_duplicate_id_is_refused_and_nothing_changes(capsys: pytest.CaptureFixture[str], listing: Path) -> None:
    assert add_bell(capsys, listing)[0] == 0
    before = snapshot(listing.parent)
    code, out, err = add_bell(capsys, listing)
    assert code == 2
    assert out == ""
    assert "error: recording 'bell'" in err and "already has an entry with this id" in err
    assert snapshot(listing.parent) == before


def test_a_failed_conversion_changes_nothing(capsys: pytest.CaptureFixture[str], listing: Path, tmp_path: Path) -> None:
    assert add_bell(capsys, listing)[0] == 0
    before = snapshot(listing.parent)
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("not sound at all", encoding="utf-8")
    code, _, err = run(
        capsys, "add", str(not_audio), "--title", "Notes", "--kind", "practice", "--recordings", str(listing)
    )
    assert code == 2
    assert "error: recording 'notes.wav'" in err
    assert snapshot(listing.parent) == before


def test_first_failed_add_leaves_no_list_and_no_audio_folder(
    capsys: pytest.CaptureFixture[str], listing: Path, tmp_path: Path
) -> None:
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("not sound at all", encoding="utf-8")
    code, _, _ = run(
        capsys, "add", str(not_audio), "--title", "Notes", "--kind", "practice", "--recordings", str(listing)
    )
    assert code == 2
    assert list(listing.parent.iterdir()) == []


@pytest.mark.parametrize("source", ["https://soundcloud.test/track.mp3", "concat:a.wav|b.wav", "-"])
def test_add_refuses_anything_but_a_local_file(capsys: pytest.CaptureFixture[str], listing: Path, source: str) -> None:
    code, _, err = run(capsys, "add", source, "--title", "T", "--kind", "practice", "--recordings", str(listing))
    assert code == 2
    assert "only a file on this computer can be used" in err
    assert list(listing.parent.iterdir()) == []


def test_add_explains_bad_kind_and_language(capsys: pytest.CaptureFixture[str], listing: Path) -> None:
    code, _, err = run(
        capsys,
        "add",
        str(BELL),
        "--title",
        "T",
        "--kind",
        "music",
        "--language",
        "english",
        "--recordings",
        str(listing),
    )
    assert code == 2
    assert "kind must be one of practice, welcome-reading, bell" in err
    assert "language must be a language code" in err


def test_verify_of_a_missing_list_is_an_error(capsys: pytest.CaptureFixture[str], listing: Path) -> None:
    code, _, err = run(capsys, "verify", "--recordings", str(listing))
    assert code == 2
    assert "there is no approved-recordings list" in err


def test_verify_the_shipped_list_from_a_real_process() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "recordings", "verify"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK       bell  (bell, 0:06, audio/bell.ogg)")


def test_default_audio_folder_is_beside_the_list(
    capsys: pytest.CaptureFixture[str], listing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "bowl.ogg"
    shutil.copyfile(BELL, source)
    monkeypatch.chdir(listing.parent)
    code, _, _ = run(capsys, "add", str(source), "--title", "Bowl", "--kind", "bell")
    assert code == 0
    assert (listing.parent / "audio" / "bowl.ogg").is_file()
    assert load_recordings(listing).ids() == ["bowl"]
