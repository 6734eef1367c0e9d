"""The `recordings` command: add a recording to the approved list, verify the list, list it."""

from __future__ import annotations

import argparse
from typing import Any

from bot.media.recordings import KINDS, RecordingCatalog, add_recording, load_recordings
from bot.model import Recording

DEFAULT_LIST = "recordings.yaml"

_ADD_EXAMPLES = """\
examples:
  python -m bot recordings add talks/breathing.wav --title "Affectionate Breathing" \\
      --kind practice --source "Teacher name" --language en
  python -m bot recordings add bienvenida.m4a --title "Bienvenida" --kind welcome-reading --language es

The file is converted once to Ogg/Opus 48 kHz with even loudness (unless it already is Ogg/Opus
with 20 ms frames, then it is copied), stored in the audio folder beside the list, and its sha256
and duration are written to the list. Nothing changes if anything fails.
"""


def register(subparsers: Any) -> None:
    """Add the `recordings` command and its add/verify/list subcommands."""
    parser = subparsers.add_parser(
        "recordings",
        help="manage the approved-recordings list (add, verify, list)",
        description="Manage recordings.yaml, the list of the only recordings the bot may play.",
    )
    commands = parser.add_subparsers(dest="recordings_command", metavar="SUBCOMMAND")
    commands.required = True

    add = commands.add_parser(
        "add",
        help="convert a file and add it to the approved list",
        description="Convert an audio file and add it to the approved-recordings list.",
        epilog=_ADD_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("file", metavar="FILE", help="a local audio file (wav, mp3, m4a, flac, ogg...)")
    add.add_argument("--title", required=True, help="the title members see, e.g. 'Affectionate Breathing'")
    # Kind is checked by bot.media.recordings so the message matches the one for a hand-edited list.
    add.add_argument("--kind", required=True, help=f"one of: {', '.join(KINDS)}")
    add.add_argument("--source", default="unspecified", help="the teacher or where the recording comes from")
    add.add_argument("--language", default="en", help="language code such as en, es, pt-BR (default en)")
    add.add_argument(
        "--id",
        dest="recording_id",
        help="short id of lowercase letters, digits and hyphens (default: made from the title)",
    )
    add.add_argument("--source-url", help="https:// link to where the recording is published")
    _list_option(add)
    add.add_argument("--audio-dir", help="folder for the converted file (default: audio/ beside the list)")
    add.set_defaults(handler=_add)

    verify = commands.add_parser(
        "verify",
        help="re-check every entry (file, sha256, duration); exit 0 only if all are OK",
        description="Re-check every entry of the approved list: the file, its sha256 and its duration.",
    )
    _list_option(verify)
    verify.set_defaults(handler=_verify)

    listing = commands.add_parser(
        "list", help="show the approved recordings", description="Show the approved recordings."
    )
    _list_option(listing)
    listing.set_defaults(handler=_list)


def _list_option(parser: argparse.ArgumentParser) -> None:
    """The --recordings option every subcommand shares."""
    parser.add_argument(
        "--recordings",
        default=DEFAULT_LIST,
        metavar="PATH",
        help=f"the approved-recordings list (default: {DEFAULT_LIST} in the current folder)",
    )


def _minutes(seconds: float) -> str:
    """312.4 -> '5:12'."""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _add(args: argparse.Namespace) -> int:
    """Run `recordings add`."""
    result = add_recording(
        args.file,
        recordings_path=args.recordings,
        title=args.title,
        kind=args.kind,
        source=args.source,
        language=args.language,
        recording_id=args.recording_id,
        source_url=args.source_url,
        audio_dir=args.audio_dir,
    )
    recording = result.recording
    how = (
        "converted to Ogg/Opus 48 kHz with even loudness"
        if result.converted
        else "copied as it is: it was already Ogg/Opus"
    )
    print(
        f"added {recording.id!r} to {args.recordings}: {recording.title} "
        f"({recording.kind}, {recording.language}, {_minutes(recording.duration_seconds)})"
    )
    print(f"  file:   {recording.file} ({how})")
    print(f"  sha256: {recording.sha256}")
    if recording.source == "unspecified":
        print("  note: no --source was given; edit the entry's 'source' to name the teacher or origin")
    return 0


def _verify(args: argparse.Namespace) -> int:
    """Run `recordings verify`: one line per entry, exit 1 if any entry is refused."""
    catalog = load_recordings(args.recordings)
    if not catalog.results:
        print(f"{args.recordings} lists no recordings yet")
        return 0
    for result in catalog.results:
        if isinstance(result, Recording):
            details = f"{result.kind}, {_minutes(result.duration_seconds)}, {result.file}"
            print(f"OK       {result.id}  ({details})")
        else:
            print(f"REFUSED  {result.entry}: {result.problem}")
    return _summary(catalog)


def _summary(catalog: RecordingCatalog) -> int:
    """Print the totals; exit code 0 only when every entry is approved."""
    total = len(catalog.results)
    if not catalog.refused:
        print(f"all {total} recording(s) OK")
        return 0
    print(f"{len(catalog.refused)} of {total} refused: they will not be offered until fixed")
    return 1


def _list(args: argparse.Namespace) -> int:
    """Run `recordings list`: the approved recordings, and a pointer to verify for refused ones."""
    catalog = load_recordings(args.recordings)
    if not catalog.recordings:
        print(f"no approved recordings in {args.recordings}")
    for recording in catalog.recordings:
        print(
            f"{recording.id:<24} {recording.kind:<15} {recording.language:<6} "
            f"{_minutes(recording.duration_seconds):>6}  {recording.title} — {recording.source}"
        )
    if catalog.refused:
        print(
            f"{len(catalog.refused)} entr{'y is' if len(catalog.refused) == 1 else 'ies are'} refused; "
            f"run `python -m bot recordings verify --recordings {args.recordings}` to see why"
        )
    return 0
