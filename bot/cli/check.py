"""`python -m bot check --config FILE [--live]`: is the configuration, recordings list and database usable?

With `--live` it also logs in to Discord with the bot's token and checks the server itself (see
bot.adapters.server_check): every problem is one line with the click path that fixes it.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import socket
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.adapters.endpoints import DiscordEndpoints
from bot.adapters.server_check import live_report
from bot.config import TOKEN_FILE_VARIABLE, TOKEN_VARIABLE, Config, WebSection, load_config, load_token
from bot.errors import DatabaseInUseError, PracticeCirclesError, SchemaBehindError
from bot.media.recordings import load_recordings
from bot.media.welcome_audio import ensure_welcome_reading
from bot.redaction import redact_tokens
from bot.storage import Database
from bot.texts import setup as texts
from bot.web.server import MARKER_HEADER, bind_problem

# How long `check` waits for whatever holds the web port to answer.
_WEB_PROBE_SECONDS = 2.0


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was checked, whether it is usable, and the detail."""

    subject: str
    usable: bool
    detail: str


def register(subparsers: Any) -> None:
    """Add the `check` command."""
    parser = subparsers.add_parser(
        "check",
        help="check the config, the approved recordings and the database (migrating it unless a bot is running)",
        description="Validate config.toml, recordings.yaml and the database, and print a report. "
        "Exits 0 when everything is usable.",
    )
    parser.add_argument("--config", default="config.toml", type=Path, help="path to config.toml")
    parser.add_argument(
        "--live",
        action="store_true",
        help="also log in to Discord with the token (as run does) and check the server itself: channels, roles, "
        "the bot's permissions, and who is offered which commands. Nothing is changed there.",
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    findings = asyncio.run(run_checks(args.config, live=args.live))
    print(f"Practice Circles check of {args.config}")
    for finding in findings:
        mark = "ok " if finding.usable else "BAD"
        for index, line in enumerate(finding.detail.splitlines() or [""]):
            label = finding.subject if index == 0 else ""
            # Details quote what was read (values, URLs); nothing token-shaped is ever printed.
            print(f"  [{mark if index == 0 else '   '}] {label:<11} {redact_tokens(line)}")
    usable = all(finding.usable for finding in findings)
    print("Everything is usable." if usable else "Please fix the items marked BAD, then run check again.")
    return 0 if usable else 1


async def run_checks(config_path: Path, environ: dict[str, str] | None = None, *, live: bool = False) -> list[Finding]:
    """Check each part in turn; a part that cannot be checked because an earlier one failed says so."""
    env = dict(os.environ) if environ is None else environ
    findings: list[Finding] = []
    config: Config | None = None
    try:
        config = load_config(config_path)
    except PracticeCirclesError as error:
        findings.append(Finding("config", False, str(error)))
    else:
        findings.append(_check_placeholders(config) or Finding("config", True, _describe_config(config)))

    findings.append(_check_token(env, needed=live))
    findings.append(_check_endpoints(env))
    if config is None:
        findings.append(Finding("recordings", False, "not checked: the config must load first"))
        findings.append(Finding("database", False, "not checked: the config must load first"))
        findings.append(Finding("web", False, "not checked: the config must load first"))
    else:
        findings.append(_check_recordings(config))
        findings.append(await _check_database(config))
        findings.append(await asyncio.to_thread(_check_web, config))
    if live:
        findings.append(await _check_server(config, findings, env))
    return findings


async def _check_server(config: Config | None, earlier: list[Finding], env: dict[str, str]) -> Finding:
    """Log in as the bot and check the server, once the config, token and endpoints are usable."""
    by_subject = {finding.subject: finding for finding in earlier}
    if config is None:
        return Finding("server", False, texts.LIVE_NOT_CHECKED.format(reason=texts.LIVE_NEEDS_CONFIG))
    if config.placeholders():
        return Finding("server", False, texts.LIVE_NOT_CHECKED.format(reason=texts.LIVE_NEEDS_REAL_IDS))
    if not by_subject["token"].usable or not by_subject["endpoints"].usable:
        return Finding("server", False, texts.LIVE_NOT_CHECKED.format(reason=texts.LIVE_NEEDS_LOGIN))
    token = load_token(env)
    variable = TOKEN_FILE_VARIABLE if env.get(TOKEN_FILE_VARIABLE, "").strip() else TOKEN_VARIABLE
    report = await live_report(config, token.reveal(), DiscordEndpoints.from_environ(env), variable)
    if not report.checked:
        return Finding("server", False, "\n".join(texts.LIVE_NOT_CHECKED.format(reason=n) for n in report.notes))
    if report.findings:
        lines = [texts.LIVE_HEADING.format(guild=report.guild_name, count=len(report.findings))]
        lines += [f"- {finding.text}" for finding in report.findings]
    else:
        lines = [texts.LIVE_ALL_GOOD.format(guild=report.guild_name)]
    lines += [f"({note})" for note in report.notes]
    return Finding("server", not report.findings, "\n".join(lines))


def _describe_config(config: Config) -> str:
    channels = len(config.channels.sessions)
    return (
        f"guild {config.guild.id}, {channels} session channel(s), grace {config.sessions.grace_minutes} min, "
        f"reminders at {', '.join(str(m) for m in config.reminders.default_offsets_minutes)} min by default"
    )


def _check_placeholders(config: Config) -> Finding | None:
    """Example values left from config.example.toml, one line per key; None when there are none."""
    found = config.placeholder_values()
    if not found:
        return None
    lines = [texts.PLACEHOLDERS_FOUND.format(count=len(found))]
    for key, value in found.items():
        if isinstance(value, str):
            lines.append(texts.PLACEHOLDER_LINK.format(key=key, value=value))
        else:
            what, how = texts.PLACEHOLDER_WHAT[key.partition(".")[0]]
            lines.append(texts.PLACEHOLDER_ID.format(key=key, value=value, what=what, how=how))
    return Finding("config", False, "\n".join(lines))


def _check_token(env: dict[str, str], *, needed: bool) -> Finding:
    # The token itself is never printed; only whether one can be read.
    if not env.get("DISCORD_TOKEN") and not env.get("DISCORD_TOKEN_FILE"):
        if needed:
            return Finding("token", False, texts.LIVE_CANNOT_LOG_IN)
        detail = "not set (fine for `check` and the demo; `run` needs DISCORD_TOKEN or DISCORD_TOKEN_FILE)"
        return Finding("token", True, detail)
    try:
        load_token(env)
    except PracticeCirclesError as error:
        return Finding("token", False, str(error))
    return Finding("token", True, "present (not shown)")


def _check_endpoints(env: dict[str, str]) -> Finding:
    try:
        endpoints = DiscordEndpoints.from_environ(env)
    except PracticeCirclesError as error:
        return Finding("endpoints", False, str(error))
    if endpoints.is_production:
        return Finding("endpoints", True, "production Discord")
    return Finding("endpoints", True, f"overridden: {endpoints.api_base_url} / {endpoints.gateway_url}")


def _check_recordings(config: Config) -> Finding:
    try:
        catalog = load_recordings(config.recordings.file)
    except PracticeCirclesError as error:
        return Finding("recordings", False, str(error))
    prepared = ""
    if not catalog.by_kind("welcome-reading"):
        # Prepared here, where the install folder is writable, rather than first at session time.
        try:
            ensure_welcome_reading(Path(config.recordings.file), config.welcome.words)
            catalog = load_recordings(config.recordings.file)
            prepared = "spoken welcome reading prepared (synthesised once)"
        except (PracticeCirclesError, OSError) as error:
            return Finding(
                "recordings",
                False,
                f"the spoken welcome reading could not be prepared: {error}\n"
                "(sessions still open with the written welcome; fix this, then run check again)",
            )
    lines = [f"{len(catalog)} approved in {catalog.path}"] + ([prepared] if prepared else [])
    lines += [f"refused: {error}" for error in catalog.refused]
    return Finding("recordings", not catalog.refused, "\n".join(lines))


async def _check_database(config: Config) -> Finding:
    path = config.storage.database
    held_by: str | None = None
    try:
        try:
            # The bot's own lock: holding it proves no bot runs on this database, so migrating is safe.
            db = await Database.open(path)
        except DatabaseInUseError as in_use:
            # A running bot holds it (an upgrade before the restart): read it as it is, never migrate it.
            held_by = in_use.holder
            db = await Database.open(path, exclusive=False, migrate=False)
        async with db:
            version = await db.schema_version()
            problems = await db.integrity_check()
    except SchemaBehindError as behind:
        detail = (
            f"{path} is in use by a running Practice Circles (pid {held_by}) and has schema {behind.current}; "
            f"this version needs schema {behind.latest}. check does not migrate a database a running bot uses: "
            "stop the bot, run check again (it applies the migrations), then start the bot"
        )
        return Finding("database", False, detail)
    except PracticeCirclesError as error:
        return Finding("database", False, str(error))
    if problems:
        detail = f"{path}: integrity check failed: {problems[:3]}"
        return Finding("database", False, detail)
    running = f" (in use by a running Practice Circles, pid {held_by})" if held_by else ""
    return Finding("database", True, f"{path}: schema {version}, integrity ok{running}")


def _check_web(config: Config) -> Finding:
    """Is the web server off, or can it listen where configured (or is a Practice Circles already there)?"""
    web = config.web_enabled
    if web is None:
        reason = "no [web] section" if config.web is None else "web.enabled = false"
        return Finding("web", True, f"off ({reason}): no calendar feeds or schedule page")
    where = f"listens on http://{web.host}:{web.port}, public at {web.public_url}/"
    try:
        # What the bot will do at start-up, undone at once: bind the address, then let it go.
        with socket.create_server((web.host, web.port)):
            pass
    except OSError as error:
        if error.errno == errno.EADDRINUSE and _is_practice_circles(web):
            return Finding("web", True, f"{where}; a running Practice Circles answers there now")
        return Finding("web", False, str(bind_problem(error, web)))
    return Finding("web", True, f"{where}; the port is free")


def _is_practice_circles(web: WebSection) -> bool:
    """Whether what listens on the web port is a Practice Circles web server (it marks every answer)."""
    host = "127.0.0.1" if web.host in ("0.0.0.0", "::") else web.host  # noqa: S104 (reading the config, not binding)
    address = f"http://[{host}]:{web.port}/healthz" if ":" in host else f"http://{host}:{web.port}/healthz"
    # No proxy from the environment: the question is about this machine.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(address, timeout=_WEB_PROBE_SECONDS) as answer:
            return answer.headers.get(MARKER_HEADER) == "1"
    except OSError:
        return False
