"""Running the real Practice Circles bot against the loopback Discord (tests and the demo).

`config_for_world` writes a config.toml naming the sandbox world's guild, channels and roles and
loads it through the real loader; `practice_bot` starts the real bot on it, over real sockets,
and yields once the bot is ready and its core has rebuilt its timers.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime as dt
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from bot.adapters.bot import PracticeCirclesBot
from bot.adapters.endpoints import DiscordEndpoints, restore_production_endpoints
from bot.config import Config, load_config
from bot.core import utc_now
from bot.media.recordings import load_recordings
from loopback.server import Sandbox
from loopback.world import ChannelType, World

REPO_ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 15.0


def config_for_world(
    world: World,
    data_dir: Path,
    *,
    recordings_file: Path | None = None,
    sections: dict[str, dict[str, Any]] | None = None,
    welcome_reading: bool = True,
) -> Config:
    """Write and load a config.toml for the world's guild; `sections` overrides keys per section.

    Without `recordings_file`, the shipped recordings.yaml and its audio are copied into `data_dir`,
    so a bot that adds a recording (the synthesised welcome reading) never touches the repository.
    With `welcome_reading`, the copy already holds the reading `python -m bot check` would prepare
    (synthesised once per process), as an installed bot has; without it, the bot prepares its own.
    """
    guild = world.guild
    if recordings_file is None:
        recordings_file = copy_shipped_recordings(data_dir, welcome_reading=welcome_reading)
    stages = [c.id for c in guild.channels.values() if c.type == ChannelType.GUILD_STAGE_VOICE]
    voices = [c.id for c in guild.channels.values() if c.type == ChannelType.GUILD_VOICE]
    values: dict[str, dict[str, Any]] = {
        "guild": {"id": guild.id},
        "channels": {
            "announcements": world.find_channel("schedule").id,
            "teachers": world.find_channel("teachers").id,
            "coordinators": world.find_channel("coordinators").id,
            "sessions": stages + voices,
            "default_session": (stages + voices)[0],
        },
        "roles": {"coordinator": world.find_role("Coordinator").id, "teacher": world.find_role("Teacher").id},
        "links": {
            "community": "https://community.example.org/msc",
            "coordinators": "mailto:coordinators@example.org",
            "donate": "https://donate.example.org/msc",
            "share": "https://share.example.org/practice-circles",
        },
        "storage": {"database": str(data_dir / "practice-circles.sqlite3")},
        "recordings": {"file": str(recordings_file)},
    }
    for section, overrides in (sections or {}).items():
        values.setdefault(section, {}).update(overrides)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "config.toml"
    path.write_text(_to_toml(values), encoding="utf-8")
    return load_config(path)


def copy_shipped_recordings(data_dir: Path, *, welcome_reading: bool = False) -> Path:
    """Copy recordings.yaml and the audio it lists into `data_dir` (with the prepared welcome reading if asked)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / "recordings.yaml"
    if not target.exists():
        source = _prepared_recordings() if welcome_reading else REPO_ROOT
        shutil.copy(source / "recordings.yaml", target)
        shutil.copytree(source / "audio", data_dir / "audio", dirs_exist_ok=True)
    return target


_PREPARED: list[Path] = []


def _prepared_recordings() -> Path:
    """The shipped recordings plus the synthesised welcome reading, made once per process (2 s of espeak-ng)."""
    if not _PREPARED:
        from bot.media.welcome_audio import ensure_welcome_reading  # the real preparation, run once
        from bot.texts import OFFICIAL_WELCOME_WORDS

        folder = Path(tempfile.mkdtemp(prefix="practice-circles-prepared-"))
        atexit.register(shutil.rmtree, folder, True)
        ensure_welcome_reading(copy_shipped_recordings(folder), OFFICIAL_WELCOME_WORDS)
        _PREPARED.append(folder)
    return _PREPARED[0]


def _to_toml(values: dict[str, dict[str, Any]]) -> str:
    lines: list[str] = []
    for section, keys in values.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in keys.items())
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@contextlib.asynccontextmanager
async def practice_bot(
    sandbox: Sandbox, config: Config, *, clock: Callable[[], dt.datetime] = utc_now, clock_speed: float = 1.0
) -> AsyncIterator[PracticeCirclesBot]:
    """Run the real bot against the sandbox until the block ends; yields once its core is running."""
    from bot.storage import Database  # imported here so `loopback` stays importable alone

    catalog = load_recordings(config.recordings.file)
    db = await Database.open(config.storage.database)
    endpoints = DiscordEndpoints(api_base_url=sandbox.api_base_url, gateway_url=sandbox.gateway_url)
    # One small guild arrives at once on loopback; no need for discord.py's 2 s wait for more.
    bot = PracticeCirclesBot(
        config, db, catalog, endpoints=endpoints, clock=clock, clock_speed=clock_speed, guild_ready_timeout=0.05
    )
    core_ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def on_core_ready() -> None:
        if not core_ready.done():
            core_ready.set_result(None)

    bot.add_listener(on_core_ready, "on_core_ready")
    runner = asyncio.create_task(bot.start(sandbox.world.bot_token), name="practice-bot")
    try:
        done, _ = await asyncio.wait({runner, core_ready}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if core_ready not in done:
            if runner in done:
                runner.result()  # raises what stopped the bot
            if bot.core_failure is not None:
                raise bot.core_failure
            raise TimeoutError(f"the bot was not ready within {READY_TIMEOUT} s")
        yield bot
    finally:
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(runner, timeout=5)
        await db.close()
        restore_production_endpoints()
