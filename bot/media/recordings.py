"""recordings.yaml -> the approved allow-list: only these recordings may ever be played.

Each entry names a file inside the list's folder together with its sha256 and duration. An entry
that fails any check is refused (kept in `RecordingCatalog.refused` with its reason) and never
offered; the others still load. `verify_before_play` re-hashes a file immediately before it is sent.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, get_args

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from bot.errors import NotFoundError, RecordingError
from bot.media import conversion as audio
from bot.model import Recording
from bot.validation import invisible_character

Kind = Literal["practice", "welcome-reading", "bell"]
KINDS: tuple[str, ...] = get_args(Kind)
ID_MAX_CHARS = 40
# Titles appear as labels in Discord menus, which hold at most 100 characters.
TITLE_MAX_CHARS = 100
DURATION_TOLERANCE_SECONDS = 0.5
ADD_COMMAND = "python -m bot recordings add"

HEADER = """\
# Approved recordings: the only audio Practice Circles will ever play.
#
# Add a recording (it is converted to Ogg/Opus and its sha256 and duration are filled in):
#   python -m bot recordings add FILE --title "Title" --kind practice --source "Teacher or source"
# Check every entry:
#   python -m bot recordings verify
#
# Every entry is checked when the bot starts: its file must be inside this folder, match its sha256
# exactly and last duration_seconds (within half a second). An entry that fails is refused and never
# offered; the others still work. Changing a file in any way changes its sha256.
# kind is one of: practice, welcome-reading, bell. language is a code such as en, es or pt-BR.
"""

_ERROR_TYPE = "practice_circles"
_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")
# BCP 47 language tags as used here: language, optional script, optional region (en, zh-Hant, pt-BR, es-419).
_LANGUAGE_PATTERN = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z]{4})?(-(?:[A-Za-z]{2}|[0-9]{3}))?")
_SHA256_PATTERN = re.compile(r"[0-9a-fA-F]{64}")


# --- one entry -----------------------------------------------------------------------------------


def _fail(reason: str) -> PydanticCustomError:
    """A validation error carrying our own wording."""
    return PydanticCustomError(_ERROR_TYPE, "{reason}", {"reason": reason})


def _text(value: Any) -> str:
    """Non-empty text on one line, without control or invisible formatting characters."""
    if not isinstance(value, str):
        raise _fail(f"must be text, got {value!r}")
    if not value.strip():
        raise _fail("must not be empty")
    character = invisible_character(value.strip())
    if character == "\n":
        raise _fail("must be on one line")
    if character is not None:
        # Titles and sources reach Discord menus; file names reach the file system.
        raise _fail(
            f"contains an invisible control character (U+{ord(character):04X}); "
            "retype it without copying special characters"
        )
    return value.strip()


def _recording_id(value: Any) -> str:
    """A short slug: lowercase letters, digits and hyphens."""
    text = _text(value)
    if not _ID_PATTERN.fullmatch(text) or len(text) > ID_MAX_CHARS:
        raise _fail(
            f"must be at most {ID_MAX_CHARS} lowercase letters, digits and hyphens, starting with a "
            f"letter or digit (like 'loving-kindness-es'), got {text!r}"
        )
    return text


def _title(value: Any) -> str:
    """A title short enough for a Discord menu."""
    text = _text(value)
    if len(text) > TITLE_MAX_CHARS:
        raise _fail(f"must be at most {TITLE_MAX_CHARS} characters (Discord menus cut longer ones), got {len(text)}")
    return text


def _kind(value: Any) -> str:
    """One of the known kinds."""
    if value not in KINDS:
        raise _fail(f"must be one of {', '.join(KINDS)}; got {value!r}")
    return str(value)


def _language(value: Any) -> str:
    """A BCP 47 language tag such as en, es or pt-BR."""
    text = _text(value)
    if not _LANGUAGE_PATTERN.fullmatch(text):
        raise _fail(f"must be a language code such as en, es, fr or pt-BR, got {text!r}")
    return text


def _duration(value: Any) -> float:
    """A positive number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise _fail(f"must be a positive number of seconds, like 312.5, got {value!r}")
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds):
        raise _fail(f"must be a positive number of seconds, like 312.5, got {seconds}")
    return seconds


