"""Tests for bot.media.recordings: bad entries are refused, good ones kept, files re-checked before play."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.errors import NotFoundError, RecordingError
from bot.media import conversion as audio
from bot.media.recordings import RecordingCatalog, add_recording, load_recordings, slugify, verify_before_play

REPO_ROOT = Path(__file__).resolve().parents[2]
BELL = REPO_ROOT / "audio" / "bell.ogg"
BELL_SHA = audio.sha256_file(BELL)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A list folder holding audio/bell.ogg (a real Ogg/Opus file, 6 s)."""
    (tmp_path / "audio").mkdir()
    shutil.copyfile(BELL, tmp_path / "audio" / "bell.ogg")
    return tmp_path


def entry(**changes: Any) -> dict[str, Any]:
    """A valid entry for audio/bell.ogg, with changes (None removes a field)."""
    base: dict[str, Any] = {
        "id": "bell",
        "title": "Singing bowl bell",
        "source": "Practice Circles",
        "kind": "bell",
        "language": "zxx",
        "duration_seconds": 6.0,
        "file": "audio/bell.ogg",
        "sha256": BELL_SHA,
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def write_list(folder: Path, entries: list[Any] | None = None, text: str | None = None) -> Path:
    """Write recordings.yaml from entries (or raw text) and return its path."""
    path = folder / "recordings.yaml"
    path.write_text(text if text is not None else yaml.safe_dump({"recordings": entries}, sort_keys=False))
    return path


def only_refusal(catalog: RecordingCatalog) -> RecordingError:
    """The single refused entry (fails the test otherwise)."""
    assert len(catalog.refused) == 1, catalog.refused
    return catalog.refused[0]


def test_good_entry_loads(folder: Path) -> None:
    catalog = load_recordings(write_list(folder, [entry()]))
    assert catalog.refused == []
    bell = catalog.get("bell")
    assert bell.path == folder / "audio" / "bell.ogg"
    assert catalog.by_kind("bell") == [bell]
    assert catalog.by_kind("practice") == []
    assert catalog.ids() == ["bell"]


def test_the_shipped_list_approves_the_shipped_bell() -> None:
    catalog = load_recordings(REPO_ROOT / "recordings.yaml")
    assert catalog.refused == []
    assert [r.id for r in catalog.recordings] == ["bell"]
    assert catalog.get("bell").kind == "bell"


BROKEN = [
    # (entry changes, the entry's name in the error, words that must appear)
    ({"kind": "music"}, "bell", ["kind must be one of practice, welcome-reading, bell", "'music'"]),
    ({"id": "Bell_1"}, "Bell_1", ["id must be", "lowercase letters, digits and hyphens", "'Bell_1'"]),
    ({"id": "a" * 41}, "a" * 41, ["id must be at most 40"]),
    ({"language": "english"}, "bell", ["language must be a language code such as en", "'english'"]),
    ({"sha256": "abc123"}, "bell", ["sha256 must be 64 hexadecimal digits"]),
    ({"duration_seconds": -3}, "bell", ["duration_seconds must be a positive number"]),
    ({"duration_seconds": "six"}, "bell", ["duration_seconds must be a positive number", "'six'"]),
    ({"duration_seconds": 7.0}, "bell", ["duration_seconds says 7 s", "lasts 6.00 s", "more than 0.5 s"]),
    ({"title": None}, "bell", ["title is missing"]),
    ({"title": "x" * 101}, "bell", ["title must be at most 100 characters"]),
    ({"titel": "Bell"}, "bell", ["unknown field 'titel'", "did you mean 'title'?"]),
    ({"source_url": "http://soundcloud.test/bell"}, "bell", ["source_url must be a web link starting with https://"]),
    ({"file": "audio/missing.ogg"}, "bell", ["its file audio/missing.ogg is missing"]),
    ({"file": "../outside.ogg"}, "bell", ["is outside the folder of the recordings list"]),
    ({"file": "/etc/passwd"}, "bell", ["its file /etc/passwd is outside the folder"]),
    (
        {"sha256": "0" * 64},
        "bell",
        [
            "has changed since it was approved",
            "should start 000000000000",
            f"now starts {BELL_SHA[:12]}",
            "python -m bot recordings add",
            "Restore the approved file",
        ],
    ),
    ({"id": None}, "entry #1 (line 2)", ["id is missing"]),
]


@pytest.mark.parametrize(("changes", "name", "expected"), BROKEN, ids=[str(c)[:40] for c, _, _ in BROKEN])
def test_broken_entry_is_refused_with_its_reason(
    folder: Path, changes: dict[str, Any], name: str, expected: list[str]
) -> None:
    (folder.parent / "outside.ogg").write_bytes(BELL.read_bytes())
    catalog = load_recordings(write_list(folder, [entry(**changes)]))
    assert catalog.recordings == ()
    refusal = only_refusal(catalog)
    assert refusal.entry == name
    assert f"recording {name!r}" in str(refusal)
    for words in expected:
        assert words in refusal.problem
    assert "recordings.yaml line" in refusal.problem


def test_good_entries_still_load_beside_a_bad_one(folder: Path) -> None:
    shutil.copyfile(BELL, folder / "audio" / "bowl.ogg")
    path = write_list(
        folder,
        [
            entry(),
            entry(id="broken", kind="music"),
            entry(id="bowl", file="audio/bowl.ogg"),
        ],
    )
    catalog = load_recordings(path)
    assert catalog.ids() == ["bell", "bowl"]
    assert only_refusal(catalog).entry == "broken"
    assert [getattr(r, "id", None) or getattr(r, "entry", None) for r in catalog.results] == [
        "bell",
        "broken",
        "bowl",
    ]


def test_duplicate_id_keeps_the_first_and_refuses_the_second(folder: Path) -> None:
    catalog = load_recordings(write_list(folder, [entry(), entry(title="Another bell")]))
    assert catalog.get("bell").title == "Singing bowl bell"
    refusal = only_refusal(catalog)
    assert refusal.entry == "bell"
    assert "already used by the entry at line 2" in refusal.problem


def test_a_field_given_twice_is_refused(folder: Path) -> None:
    text = (
        "recordings:\n"
        f"- id: bell\n  title: Bell\n  title: Other\n  source: X\n  kind: bell\n  language: zxx\n"
        f"  duration_seconds: 6.0\n  file: audio/bell.ogg\n  sha256: {BELL_SHA}\n"
    )
    refusal = only_refusal(load_recordings(write_list(folder, text=text)))
    assert "gives title more than once" in refusal.problem


def test_an_entry_that_is_not_a_set_of_fields_is_named_by_position(folder: Path) -> None:
    catalog = load_recordings(write_list(folder, text="recordings:\n  - just some words\n"))
    refusal = only_refusal(catalog)
    assert refusal.entry == "entry #1 (line 2)"
    assert "must be a set of fields" in refusal.problem


def test_a_file_that_is_not_ogg_opus_is_refused_even_with_the_right_hash(folder: Path) -> None:
    wav = folder / "audio" / "tone.wav"
    wav.write_bytes(b"RIFF" + bytes(100))
    refusal = only_refusal(
        load_recordings(
            write_list(
                folder,
                [
                    entry(file="audio/tone.wav", sha256=audio.sha256_file(wav)),
                ],
            )
        )
    )
    assert "is not Ogg/Opus audio" in refusal.problem
    assert "recordings add" in refusal.problem


def test_a_duration_within_half_a_second_is_accepted(folder: Path) -> None:
    catalog = load_recordings(write_list(folder, [entry(duration_seconds=6.4)]))
    assert catalog.refused == []


def test_an_absolute_path_inside_the_folder_is_accepted(folder: Path) -> None:
    catalog = load_recordings(write_list(folder, [entry(file=str(folder / "audio" / "bell.ogg"))]))
    assert catalog.refused == []


def test_a_symlink_leading_outside_the_folder_is_refused(
    folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "bell.ogg"
    shutil.copyfile(BELL, outside)
    (folder / "audio" / "link.ogg").symlink_to(outside)
    refusal = only_refusal(load_recordings(write_list(folder, [entry(file="audio/link.ogg")])))
    assert "outside the folder" in refusal.problem


def test_a_file_changed_after_it_was_added_is_refused(folder: Path) -> None:
    path = write_list(folder, [entry()])
    assert load_recordings(path).refused == []
    with (folder / "audio" / "bell.ogg").open("ab") as stream:
        stream.write(b"\0")
    refusal = only_refusal(load_recordings(path))
    assert "has changed since it was approved" in refusal.problem


# --- whole-file problems -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("recordings:\n  - id: bell\n    title: [unclosed\n", ["not valid YAML", "line 4, column 1"]),
        ("recordings:\n- id: a\n  title: x: y\n", ["not valid YAML", "line 3, column 11"]),
        ("- id: bell\n", ["must start with 'recordings:'", "line 1, column 1"]),
        ("recording:\n  - id: bell\n", ["must start with 'recordings:'", "'recording'", "line 1, column 1"]),
        ("recordings: []\nextra: 1\n", ["nothing else at the top level", "'extra'", "line 2, column 1"]),
        ("recordings: some text\n", ["each entry begins with '- id:'", "line 1, column 13"]),
        ("# only a comment\n", ["is empty"]),
    ],
)
def test_whole_file_problems_name_line_and_column(folder: Path, text: str, expected: list[str]) -> None:
    with pytest.raises(RecordingError) as caught:
        load_recordings(write_list(folder, text=text))
    for words in expected:
        assert words in str(caught.value)


