"""`check --live` against loopback worlds each missing one thing: it names that thing and how to fix it.

Each case starts from the loopback Discord's default world (where everything the bot needs is in
place, so the baseline finds nothing), takes one thing away as a server admin could, and runs the
real `python -m bot check --live` code, which logs in with the bot's token over real sockets. The
finding must name the channel, role or permission, and the click path that fixes it; nothing else
may be reported.
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from loopback import Sandbox, World
from loopback.harness import config_for_world, practice_bot
from loopback.world import (
    ROLE_PERMISSION,
    USER_PERMISSION,
    ApplicationFlag,
    ChannelType,
    CommandPermission,
    Overwrite,
    Permission,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
# Links of the community's own (the harness's example.org links would count as placeholders).
LINKS = {
    "community": "https://circles.practice.test/community",
    "coordinators": "mailto:coordinators@practice.test",
    "donate": "https://circles.practice.test/donate",
    "share": "https://circles.practice.test/share",
}


def write_config(sandbox: Sandbox, folder: Path, **sections: dict[str, Any]) -> Path:
    """A config.toml for the sandbox's world, with the community's own links and any overrides."""
    config_for_world(sandbox.world, folder, sections={"links": LINKS, **sections})
    return folder / "config.toml"


def live_check(sandbox: Sandbox, config: Path, monkeypatch: pytest.MonkeyPatch, token: str | None = None) -> Any:
    """Run `python -m bot check --live` in a thread (it has its own event loop); exit code and output."""
    monkeypatch.delenv("DISCORD_TOKEN_FILE", raising=False)
    monkeypatch.setenv("DISCORD_TOKEN", token or sandbox.world.bot_token)
    monkeypatch.setenv("DISCORD_API_BASE_URL", sandbox.api_base_url)
    monkeypatch.setenv("DISCORD_GATEWAY_URL", sandbox.gateway_url)

    def run() -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["check", "--config", str(config), "--live"])
        return code, out.getvalue() + err.getvalue()

    return asyncio.to_thread(run)


def server_lines(output: str) -> list[str]:
    """The findings `check --live` printed under [BAD] server, one per line."""
    return [line.split("- ", 1)[1] for line in output.splitlines() if line.strip().startswith("[   ]") and "- " in line]


# --- one thing missing at a time --------------------------------------------------------------------


def schedule_denies_threads(world: World) -> dict[str, Any]:
    """Members may not start private threads in #schedule (a common choice), and the bot was not let off."""
    schedule = world.find_channel("schedule")
    everyone = schedule.overwrites[world.guild.id]
    everyone.deny |= Permission.CREATE_PRIVATE_THREADS
    return {}


def teachers_channel_denies_sending(world: World) -> dict[str, Any]:
    bot_role = world.find_role("Practice Circles")
    teachers = world.find_channel("teachers")
    teachers.overwrites[bot_role.id] = Overwrite(
        bot_role.id, 0, allow=Permission.VIEW_CHANNEL, deny=Permission.SEND_MESSAGES
    )
    return {}


def coordinators_channel_hidden_from_the_bot(world: World) -> dict[str, Any]:
    bot_role = world.find_role("Practice Circles")
    for name in ("Staff", "coordinators"):
        world.find_channel(name).overwrites.pop(bot_role.id)
    return {}


def stage_without_move_members(world: World) -> dict[str, Any]:
    world.find_role("Practice Circles").permissions &= ~Permission.MOVE_MEMBERS
    return {}


def voice_channel_denies_muting(world: World) -> dict[str, Any]:
    bot_role = world.find_role("Practice Circles")
    quiet = world.find_channel("Quiet Sitting")
    quiet.overwrites[bot_role.id] = Overwrite(bot_role.id, 0, deny=Permission.MUTE_MEMBERS)
    return {}


def without_create_events(world: World) -> dict[str, Any]:
    world.find_role("Practice Circles").permissions &= ~(Permission.CREATE_EVENTS | Permission.MANAGE_EVENTS)
    return {}


def without_manage_roles(world: World) -> dict[str, Any]:
    world.find_role("Practice Circles").permissions &= ~Permission.MANAGE_ROLES
    return {}