def _sha256(value: Any) -> str:
    """64 hexadecimal digits."""
    text = _text(value)
    if not _SHA256_PATTERN.fullmatch(text):
        raise _fail(f"must be 64 hexadecimal digits (as `{ADD_COMMAND}` writes it), got {text!r}")
    return text.lower()


def _https(value: Any) -> str:
    """An https:// link."""
    text = _text(value)
    if not re.fullmatch(r"https://[^\s/]+\.[^\s/]+(/\S*)?", text):
        raise _fail(f"must be a web link starting with https://, got {text!r}")
    return text


class RecordingEntry(BaseModel):
    """One entry of recordings.yaml, as written."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: Annotated[str, BeforeValidator(_recording_id)]
    title: Annotated[str, BeforeValidator(_title)]
    source: Annotated[str, BeforeValidator(_text)]
    kind: Annotated[str, BeforeValidator(_kind)]
    language: Annotated[str, BeforeValidator(_language)]
    duration_seconds: Annotated[float, BeforeValidator(_duration)]
    file: Annotated[str, BeforeValidator(_text)]
    sha256: Annotated[str, BeforeValidator(_sha256)]
    source_url: Annotated[str | None, BeforeValidator(lambda v: None if v is None else _https(v))] = None


def _entry_problems(error: ValidationError) -> list[str]:
    """Pydantic's findings about one entry, in plain words."""
    problems: list[str] = []
    for item in error.errors(include_url=False):
        name = ".".join(str(part) for part in item["loc"])
        if item["type"] == _ERROR_TYPE:
            problems.append(f"{name} {(item.get('ctx') or {})['reason']}")
        elif item["type"] == "missing":
            problems.append(f"{name} is missing")
        elif item["type"] == "extra_forbidden":
            close = difflib.get_close_matches(name, list(RecordingEntry.model_fields), n=1)
            hint = (
                f" — did you mean {close[0]!r}?"
                if close
                else (f"; the fields are {', '.join(RecordingEntry.model_fields)}")
            )
            problems.append(f"has an unknown field {name!r}{hint}")
        else:
            problems.append(f"{name} is not valid: {item['msg']}")
    return problems


# --- the catalog ---------------------------------------------------------------------------------


@dataclass
class RecordingCatalog:
    """Approved recordings in file order, plus the refused entries and why."""

    path: Path
    recordings: tuple[Recording, ...] = ()
    refused: list[RecordingError] = field(default_factory=list)
    # Every entry in file order, approved or refused, for `recordings verify`.
    results: tuple[Recording | RecordingError, ...] = ()

    def __iter__(self) -> Iterator[Recording]:
        return iter(self.recordings)

    def __len__(self) -> int:
        return len(self.recordings)

    def ids(self) -> list[str]:
        """The ids of the approved recordings."""
        return [recording.id for recording in self.recordings]

    def get(self, recording_id: str) -> Recording:
        """The approved recording with this id; NotFoundError lists the approved ids otherwise."""
        for recording in self.recordings:
            if recording.id == recording_id:
                return recording
        for error in self.refused:
            if error.entry == recording_id:
                raise NotFoundError(f"the recording {recording_id!r} is listed but was refused: {error.problem}")
        approved = ", ".join(self.ids()) or "none yet"
        raise NotFoundError(f"there is no approved recording {recording_id!r}; approved ids: {approved}")

    def by_kind(self, kind: str) -> list[Recording]:
        """The approved recordings of one kind, in file order."""
        if kind not in KINDS:
            raise NotFoundError(f"there is no recording kind {kind!r}; the kinds are {', '.join(KINDS)}")
        return [recording for recording in self.recordings if recording.kind == kind]