def test_an_empty_list_is_fine(folder: Path) -> None:
    assert len(load_recordings(write_list(folder, text="recordings:\n"))) == 0
    assert len(load_recordings(write_list(folder, text="recordings: []\n"))) == 0


def test_a_missing_list_says_how_to_create_one(folder: Path) -> None:
    with pytest.raises(RecordingError, match="recordings add"):
        load_recordings(folder / "nope.yaml")


# --- lookups -------------------------------------------------------------------------------------


def test_unknown_id_lists_the_approved_ones(folder: Path) -> None:
    catalog = load_recordings(write_list(folder, [entry()]))
    with pytest.raises(NotFoundError, match="no approved recording 'metta'; approved ids: bell"):
        catalog.get("metta")


def test_a_refused_id_says_why(folder: Path) -> None:
    catalog = load_recordings(write_list(folder, [entry(kind="music")]))
    with pytest.raises(NotFoundError, match="listed but was refused: kind must be one of"):
        catalog.get("bell")


def test_unknown_kind_lists_the_kinds(folder: Path) -> None:
    catalog = load_recordings(write_list(folder, [entry()]))
    with pytest.raises(NotFoundError, match="practice, welcome-reading, bell"):
        catalog.by_kind("music")


# --- verify_before_play --------------------------------------------------------------------------