def chat_lock_not_grantable(world: World) -> dict[str, Any]:
    """Send Messages taken away in the category, given back in the channel: the bot may post there, but
    Discord will not let it change Send Messages for others (the chat lock)."""
    bot_role = world.find_role("Practice Circles")
    world.find_channel("Practice").overwrites[bot_role.id] = Overwrite(bot_role.id, 0, deny=Permission.SEND_MESSAGES)
    quiet = world.find_channel("Quiet Sitting")
    quiet.overwrites[bot_role.id] = Overwrite(bot_role.id, 0, allow=Permission.SEND_MESSAGES)
    return {"channels": {"sessions": [quiet.id], "default_session": quiet.id}}


def teachers_channel_gone(world: World) -> dict[str, Any]:
    """The config names a teachers' channel someone has since deleted (and made anew)."""
    deleted = world.add_channel("teachers-old", ChannelType.GUILD_TEXT)
    del world.guild.channels[deleted.id]
    return {"channels": {"teachers": deleted.id}}


def announcements_is_a_voice_channel(world: World) -> dict[str, Any]:
    return {"channels": {"announcements": world.find_channel("Quiet Sitting").id}}


def session_channel_is_text(world: World) -> dict[str, Any]:
    general = world.find_channel("general")
    stage = world.find_channel("Practice Circle")
    return {"channels": {"sessions": [stage.id, general.id], "default_session": stage.id}}


def teacher_role_gone(world: World) -> dict[str, Any]:
    """The config names a Teacher role someone has since deleted."""
    deleted = world.add_role("Teacher (old)")
    del world.guild.roles[deleted.id]
    return {"roles": {"teacher": deleted.id}}


def coordinator_role_is_everyone(world: World) -> dict[str, Any]:
    return {"roles": {"coordinator": world.guild.id}}


def teachers_cannot_see_their_channel(world: World) -> dict[str, Any]:
    world.find_channel("teachers").overwrites.pop(world.find_role("Teacher").id)
    return {}


def teachers_cannot_join_the_stage(world: World) -> dict[str, Any]:
    teacher = world.find_role("Teacher")
    stage = world.find_channel("Practice Circle")
    stage.overwrites[teacher.id] = Overwrite(teacher.id, 0, deny=Permission.CONNECT)
    return {}


def members_intent_off(world: World) -> dict[str, Any]:
    world.application.flags = ApplicationFlag.APPLICATION_COMMAND_BADGE
    return {}


def another_server(world: World) -> dict[str, Any]:
    return {"guild": {"id": world.guild.id + 1}}


