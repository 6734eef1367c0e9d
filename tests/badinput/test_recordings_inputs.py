"""recordings.yaml: a bad entry is refused by name with the field and what is allowed; the rest still load.

Each broken entry sits beside a good one (`bowl`), which must still be approved. The list is read
with `load_recordings` and with `python -m bot recordings verify` / `list` in-process: verify exits
1 with a REFUSED line naming the entry, list exits 0 and says one entry is refused, nothing is
printed on stderr, and the list file and audio folder are byte-for-byte unchanged.
"""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.errors import RecordingError
from bot.media import conversion as audio
from bot.media.recordings import load_recordings
from tests.badinput.cases import (
    BEL,
    BOLD,
    EMOJI_TITLE,
    ESC,
    EVERYONE,
    EVIL_URL,
    FILE_URL,
    MASKED_LINK,
    NUL,
    RLO,
    TRAVERSAL,
    ZWSP,
    missing,
    raw_wording,
    tree,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
BELL = REPO_ROOT / "audio" / "bell.ogg"
BELL_SHA = audio.sha256_file(BELL)
ID_RULE = "at most 40 lowercase letters, digits and hyphens"
INVISIBLE = "invisible control character"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A list folder holding audio/bell.ogg and audio/bowl.ogg (real Ogg/Opus, 6 s each)."""
    (tmp_path / "audio").mkdir()
    for name in ("bell.ogg", "bowl.ogg"):
        shutil.copyfile(BELL, tmp_path / "audio" / name)
    (tmp_path.parent / "outside.ogg").write_bytes(BELL.read_bytes())
    return tmp_path


def entry(**changes: Any) -> dict[str, Any]:
    """A valid entry for audio/bell.ogg with changes; the value DROP removes a field."""
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
    return {key: value for key, value in base.items() if value is not DROP}


DROP = object()
COMPANION = entry(id="bowl", title="Bowl", file="audio/bowl.ogg")


def cli(*arguments: str) -> tuple[int, str, str]:
    """Run `python -m bot recordings ...` in-process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(["recordings", *arguments])
        except SystemExit as stop:
            code = int(stop.code or 0)
    return code, out.getvalue(), err.getvalue()


# (changes to the entry, the name the refusal is filed under, words the reason must contain)
BROKEN: list[Any] = [
    # --- ids: addresses and paths where a short slug belongs -----------------------------------------
    pytest.param({"id": EVIL_URL}, EVIL_URL, ["id must be", ID_RULE, repr(EVIL_URL)], id="id-https-url"),
    pytest.param({"id": TRAVERSAL}, TRAVERSAL, ["id must be", ID_RULE, repr(TRAVERSAL)], id="id-path-traversal"),
    pytest.param({"id": FILE_URL}, FILE_URL, ["id must be", ID_RULE, repr(FILE_URL)], id="id-file-url"),
    pytest.param({"id": "Bell_1"}, "Bell_1", ["id must be", ID_RULE], id="id-upper-and-underscore"),
    pytest.param({"id": "-bell"}, "-bell", ["id must be", "starting with a letter or digit"], id="id-leading-hyphen"),
    pytest.param({"id": "a" * 41}, "a" * 41, ["id must be at most 40"], id="id-41-chars"),
    pytest.param({"id": "🔔"}, "🔔", ["id must be", ID_RULE], id="id-emoji"),
    pytest.param({"id": f"bell{RLO}"}, f"bell{RLO}", ["id ", INVISIBLE, "U+202E"], id="id-bidi-override"),
    pytest.param({"id": ""}, "entry #2 (line 10)", ["id must not be empty"], id="id-empty"),
    pytest.param({"id": 5}, "entry #2 (line 10)", ["id must be text, got 5"], id="id-number"),
    pytest.param({"id": DROP}, "entry #2 (line 10)", ["id is missing"], id="id-missing"),
    # --- titles and sources: shown in Discord menus ---------------------------------------------------
    pytest.param({"title": ""}, "bell", ["title must not be empty"], id="title-empty"),
    pytest.param({"title": "   "}, "bell", ["title must not be empty"], id="title-blank"),
    pytest.param(
        {"title": "x" * 101}, "bell", ["title must be at most 100 characters", "got 101"], id="title-101-chars"
    ),
    pytest.param({"title": f"Bell{NUL}"}, "bell", ["title ", INVISIBLE, "U+0000"], id="title-NUL"),
    pytest.param({"title": f"{RLO}lleB"}, "bell", ["title ", INVISIBLE, "U+202E"], id="title-bidi-override"),
    pytest.param({"title": f"Be{ZWSP}ll"}, "bell", ["title ", INVISIBLE, "U+200B"], id="title-zero-width-space"),
    pytest.param({"title": f"{ESC}[31mBell"}, "bell", ["title ", INVISIBLE, "U+001B"], id="title-terminal-escape"),
    pytest.param({"title": "Bell\nsecond line"}, "bell", ["title must be on one line"], id="title-two-lines"),
    pytest.param({"title": 42}, "bell", ["title must be text, got 42"], id="title-number"),
    pytest.param({"title": ["Bell"]}, "bell", ["title must be text"], id="title-list"),
    pytest.param({"source": ""}, "bell", ["source must not be empty"], id="source-empty"),
    pytest.param({"source": f"Teacher{BEL}"}, "bell", ["source ", INVISIBLE, "U+0007"], id="source-bell-char"),
    # --- kind and language ------------------------------------------------------------------------------
    pytest.param(
        {"kind": "music"}, "bell", ["kind must be one of practice, welcome-reading, bell", "'music'"], id="kind-unknown"
    ),
    pytest.param({"kind": "BELL"}, "bell", ["kind must be one of", "'BELL'"], id="kind-upper-case"),
    pytest.param({"kind": None}, "bell", ["kind must be one of", "None"], id="kind-null"),
    pytest.param(
        {"language": "english"},
        "bell",
        ["language must be a language code such as en", "'english'"],
        id="language-word",
    ),
    pytest.param(
        {"language": "en_US"}, "bell", ["language must be a language code", "pt-BR"], id="language-underscore"
    ),
    pytest.param({"language": "e"}, "bell", ["language must be a language code"], id="language-one-letter"),
    pytest.param({"language": False}, "bell", ["language must be text, got False"], id="language-yaml-no"),
    # --- duration: negative, zero, huge, not a number ------------------------------------------------------
    pytest.param(
        {"duration_seconds": -3}, "bell", ["duration_seconds must be a positive number", "-3"], id="duration-negative"
    ),
    pytest.param(
        {"duration_seconds": 0}, "bell", ["duration_seconds must be a positive number", "got 0"], id="duration-zero"
    ),
    pytest.param(
        {"duration_seconds": "six"}, "bell", ["duration_seconds must be a positive number", "'six'"], id="duration-text"
    ),
    pytest.param(
        {"duration_seconds": True}, "bell", ["duration_seconds must be a positive number", "True"], id="duration-bool"
    ),
    pytest.param(
        {"duration_seconds": float("nan")},
        "bell",
        ["duration_seconds must be a positive number", "nan"],
        id="duration-nan",
    ),
    pytest.param(
        {"duration_seconds": float("inf")},
        "bell",
        ["duration_seconds must be a positive number", "inf"],
        id="duration-inf",
    ),
    pytest.param(
        {"duration_seconds": 10**400},
        "bell",
        ["duration_seconds must be a positive number", "inf"],
        id="duration-400-digits",
    ),
    pytest.param(
        {"duration_seconds": 60.0}, "bell", ["duration_seconds says 60 s", "lasts 6.00 s"], id="duration-wrong"
    ),
    # --- file: only a file inside the list's folder, never a URL or a way out ---------------------------------
    pytest.param({"file": EVIL_URL}, "bell", [f"its file {EVIL_URL} is missing", "looked for"], id="file-https-url"),
    pytest.param({"file": FILE_URL}, "bell", [f"its file {FILE_URL} is missing"], id="file-file-url"),
    pytest.param(
        {"file": TRAVERSAL},
        "bell",
        ["is outside the folder of the recordings list", "audio/ folder"],
        id="file-path-traversal",
    ),
    pytest.param(
        {"file": "/etc/passwd"}, "bell", ["its file /etc/passwd is outside the folder"], id="file-absolute-outside"
    ),
    pytest.param({"file": "../outside.ogg"}, "bell", ["is outside the folder"], id="file-parent-folder"),
    pytest.param({"file": "audio"}, "bell", ["its file audio is missing"], id="file-is-a-folder"),
    pytest.param({"file": "audio/bell.ogg\x00.txt"}, "bell", ["file ", INVISIBLE, "U+0000"], id="file-NUL"),
    pytest.param({"file": ""}, "bell", ["file must not be empty"], id="file-empty"),
    # --- sha256 -----------------------------------------------------------------------------------------
    pytest.param(
        {"sha256": "abc123"}, "bell", ["sha256 must be 64 hexadecimal digits", "recordings add"], id="sha-short"
    ),
    pytest.param({"sha256": "g" * 64}, "bell", ["sha256 must be 64 hexadecimal digits"], id="sha-not-hex"),
    pytest.param(
        {"sha256": "0" * 64},
        "bell",
        ["has changed since it was approved", "Restore the approved file"],
        id="sha-other-file",
    ),
    # --- source_url and unknown fields -------------------------------------------------------------------
    pytest.param(
        {"source_url": "http://soundcloud.test/bell"},
        "bell",
        ["source_url must be a web link starting with https://"],
        id="source-url-http",
    ),
    pytest.param(
        {"source_url": "javascript:alert(1)"}, "bell", ["source_url must be a web link"], id="source-url-javascript"
    ),
    pytest.param({"source_url": FILE_URL}, "bell", ["source_url must be a web link"], id="source-url-file"),
    pytest.param({"titel": "Bell"}, "bell", ["unknown field 'titel'", "did you mean 'title'?"], id="field-misspelt"),
    pytest.param({"url": EVIL_URL}, "bell", ["unknown field 'url'", "the fields are id, title"], id="field-url"),
]

# Whole-file problems: (text of recordings.yaml, words the error must contain)
WHOLE_FILE: list[Any] = [
    pytest.param(
        "recordings:\n  - id: bell\n    title: [unclosed\n",
        ["not valid YAML", "line 4, column 1"],
        id="yaml-unclosed-list",
    ),
    pytest.param(
        "recordings:\n\t- id: bell\n", ["not valid YAML", "line 2, column 1", "indentation"], id="yaml-tab-indent"
    ),
    pytest.param("recordings:\n  - id: a\x00\n", ["not valid YAML", "#x0000"], id="yaml-raw-NUL"),
    pytest.param(
        "recordings:\n  - !!python/object/apply:os.system ['echo hi']\n",
        ["not valid YAML", "line 2, column 5", "no tags starting with !"],
        id="yaml-python-tag",
    ),
    pytest.param(
        "recordings:\n  - id: bell\n    title: 2026-02-30\n",
        ["not valid YAML", "line 2", "day is out of range", 'title: "2026-02-30"'],
        id="yaml-date-30-february",
    ),
    pytest.param(
        "recordings:\n  - id: bell\n    duration_seconds: " + "9" * 5000 + "\n",
        ["not valid YAML", "line 2", "a value cannot be read"],
        id="yaml-5000-digit-number",
    ),
    pytest.param(
        "recordings:\n  - <<: 5\n", ["not valid YAML", "line 2", "a value cannot be read"], id="yaml-bad-merge"
    ),
    pytest.param("- id: bell\n", ["must start with 'recordings:'", "line 1, column 1"], id="top-level-list"),
    pytest.param("recordings: some text\n", ["each entry begins with '- id:'"], id="recordings-is-text"),
    pytest.param("recordings: []\nextra: 1\n", ["nothing else at the top level", "'extra'"], id="extra-top-key"),
    pytest.param("# only a comment\n", ["is empty"], id="empty-list-file"),
    pytest.param(b"recordings:\n  - id: caf\xe9\n", ["is not UTF-8 text", "save it as UTF-8"], id="not-utf8"),
]

# Good controls: entries that must be approved, so the table cannot pass by refusing everything.
GOOD: list[Any] = [
    pytest.param({}, id="base"),
    pytest.param({"title": EMOJI_TITLE}, id="title-emoji-only"),
    pytest.param({"title": f"{EVERYONE} {BOLD} {MASKED_LINK}"}, id="title-mention-and-markdown-kept-inert"),
    pytest.param({"title": "Bondad amorosa (Español) · 慈悲"}, id="title-accents-and-cjk"),
    pytest.param({"sha256": BELL_SHA.upper()}, id="sha-upper-case"),
    pytest.param({"duration_seconds": 6.4}, id="duration-within-half-a-second"),
    pytest.param({"language": "pt-BR"}, id="language-region"),
    pytest.param({"language": "zh-Hant"}, id="language-script"),
    pytest.param({"source_url": "https://soundcloud.test/bell"}, id="source-url-https"),
    pytest.param({"id": "loving-kindness-2"}, id="id-slug"),
]


def write_list(folder: Path, data: Any) -> Path:
    """Write recordings.yaml from entries (a list) or raw text/bytes."""
    path = folder / "recordings.yaml"
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump({"recordings": data}, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(("changes", "name", "expected"), BROKEN)
def test_bad_entry_is_refused_by_name_and_the_others_still_load(
    folder: Path, changes: dict[str, Any], name: str, expected: list[str]
) -> None:
    path = write_list(folder, [COMPANION, entry(**changes)])
    before = tree(folder)

    catalog = load_recordings(path)
    assert catalog.ids() == ["bowl"], "the good entry beside it is still approved"
    [refusal] = catalog.refused
    assert refusal.entry == name
    assert not missing(refusal.problem, expected), f"{refusal.problem!r} lacks {missing(refusal.problem, expected)}"
    assert "recordings.yaml line" in refusal.problem
    assert not raw_wording(refusal.problem)

    code, out, err = cli("verify", "--recordings", str(path))
    assert (code, err) == (1, "")
    assert "OK       bowl" in out and f"REFUSED  {name}: " in out and "1 of 2 refused" in out
    code, out, err = cli("list", "--recordings", str(path))
    assert (code, err) == (0, "")
    assert "1 entry is refused" in out
    assert tree(folder) == before, "reading the list never changes it"


@pytest.mark.parametrize(("text", "expected"), WHOLE_FILE)
def test_unreadable_list_is_refused_whole_with_line_and_column(
    folder: Path, text: str | bytes, expected: list[str]
) -> None:
    path = write_list(folder, text)
    before = tree(folder)
    with pytest.raises(RecordingError) as caught:
        load_recordings(path)
    message = str(caught.value)
    assert not missing(message, expected), f"{message!r} lacks {missing(message, expected)}"
    assert not raw_wording(message)

    for command in ("verify", "list"):
        code, out, err = cli(command, "--recordings", str(path))
        assert (code, out) == (2, "")
        assert err.startswith("error: ") and not missing(err, expected[:1]) and not raw_wording(err)
    assert tree(folder) == before


@pytest.mark.parametrize("changes", GOOD)
def test_good_controls_are_approved(folder: Path, changes: dict[str, Any]) -> None:
    path = write_list(folder, [COMPANION, entry(**changes)])
    catalog = load_recordings(path)
    assert catalog.refused == []
    assert len(catalog.ids()) == 2
    code, out, err = cli("verify", "--recordings", str(path))
    assert (code, err) == (0, "") and "all 2 recording(s) OK" in out