def test_verify_before_play_returns_the_path_of_an_untouched_file(folder: Path) -> None:
    bell = load_recordings(write_list(folder, [entry()])).get("bell")
    assert verify_before_play(bell) == folder / "audio" / "bell.ogg"


def test_verify_before_play_catches_a_file_tampered_after_load(folder: Path) -> None:
    bell = load_recordings(write_list(folder, [entry()])).get("bell")
    data = bytearray((folder / "audio" / "bell.ogg").read_bytes())
    data[-1] ^= 0xFF
    (folder / "audio" / "bell.ogg").write_bytes(bytes(data))
    with pytest.raises(RecordingError, match="recording 'bell': .*has changed since it was approved"):
        verify_before_play(bell)


def test_verify_before_play_catches_a_removed_file(folder: Path) -> None:
    bell = load_recordings(write_list(folder, [entry()])).get("bell")
    (folder / "audio" / "bell.ogg").unlink()
    with pytest.raises(RecordingError, match="is missing"):
        verify_before_play(bell)


def test_verify_before_play_catches_a_file_swapped_for_a_link_outside(
    folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    bell = load_recordings(write_list(folder, [entry()])).get("bell")
    outside = tmp_path_factory.mktemp("elsewhere") / "bell.ogg"
    shutil.copyfile(BELL, outside)
    (folder / "audio" / "bell.ogg").unlink()
    (folder / "audio" / "bell.ogg").symlink_to(outside)
    with pytest.raises(RecordingError, match="outside the folder"):
        verify_before_play(bell)


# --- adding --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Affectionate Breathing", "affectionate-breathing"),
        ("Bondad amorosa (Español)", "bondad-amorosa-espanol"),
        ("  --Soften, Soothe & Allow--  ", "soften-soothe-allow"),
        ("x" * 60, "x" * 40),
        ("慈悲", ""),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_add_appends_below_existing_entries_and_keeps_comments(folder: Path) -> None:
    path = write_list(
        folder,
        text=(
            "# Our list\nrecordings:\n  # the bell\n  - id: bell\n    title: Bell\n    source: X\n"
            f"    kind: bell\n    language: zxx\n    duration_seconds: 6.0\n    file: audio/bell.ogg\n"
            f"    sha256: {BELL_SHA}\n"
        ),
    )
    source = folder / "incoming.ogg"
    shutil.copyfile(BELL, source)
    result = add_recording(source, recordings_path=path, title="Second Bell", kind="bell", source="Y")
    assert not result.converted
    text = path.read_text()
    assert text.startswith("# Our list\nrecordings:\n  # the bell\n  - id: bell\n")
    assert "\n  - id: second-bell\n    title: Second Bell\n" in text
    assert load_recordings(path).ids() == ["bell", "second-bell"]


def test_add_to_an_empty_flow_list_keeps_the_header(folder: Path) -> None:
    path = write_list(folder, text="# Header kept\n\nrecordings: []\n")
    source = folder / "incoming.ogg"
    shutil.copyfile(BELL, source)
    add_recording(source, recordings_path=path, title="Bell", kind="bell", source="Y", recording_id="b")
    text = path.read_text()
    assert text.startswith("# Header kept\n")
    assert load_recordings(path).ids() == ["b"]


def test_add_refuses_bad_metadata_before_touching_anything(folder: Path) -> None:
    path = write_list(folder, [entry()])
    before = path.read_bytes()
    with pytest.raises(RecordingError, match="kind must be one of"):
        add_recording(BELL, recordings_path=path, title="X", kind="music", source="Y")
    assert path.read_bytes() == before
    assert sorted(p.name for p in (folder / "audio").iterdir()) == ["bell.ogg"]


def test_add_refuses_an_audio_folder_outside_the_list_folder(
    folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = write_list(folder, [entry()])
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    with pytest.raises(RecordingError, match="outside"):
        add_recording(BELL, recordings_path=path, title="X", kind="bell", source="Y", audio_dir=elsewhere)
    assert list(elsewhere.iterdir()) == []