# (case, how the world differs, words the one finding must contain)
MISSING: list[Any] = [
    pytest.param(
        schedule_denies_threads,
        [
            "In #schedule, the bot cannot give a member whose DMs are closed a private reminder thread",
            "Create Private Threads is taken away there",
            "#schedule > Edit Channel > Permissions > Practice Circles > Create Private Threads: \u2713",
        ],
        id="permission-create-private-threads",
    ),
    pytest.param(
        teachers_channel_denies_sending,
        [
            "#teachers",
            "Send Messages is taken away there",
            "#teachers > Edit Channel > Permissions > Practice Circles > Send Messages: \u2713",
        ],
        id="permission-send-messages-taken-away-in-a-channel",
    ),
    pytest.param(
        coordinators_channel_hidden_from_the_bot,
        [
            "cannot see #coordinators (channels.coordinators)",
            "#coordinators > Edit Channel > Permissions > add Practice Circles > View Channel: \u2713",
        ],
        id="permission-view-coordinators",
    ),
    pytest.param(
        stage_without_move_members,
        ["In #Practice Circle, the bot cannot be the Stage moderator", "lacks Move Members"],
        id="permission-stage-moderator",
    ),
    pytest.param(
        voice_channel_denies_muting,
        ["#Quiet Sitting", "keep participants quiet", "Mute Members is taken away there"],
        id="permission-mute-in-voice",
    ),
    pytest.param(
        without_create_events,
        [
            "In #Practice Circle and #Quiet Sitting, the bot cannot list its sessions as scheduled events",
            "lacks Create Events",
            "Server Settings > Roles > Practice Circles > Create Events: on",
        ],
        id="permission-create-events",
    ),
    pytest.param(
        without_manage_roles,
        [
            "pause the chat for non-teachers",
            "lacks Manage Permissions",
            "Server Settings > Roles > Practice Circles > Manage Roles: on",
        ],
        id="permission-manage-roles",
    ),
    pytest.param(
        chat_lock_not_grantable,
        ["In #Quiet Sitting, the bot cannot pause the chat", "Manage Permissions: \u2713", "lock_chat = false"],
        id="permission-grant-rule",
    ),
    pytest.param(
        teachers_channel_gone,
        ["channels.teachers (", "there is no channel with this id in Practice Circles", "Copy Channel ID"],
        id="channel-missing",
    ),
    pytest.param(
        announcements_is_a_voice_channel,
        [
            "channels.announcements",
            "#Quiet Sitting is a voice channel",
            "private reminder threads",
            "choose a text channel",
        ],
        id="channel-wrong-kind-announcements",
    ),
    pytest.param(
        session_channel_is_text,
        ["channels.sessions", "#general is a text channel", "needs a voice or Stage channel"],
        id="channel-wrong-kind-sessions",
    ),
    pytest.param(
        teacher_role_gone,
        ["roles.teacher (", "there is no role with this id", "Create Role (\u201cTeacher\u201d)", "Copy Role ID"],
        id="role-missing",
    ),
    pytest.param(
        coordinator_role_is_everyone,
        ["roles.coordinator: this is @everyone", "every member would count as a Coordinator"],
        id="role-is-everyone",
    ),
    pytest.param(
        teachers_cannot_see_their_channel,
        [
            "Members with only the Teacher role cannot see #teachers",
            "#teachers > Edit Channel > Permissions > add Teacher > View Channel: \u2713",
        ],
        id="teachers-cannot-see-their-channel",
    ),
    pytest.param(
        teachers_cannot_join_the_stage,
        ["Members with only the Teacher role cannot join #Practice Circle", "Connect: \u2713"],
        id="teachers-cannot-join-the-stage",
    ),
    pytest.param(
        members_intent_off,
        ["Server Members Intent is off", "Privileged Gateway Intents > Server Members Intent: on"],
        id="members-intent-off",
    ),
    pytest.param(
        another_server,
        ["guild.id (", "the bot is not in a server with this id", "invite-url --client-id", "Copy Server ID"],
        id="wrong-server",
    ),
]


async def test_the_default_world_has_everything(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = await live_check(sandbox, write_config(sandbox, tmp_path / "bot"), monkeypatch)
    assert code == 0, output
    assert "[ok ] server" in output and "every channel, role and permission the bot needs is in place" in output
    assert "Everything is usable." in output


@pytest.mark.parametrize(("change", "words"), MISSING)
async def test_one_thing_missing_is_named_with_its_fix(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[World], dict[str, Any]],
    words: list[str],
) -> None:
    overrides = change(sandbox.world)
    config = write_config(sandbox, tmp_path / "bot", **overrides)
    code, output = await live_check(sandbox, config, monkeypatch)
    assert code == 1, output
    assert "[BAD] server" in output
    found = server_lines(output)
    assert len(found) == 1, f"exactly the one missing thing is reported: {found}"
    assert all(word in found[0] for word in words), f"{found[0]!r} lacks {[w for w in words if w not in found[0]]}"
    assert "Fix: " in found[0], "every finding says how to fix it"
    assert "Traceback" not in output