@dataclass(frozen=True)
class _RawEntry:
    """One item of the `recordings` list as YAML gave it, with where it was."""

    position: int
    line: int
    data: Any
    duplicate_keys: tuple[str, ...]

    @property
    def name(self) -> str:
        """The entry's id if it has a usable one, else its position."""
        value = self.data.get("id") if isinstance(self.data, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip()
        return f"entry #{self.position} (line {self.line})"


def load_recordings(path: str | os.PathLike[str]) -> RecordingCatalog:
    """Read recordings.yaml and check every entry against its file; bad entries are refused, not fatal."""
    path = Path(path).absolute()
    text = _read(path)
    if text is None:
        raise RecordingError(
            "",
            (
                f"there is no approved-recordings list at {path}; create it by adding a recording with "
                f"`{ADD_COMMAND} FILE --title ... --kind ...`, or set [recordings] file in config.toml"
            ),
        )
    return _check_entries(path, _parse(text, path.name))


def _read(path: Path) -> str | None:
    """The list's text, or None when there is no such file."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise RecordingError("", f"{path} is not UTF-8 text; save it as UTF-8") from None
    except OSError as error:
        raise RecordingError("", f"cannot read {path}: {error.strerror}") from None


def _parse(text: str, name: str) -> list[_RawEntry]:
    """Parse the YAML and its `recordings:` list; whole-file problems raise with line and column."""
    try:
        # The reader refuses characters YAML does not allow (NUL, most control characters) at once.
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as error:
        raise RecordingError("", f"{name} is not valid YAML: {error}") from None
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
            problem = error.problem or error.context or "unreadable"
            raise RecordingError(
                "",
                (
                    f"{name} is not valid YAML: {where}{problem} (check indentation, and put text "
                    "containing ': ' or '#' in quotes)"
                ),
            ) from None
        except yaml.YAMLError as error:
            raise RecordingError("", f"{name} is not valid YAML: {error}") from None
        shape = f"{name} must start with 'recordings:' followed by a list of entries"
        if root is None:
            raise RecordingError("", f"{name} is empty; it must start with 'recordings:' followed by a list")
        if not isinstance(root, yaml.MappingNode):
            mark = root.start_mark
            raise RecordingError("", f"{shape} (line {mark.line + 1}, column {mark.column + 1})")
        entries_node: yaml.Node | None = None
        for key_node, value_node in root.value:
            if key_node.value != "recordings" or entries_node is not None:
                mark = key_node.start_mark
                raise RecordingError(
                    "",
                    (
                        f"{shape}, and nothing else at the top level; found {key_node.value!r} "
                        f"(line {mark.line + 1}, column {mark.column + 1})"
                    ),
                )
            entries_node = value_node
        if entries_node is None:
            raise RecordingError("", f"{shape} (line 1, column 1)")
        if isinstance(entries_node, yaml.ScalarNode) and entries_node.tag == "tag:yaml.org,2002:null":
            return []
        if not isinstance(entries_node, yaml.SequenceNode):
            mark = entries_node.start_mark
            raise RecordingError(
                "", (f"{shape}; each entry begins with '- id:' (line {mark.line + 1}, column {mark.column + 1})")
            )
        raw: list[_RawEntry] = []
        for position, item in enumerate(entries_node.value, start=1):
            keys = [k.value for k, _ in item.value] if isinstance(item, yaml.MappingNode) else []
            duplicates = tuple(sorted({k for k in keys if keys.count(k) > 1}))
            data = _construct(loader, item, name)
            raw.append(_RawEntry(position, item.start_mark.line + 1, data, duplicates))
        return raw
    finally:
        loader.dispose()


def _construct(loader: yaml.SafeLoader, item: yaml.Node, name: str) -> Any:
    """One entry's values; a tag that is not allowed or a value that cannot exist (2026-02-30) is refused."""
    try:
        return loader.construct_document(item)
    except (yaml.YAMLError, ValueError, OverflowError) as error:
        mark = getattr(error, "problem_mark", None) or item.start_mark
        problem = getattr(error, "problem", None) or str(error)
        raise RecordingError(
            "",
            (
                f"{name} is not valid YAML: line {mark.line + 1}, column {mark.column + 1}: a value cannot be read "
                f'({problem}). Put text in quotes, like title: "2026-02-30", and use no tags starting with !'
            ),
        ) from None


def _check_entries(path: Path, raw_entries: list[_RawEntry]) -> RecordingCatalog:
    """Check each raw entry; keep the good ones, refuse the others with a reason."""
    base_dir = path.parent
    results: list[Recording | RecordingError] = []
    first_line_of: dict[str, int] = {}
    for raw in raw_entries:
        try:
            recording = _check_entry(raw, base_dir, path.name)
        except RecordingError as error:
            results.append(error)
            continue
        if recording.id in first_line_of:
            results.append(
                RecordingError(
                    recording.id,
                    (
                        f"the id {recording.id!r} is already used by the entry at line "
                        f"{first_line_of[recording.id]}; give each entry its own id (line {raw.line})"
                    ),
                )
            )
            continue
        first_line_of[recording.id] = raw.line
        results.append(recording)
    return RecordingCatalog(
        path=path,
        recordings=tuple(r for r in results if isinstance(r, Recording)),
        refused=[r for r in results if isinstance(r, RecordingError)],
        results=tuple(results),
    )


def _check_entry(raw: _RawEntry, base_dir: Path, list_name: str) -> Recording:
    """Validate one entry's fields, then its file: location, sha256, format and duration."""
    where = f"({list_name} line {raw.line})"
    if not isinstance(raw.data, dict):
        raise RecordingError(raw.name, f"must be a set of fields such as 'id: ...' and 'title: ...' {where}")
    if raw.duplicate_keys:
        raise RecordingError(raw.name, f"gives {', '.join(raw.duplicate_keys)} more than once {where}")
    try:
        entry = RecordingEntry.model_validate(raw.data)
    except ValidationError as error:
        raise RecordingError(raw.name, f"{'; '.join(_entry_problems(error))} {where}") from None
    path = _inside(base_dir, entry.file, entry.id, where)
    if not path.is_file():
        raise RecordingError(entry.id, f"its file {entry.file} is missing (looked for {path}) {where}")
    actual = audio.sha256_file(path)
    if actual != entry.sha256:
        raise RecordingError(entry.id, _changed_file(entry.file, entry.sha256, actual) + f" {where}")
    try:
        duration = audio.ogg_opus_duration(path)
    except RecordingError:
        raise RecordingError(
            entry.id,
            (
                f"its file {entry.file} is not Ogg/Opus audio; add the original with `{ADD_COMMAND}`, "
                f"which converts it {where}"
            ),
        ) from None
    if abs(duration - entry.duration_seconds) > DURATION_TOLERANCE_SECONDS:
        raise RecordingError(
            entry.id,
            (
                f"duration_seconds says {entry.duration_seconds:g} s but the file lasts {duration:.2f} s "
                f"(more than {DURATION_TOLERANCE_SECONDS} s apart); correct duration_seconds {where}"
            ),
        )
    return Recording(
        id=entry.id,
        title=entry.title,
        source=entry.source,
        kind=entry.kind,
        language=entry.language,
        duration_seconds=entry.duration_seconds,
        file=entry.file,
        sha256=entry.sha256,
        source_url=entry.source_url,
        path=path,
        base_dir=base_dir,
    )


def _inside(base_dir: Path, file: str, name: str, where: str = "") -> Path:
    """The entry's file resolved, refused unless it stays inside the list's folder (symlinks too)."""
    base = base_dir.resolve()
    candidate = (base_dir / file).resolve()
    if not candidate.is_relative_to(base):
        raise RecordingError(
            name,
            (
                f"its file {file} is outside the folder of the recordings list ({base}); keep recordings "
                f"in that folder, for example in its audio/ folder {where}"
            ).rstrip(),
        )
    return candidate


def _changed_file(file: str, expected: str, actual: str) -> str:
    """Explain a sha256 mismatch."""
    return (
        f"its file {file} has changed since it was approved: sha256 should start {expected[:12]}, "
        f"but it now starts {actual[:12]}. Restore the approved file, or if the new file is approved, "
        f"remove this entry and run `{ADD_COMMAND}` again"
    )


def verify_before_play(recording: Recording) -> Path:
    """Re-hash the file right now and return its path; RecordingError if it is not the approved file.

    Call this immediately before sending audio. Hashing reads the whole file, so from async code run
    it in a thread (asyncio.to_thread).
    """
    path = _inside(recording.base_dir, recording.file, recording.id)
    if not path.is_file():
        raise RecordingError(recording.id, f"its file {recording.file} is missing (looked for {path})")
    actual = audio.sha256_file(path)
    if actual != recording.sha256:
        raise RecordingError(recording.id, _changed_file(recording.file, recording.sha256, actual))
    return path


# --- adding --------------------------------------------------------------------------------------


def slugify(title: str) -> str:
    """A recording id from a title: 'Loving-Kindness (Español)' -> 'loving-kindness-espanol'."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:ID_MAX_CHARS].rstrip("-")


class AddResult(NamedTuple):
    """What `add_recording` did: the new approved recording, and whether its file was converted."""

    recording: Recording
    converted: bool


def add_recording(
    source_file: str | os.PathLike[str],
    *,
    recordings_path: str | os.PathLike[str],
    title: str,
    kind: str,
    source: str,
    language: str = "en",
    recording_id: str | None = None,
    source_url: str | None = None,
    audio_dir: str | os.PathLike[str] | None = None,
) -> AddResult:
    """Convert (or copy) a file into the audio folder and append its entry to recordings.yaml.

    Nothing is changed when anything fails: the new audio file is removed again and the list is
    only replaced, atomically, after the whole new list has been checked.
    """
    list_path = Path(recordings_path).absolute()
    base_dir = list_path.parent
    old_text = _read(list_path)
    old_entries = _parse(old_text, list_path.name) if old_text is not None else []
    rid = _new_entry_id(recording_id, title, kind, source, language, source_url, old_entries, list_path.name)
    folder = _audio_folder(audio_dir, base_dir, rid, list_path.name)
    source_path = audio.local_file(source_file)
    created_folder = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{rid}.ogg"
    if target.exists():
        raise RecordingError(rid, f"{target} already exists; remove it or choose another id with --id")
    try:
        converted = _place_audio(source_path, target)
        entry = _entry_for(target, base_dir, rid, title, kind, source, language, source_url)
        new_text = _with_entry(old_text, old_entries, entry, list_path.name)
        added = _checked_entry(list_path, new_text, rid)
        _write_atomically(list_path, new_text)
    except BaseException:
        target.unlink(missing_ok=True)
        if created_folder:
            # Only removes the folder if it is still empty, i.e. this call made it for nothing.
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return AddResult(added, converted)


def _new_entry_id(
    recording_id: str | None,
    title: str,
    kind: str,
    source: str,
    language: str,
    source_url: str | None,
    old_entries: list[_RawEntry],
    list_name: str,
) -> str:
    """The new entry's id, once its fields pass the entry check and no entry has that id yet."""
    rid = recording_id if recording_id is not None else slugify(title)
    if not rid:
        raise RecordingError(title, "cannot make an id from this title; give one with --id, like --id metta")
    draft = {
        "id": rid,
        "title": title,
        "source": source,
        "kind": kind,
        "language": language,
        "duration_seconds": 1.0,
        "file": "pending.ogg",
        "sha256": "0" * 64,
    }
    if source_url is not None:
        draft["source_url"] = source_url
    try:
        RecordingEntry.model_validate(draft)
    except ValidationError as error:
        raise RecordingError(rid, "; ".join(_entry_problems(error))) from None
    for raw in old_entries:
        if isinstance(raw.data, dict) and raw.data.get("id") == rid:
            raise RecordingError(
                rid, (f"{list_name} already has an entry with this id (line {raw.line}); choose another with --id")
            )
    return rid


def _audio_folder(audio_dir: str | os.PathLike[str] | None, base_dir: Path, rid: str, list_name: str) -> Path:
    """Where the new audio file goes: the given folder, or audio/ beside the list; never outside the list's folder."""
    folder = Path(audio_dir).absolute() if audio_dir is not None else base_dir / "audio"
    if not folder.resolve().is_relative_to(base_dir.resolve()):
        raise RecordingError(
            rid,
            (f"the audio folder {folder} is outside {base_dir}; recordings must stay in the folder of {list_name}"),
        )
    return folder


def _place_audio(source_path: Path, target: Path) -> bool:
    """Convert the file to Ogg/Opus at `target`, or copy it when it is ready for Discord; True if converted."""
    converted = not audio.ready_for_discord(source_path)
    if converted:
        audio.convert_to_ogg_opus(source_path, target)
    else:
        _copy_atomically(source_path, target)
    return converted


def _entry_for(
    target: Path,
    base_dir: Path,
    rid: str,
    title: str,
    kind: str,
    source: str,
    language: str,
    source_url: str | None,
) -> dict[str, Any]:
    """The list entry for the placed file, pinned by its sha256 and measured duration."""
    entry: dict[str, Any] = {
        "id": rid,
        "title": title.strip(),
        "source": source.strip(),
        "kind": kind,
        "language": language,
        "duration_seconds": round(audio.ogg_opus_duration(target), 2),
        "file": target.resolve().relative_to(base_dir.resolve()).as_posix(),
        "sha256": audio.sha256_file(target),
    }
    if source_url is not None:
        entry["source_url"] = source_url
    return entry


def _checked_entry(list_path: Path, new_text: str, rid: str) -> Recording:
    """The new entry as the whole new list's check approves it; RecordingError with its reason if not."""
    catalog = _check_entries(list_path, _parse(new_text, list_path.name))
    added = next((r for r in catalog.recordings if r.id == rid), None)
    if added is None:
        reasons = [e.problem for e in catalog.refused if e.entry == rid] or ["unknown reason"]
        raise RecordingError(rid, f"the new entry did not pass its own check: {reasons[0]}")
    return added


def _with_entry(old_text: str | None, old_entries: list[_RawEntry], entry: dict[str, Any], name: str) -> str:
    """The list's text with one more entry, keeping existing text and comments where possible."""
    expected = [raw.data for raw in old_entries] + [entry]
    if old_text is not None and old_entries:
        lines = old_text.splitlines()
        first = lines[old_entries[0].line - 1]
        indent = len(first) - len(first.lstrip(" "))
        if first.lstrip().startswith("- "):
            appended = old_text.rstrip("\n") + "\n\n" + _entry_block(entry, indent)
            if [raw.data for raw in _parse(appended, name)] == expected:
                return appended
    # Empty list, flow style or unusual layout: rewrite the list below any leading comments.
    leading = _leading_comments(old_text) if old_text is not None else HEADER
    body = yaml.safe_dump({"recordings": expected}, sort_keys=False, allow_unicode=True, width=1000)
    return (leading.rstrip("\n") + "\n\n" if leading.strip() else "") + body


def _entry_block(entry: dict[str, Any], indent: int) -> str:
    """One entry as a YAML block-list item, indented to match the list."""
    block = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, width=1000)
    return "".join(" " * indent + line if line.strip() else line for line in block.splitlines(keepends=True))


def _leading_comments(text: str) -> str:
    """The comment and blank lines at the top of the file (its header)."""
    kept: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        kept.append(line)
    return "".join(kept) if any(line.strip() for line in kept) else HEADER


def _copy_atomically(source: Path, target: Path) -> None:
    """Copy to a temporary file beside the target, then rename it into place."""
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    temp = Path(temp_name)
    try:
        shutil.copyfile(source, temp)
        temp.chmod(0o644)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _write_atomically(path: Path, text: str) -> None:
    """Write text to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        temp.chmod(0o644)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
