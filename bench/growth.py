"""How cost grows: each figure at three sizes, printed as tables and drawn as curves in bench/growth.png.

Parts (each at 1,000 and 10,000; 100,000 too with --biggest):

- **startup**: upcoming sessions in the database (30,000 audit rows beside them): `Core.start`
  (median of three), and the real bot's start to core ready and RSS (bench/timers.py's start_up).
- **members**: guild members, both bots caching them all: time to ready, RSS, one full garbage
  collection, and /schedule's p99 beside the bare bot's (bench/interaction_latency.py, 10,000
  sessions in the database).
- **sessions**: sessions in the database (ten sign-ups each): /schedule's p99 beside the bare bot's.
- **fanout**: members signed up for one session whose DM channels the bot knows: the reminder's
  time over the least the rate limits allow (bench/reminder_fanout.py's second_at_size).

Aims: interactions flat, start-up and memory at most linear; the fan-out within 1.2 x its floor.
Results are kept in bench/growth.json by part and size, so parts can be run one at a time (the
biggest fan-out alone takes ~40 minutes: the global limit allows no less than 2,000 s for 100,000
messages); the PNG is drawn from everything the file holds.

    .venv/bin/python bench/growth.py                       # every part at 1k and 10k (~15 min)
    .venv/bin/python bench/growth.py --biggest             # and at 100k (over an hour)
    .venv/bin/python bench/growth.py --parts fanout --biggest
    .venv/bin/python bench/growth.py --quick               # tiny sizes, for the smoke test
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import interaction_latency as latency
import reminder_fanout as fanout
import timers as startup
from benchlib import REPO_ROOT, arguments, machine, print_machine, table

PARTS = ("startup", "members", "sessions", "fanout")
SIZES = (1_000, 10_000)
BIGGEST = 100_000
QUICK_SIZES = (30, 60, 120)
# Sessions spread over two years and the horizon: the quick run needs a few in the next seven days.
QUICK_SESSION_SIZES = (300, 600, 1200)
RESULTS = REPO_ROOT / "bench" / "growth.json"
PICTURE = REPO_ROOT / "bench" / "growth.png"
AUDIT_ROWS = 30_000


def options(parser: argparse.ArgumentParser) -> None:
    """This script's flags."""
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="which figures to grow")
    parser.add_argument("--biggest", action="store_true", help="also at 100,000 (an hour and more)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the figures are kept (JSON)")
    parser.add_argument("--picture", type=Path, default=PICTURE, help="where the curves are drawn (PNG)")


async def grow_startup(size: int, quick: bool) -> dict[str, Any]:
    """Core.start and the real bot's readiness with `size` upcoming sessions."""
    found, _ = await startup.start_up(size, 300 if quick else AUDIT_ROWS, repeats=1 if quick else 3)
    return {
        "core_start_s": found.median_s,
        "core_start_cpu_s": min(found.cpu_s),
        "timers": found.pending,
        "bot_ready_s": found.bot_ready["ready_s"],
        "bot_rss_mib": found.bot_ready["rss_kib"] / 1024,
    }


def latency_sizes(quick: bool, **changed: int) -> latency.Sizes:
    """The latency bench's sizes for a growth run: fewer rounds (three sizes each run both bots)."""
    base = latency.Sizes.quick() if quick else latency.Sizes(rounds=100, bursts=3)
    values = {**base.__dict__, **changed}
    return latency.Sizes(**values)


def latency_figures(run: latency.LatencyRun) -> dict[str, Any]:
    """/schedule's p99 one at a time and in bursts, both bots; readiness and memory of both."""
    burst = f"burst of {run.sizes.burst}"
    return {
        "schedule_one_p99_ms": run.p99("/schedule", latency.ONE),
        "schedule_one_bare_p99_ms": run.p99("/schedule", latency.ONE, latency.BARE),
        "schedule_burst_p99_ms": run.p99("/schedule", burst),
        "schedule_burst_bare_p99_ms": run.p99("/schedule", burst, latency.BARE),
        "bot_ready_s": run.ready[latency.BOT]["ready_s"],
        "bare_ready_s": run.ready[latency.BARE]["ready_s"],
        "bot_rss_mib": run.gc[latency.BOT]["rss_mib"],
        "bare_rss_mib": run.gc[latency.BARE]["rss_mib"],
        "full_collection_ms": run.collected[latency.BOT]["full_collection_ms"],
        "full_collection_unfrozen_ms": run.collected[latency.BOT]["full_collection_unfrozen_ms"],
        "longest_pause_ms": run.gc[latency.BOT]["longest_since_last_ms"],
        "bare_longest_pause_ms": run.gc[latency.BARE]["longest_since_last_ms"],
    }


async def grow_members(size: int, quick: bool) -> dict[str, Any]:
    """Both bots on a guild of `size` more members."""
    run = await latency.run_latency(latency_sizes(quick, guild_members=size, rounds=5 if quick else 50))
    return latency_figures(run)


async def grow_sessions(size: int, quick: bool) -> dict[str, Any]:
    """Both bots over a database of `size` sessions, ten sign-ups each."""
    run = await latency.run_latency(latency_sizes(quick, sessions=size, signups=10 * size))
    return latency_figures(run)


async def grow_fanout(size: int, quick: bool) -> dict[str, Any]:
    """A reminder to `size` members whose DM channels are known, against its floor."""
    found = await fanout.second_at_size(size, 1.5 if quick else 3.0)
    figures = dict(found.figures)
    return {
        "ratio": found.ratio,
        "least_s": figures["least time the limits allow (s)"],
        "taken_s": figures["taken: due time to the last DM at the sandbox (s)"],
        "duplicates": figures["duplicates (extra DMs at the sandbox)"],
        "missed": figures["members with no reminder"],
    }