async def test_a_refused_token_is_named_without_showing_it(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = sandbox.world.bot_token[:-4] + "abcd"
    code, output = await live_check(sandbox, write_config(sandbox, tmp_path / "bot"), monkeypatch, token=wrong)
    assert code == 1
    assert "DISCORD_TOKEN: Discord refused this token" in output and "Reset Token" in output
    assert wrong not in output


# --- who is offered which commands, as the bot registered them ---------------------------------------


async def register_commands(sandbox: Sandbox, folder: Path) -> None:
    """Start the real bot once, so it registers its commands in the guild, then stop it."""
    config = config_for_world(sandbox.world, folder, sections={"links": LINKS})
    async with practice_bot(sandbox, config) as bot:
        assert bot.setup_check is not None
        await bot.setup_check


async def test_a_coordinator_role_without_manage_server_cannot_see_its_commands(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.world.find_role("Coordinator").permissions = Permission(0)
    await register_commands(sandbox, tmp_path / "bot")
    code, output = await live_check(sandbox, tmp_path / "bot" / "config.toml", monkeypatch)
    assert code == 1
    [finding] = server_lines(output)
    assert "Members with only the Coordinator role cannot see /series, /session, /recordings and /report" in finding
    assert "by default these ask for Manage Server" in finding
    assert (
        "Server Settings > Integrations > Practice Circles > Roles & Members > Add Roles or Members > Coordinator"
        in finding
    )


async def test_commands_switched_off_in_integrations_are_named(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register_commands(sandbox, tmp_path / "bot")
    world = sandbox.world
    teacher = world.find_role("Teacher")
    teachers = world.find_channel("teachers")
    world.set_command_permissions(world.find_command("teach"), [CommandPermission(teacher.id, ROLE_PERMISSION, False)])
    world.set_command_permissions(
        world.find_command("room"),
        [CommandPermission(world.guild.id - 1, 3, True), CommandPermission(teachers.id, 3, False)],
    )
    # A member's own setting is no help to the role as a whole, and must not hide the problem.
    ana = world.find_member("ana")
    world.set_command_permissions(None, [CommandPermission(ana.id, USER_PERMISSION, True)])
    code, output = await live_check(sandbox, tmp_path / "bot" / "config.toml", monkeypatch)
    assert code == 1
    found = server_lines(output)
    assert any("Members with only the Teacher role cannot use /teach: it is switched off" in f for f in found), found
    assert any("/room is switched off in #teachers" in f and "Channels > #teachers: \u2713" in f for f in found), found
    assert len(found) == 2


async def test_an_allowed_role_in_integrations_is_enough(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = sandbox.world
    coordinator = world.find_role("Coordinator")
    coordinator.permissions = Permission(0)
    await register_commands(sandbox, tmp_path / "bot")
    world.set_command_permissions(None, [CommandPermission(coordinator.id, ROLE_PERMISSION, True)])
    code, output = await live_check(sandbox, tmp_path / "bot" / "config.toml", monkeypatch)
    assert code == 0, output
    bea = await sandbox.join_guild("bea", "Bea", roles=["Coordinator"])
    assert world.command_refusal(bea.member, world.find_channel("coordinators"), world.find_command("series")) is None


# --- as a real process, and what it needs first ------------------------------------------------------


async def test_check_live_as_a_real_process(sandbox: Sandbox, tmp_path: Path) -> None:
    without_create_events(sandbox.world)
    config = write_config(sandbox, tmp_path / "bot")
    env = {
        "PATH": "/usr/bin:/bin",
        "DISCORD_TOKEN": sandbox.world.bot_token,
        "DISCORD_API_BASE_URL": sandbox.api_base_url,
        "DISCORD_GATEWAY_URL": sandbox.gateway_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "check",
        "--config",
        str(config),
        "--live",
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1, err.decode()
    text = out.decode()
    assert "lacks Create Events" in text and "Please fix the items marked BAD" in text
    assert sandbox.world.bot_token.encode() not in out + err
    assert b"Traceback" not in err


async def test_live_needs_the_token_and_sends_nothing_without_it(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(sandbox, tmp_path / "bot")
    checking = live_check(sandbox, config, monkeypatch)
    monkeypatch.delenv("DISCORD_TOKEN")
    code, output = await checking
    assert code == 1
    assert "[BAD] token" in output and "--live logs in to Discord as the bot, so it needs the token" in output
    assert "[BAD] server      not checked" in output
    assert not sandbox.request_log, "nothing was sent to Discord"


async def test_live_waits_for_the_example_values_to_be_replaced(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_for_world(sandbox.world, tmp_path / "bot")  # the harness's example.org links are placeholders
    code, output = await live_check(sandbox, tmp_path / "bot" / "config.toml", monkeypatch)
    assert code == 1
    assert "[BAD] server      not checked: replace the example values in the config first" in output
    assert not sandbox.request_log