GROWERS = {"startup": grow_startup, "members": grow_members, "sessions": grow_sessions, "fanout": grow_fanout}
COLUMNS = {
    "startup": ("upcoming sessions", ["core_start_s", "core_start_cpu_s", "timers", "bot_ready_s", "bot_rss_mib"]),
    "members": (
        "guild members",
        [
            "bot_ready_s",
            "bare_ready_s",
            "bot_rss_mib",
            "bare_rss_mib",
            "full_collection_ms",
            "full_collection_unfrozen_ms",
            "schedule_one_p99_ms",
            "schedule_one_bare_p99_ms",
            "schedule_burst_p99_ms",
            "schedule_burst_bare_p99_ms",
        ],
    ),
    "sessions": (
        "sessions in the database",
        ["schedule_one_p99_ms", "schedule_one_bare_p99_ms", "schedule_burst_p99_ms", "schedule_burst_bare_p99_ms"],
    ),
    "fanout": ("members signed up", ["least_s", "taken_s", "ratio", "duplicates", "missed"]),
}


def load(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """The figures kept so far: part -> size -> figures."""
    if not path.exists():
        return {}
    loaded: dict[str, dict[str, dict[str, Any]]] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def print_part(part: str, found: dict[str, dict[str, Any]]) -> None:
    """One part's table, by size."""
    what, keys = COLUMNS[part]
    sizes = sorted(found, key=int)
    rows = [(key, *(found[size].get(key, float("nan")) for size in sizes)) for key in keys]
    print(table(f"Growth: {part} (by {what})", ["figure", *(f"{int(s):,}" for s in sizes)], rows))


def draw(results: dict[str, dict[str, dict[str, Any]]], path: Path) -> None:
    """The growth curves, one panel per part, sizes on a log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        (
            "startup",
            "Start-up (s)",
            [("core_start_s", "Core.start"), ("bot_ready_s", "real bot ready")],
            "aim 1 s",
            1.0,
        ),
        (
            "members",
            "Memory (MiB RSS)",
            [("bot_rss_mib", "Practice Circles"), ("bare_rss_mib", "bare discord.py")],
            None,
            None,
        ),
        (
            "members",
            "/schedule p99 (ms) by guild members",
            [
                ("schedule_burst_p99_ms", "burst, bot"),
                ("schedule_burst_bare_p99_ms", "burst, bare"),
                ("schedule_one_p99_ms", "one, bot"),
                ("schedule_one_bare_p99_ms", "one, bare"),
            ],
            None,
            None,
        ),
        (
            "sessions",
            "/schedule p99 (ms) by sessions stored",
            [
                ("schedule_burst_p99_ms", "burst, bot"),
                ("schedule_burst_bare_p99_ms", "burst, bare"),
                ("schedule_one_p99_ms", "one, bot"),
                ("schedule_one_bare_p99_ms", "one, bare"),
            ],
            None,
            None,
        ),
        ("fanout", "Fan-out: taken / least the limits allow", [("ratio", "second reminder")], "aim 1.2", 1.2),
        (
            "members",
            "One full garbage collection (ms)",
            [("full_collection_ms", "heap frozen at ready"), ("full_collection_unfrozen_ms", "were nothing frozen")],
            "aim 10 ms",
            10.0,
        ),
    ]
    figure, grid = plt.subplots(2, 3, figsize=(15, 8.4))
    for axis, (part, title, lines, aim_label, aim) in zip(grid.flat, panels, strict=True):
        found = results.get(part, {})
        sizes = sorted(found, key=int)
        for key, label in lines:
            xs = [int(size) for size in sizes if key in found[size]]
            if xs:
                axis.plot(xs, [found[str(x)][key] for x in xs], marker="o", label=label)
        if aim is not None:
            axis.axhline(aim, color="grey", linestyle="--", linewidth=1, label=aim_label)
        axis.set_xscale("log")
        if "collection" in title:
            axis.set_yscale("log")  # the frozen and the unfrozen heap differ a hundredfold
        axis.set_title(title, fontsize=10)
        axis.set_xlabel(COLUMNS[part][0])
        axis.grid(True, alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


async def run(args: argparse.Namespace) -> None:
    """Each part at each size, kept as it comes; then the tables and the picture."""
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    sizes = QUICK_SIZES if args.quick else (*SIZES, *((BIGGEST,) if args.biggest else ()))
    # The smoke test's tiny figures never overwrite the kept ones: they go to the temporary folder.
    scratch = Path(tempfile.gettempdir())
    path = scratch / "growth.quick.json" if args.quick else args.results
    picture = scratch / "growth.quick.png" if args.quick else args.picture
    results = {} if args.quick else load(path)
    for part in args.parts:
        for size in QUICK_SESSION_SIZES if args.quick and part == "sessions" else sizes:
            found = await GROWERS[part](size, args.quick)
            # Which code and machine state each figure came from (parts may run hours apart).
            found["measured"] = dict(machine())
            # Read again before writing: another part may be running beside this one.
            results = {} if args.quick or not path.exists() else load(path)
            results.setdefault(part, {})[str(size)] = found
            path.write_text(json.dumps(results, indent=1, sort_keys=True), encoding="utf-8")
    results = load(path)
    draw(results, picture)
    print_machine()
    for part in PARTS:
        if part in results:
            print_part(part, results[part])
    print(f"growth curves: {picture.relative_to(REPO_ROOT) if picture.is_relative_to(REPO_ROOT) else picture}")


def main() -> None:
    """Entry point."""
    args = arguments(__doc__.splitlines()[0], options)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
