"""The web server: routes, ETags, safe headers, and starting and stopping with the bot.

Every answer is built from the database by reading only, and carries a strong ETag (a hash of its
bytes); a request whose If-None-Match names it gets 304 Not Modified with no body, which is how
calendar apps poll cheaply. A request that fails is logged with a reference and answered with 500;
it never reaches the bot. Private feed addresses carry a secret, so they are never logged.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import logging
import re
import secrets
import socket
from typing import Final

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler

from bot.config import Config, WebSection
from bot.errors import ConfigError
from bot.ports import ChannelNames
from bot.services.calendars import CalendarFeeds
from bot.texts import web as texts
from bot.web.page import STATIC_FILES, PageLinks, choose_language, render_page, static_file

__all__ = ["MARKER_HEADER", "WebServer", "bind_problem", "etag_of", "redact"]

log = logging.getLogger(__name__)

# Sent with every answer, so `check` can tell a running Practice Circles from another program.
MARKER_HEADER: Final = "X-Practice-Circles"
_CALENDAR_TYPE: Final = "text/calendar"
_FEED_CACHE: Final = "max-age=300"
_PAGE_CACHE: Final = "public, max-age=60"
_STATIC_CACHE: Final = "public, max-age=31536000, immutable"
_SHUTDOWN_SECONDS: Final = 3.0
# The page's own script and style only; nothing may frame it into another site's clothes.
_PAGE_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_SECRET_IN_PATH: Final = re.compile(r"(/calendar/)[^/?#]+(\.ics)")
_STATIC_TYPES: Final = {"schedule.css": "text/css", "schedule.js": "text/javascript"}


def etag_of(body: bytes) -> str:
    """A strong ETag for these bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: '*' or any listed tag equal under weak comparison."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return any(tag == "*" or tag.removeprefix("W/") == wanted for tag in tags)


def redact(path: str) -> str:
    """A request path with any private feed secret replaced, fit for a log."""
    return _SECRET_IN_PATH.sub(r"\1…\2", path)


class _RedactingAccessLog(AbstractAccessLogger):
    """One debug line per request, without the secret of a private feed address."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.debug("%s %s -> %s in %.1f ms", request.method, redact(request.path), response.status, time * 1000)


def bind_problem(error: OSError, web_config: WebSection) -> ConfigError:
    """Turn a failure to listen into a message naming the [web] key to change."""
    where = f"{web_config.host}:{web_config.port}"
    if error.errno == errno.EADDRINUSE:
        return ConfigError(
            "web.port",
            f"port {web_config.port} on {web_config.host} is already in use by another program (or another "
            "Practice Circles). Choose a free port in the [web] section, or stop the program using it; "
            "`python -m bot check` tells which ports are free",
        )
    if error.errno == errno.EACCES:
        return ConfigError(
            "web.port",
            f"the bot may not listen on {where}: ports below 1024 need special rights. Use a port such as "
            "8080 and let a web server such as nginx or Caddy answer on 443",
        )
    if error.errno == errno.EADDRNOTAVAIL or isinstance(error, socket.gaierror):
        return ConfigError(
            "web.host",
            f"{web_config.host!r} is not an address of this machine, so the bot cannot listen on it; "
            "use '127.0.0.1' (this machine only) or '0.0.0.0' (every network)",
        )
    return ConfigError("web.port", f"cannot listen on {where}: {error.strerror or error}")


class WebServer:
    """The feeds and the page over HTTP, inside the bot's event loop."""

    def __init__(
        self,
        config: Config,
        feeds: CalendarFeeds,
        channel_names: ChannelNames,
    ) -> None:
        web_config = config.web_enabled
        if web_config is None:
            raise ValueError("the web server needs an enabled [web] section")
        self.web_config = web_config
        self.feeds = feeds
        self.channel_names = channel_names
        self.links = PageLinks.of(config, web_config)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # --- the application ------------------------------------------------------------------------

    def application(self) -> web.Application:
        """The aiohttp application: routes, error handling, safe headers."""
        app = web.Application(middlewares=[self._errors])
        app.router.add_get("/", self._page)
        app.router.add_get("/calendar.ics", self._public_feed)
        app.router.add_get("/calendar/{secret}.ics", self._member_feed)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/healthz", self._health)
        app.on_response_prepare.append(_safe_headers)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as error:
            if error.status == 404:
                return _text(texts.NOT_FOUND.format(url=self.web_config.public_url + "/"), status=404)
            raise
        except Exception:
            reference = secrets.token_hex(4)
            log.exception("web request %s %s failed (reference %s)", request.method, redact(request.path), reference)
            return _text(texts.SERVER_ERROR.format(reference=reference), status=500)

    async def _page(self, request: web.Request) -> web.StreamResponse:
        language = choose_language(request.query.get("lang"), request.headers.get("Accept-Language"))
        schedule = await self.feeds.public_schedule()
        # Names from Discord's cache here, on the loop; the rendering itself runs off it.
        names = {row.channel_id: self.channel_names(row.channel_id) for row in schedule.sessions}
        body = await asyncio.to_thread(render_page, schedule, language, self.links, names.get, _page_address)
        headers = {"Content-Language": language, "Vary": "Accept-Language", "Content-Security-Policy": _PAGE_POLICY}
        return _cached(request, body, "text/html", _PAGE_CACHE, headers)

    async def _public_feed(self, request: web.Request) -> web.StreamResponse:
        body = await self.feeds.public_feed()
        headers = {"Content-Disposition": 'inline; filename="practice-circles.ics"'}
        return _cached(request, body, _CALENDAR_TYPE, "public, " + _FEED_CACHE, headers)

    async def _member_feed(self, request: web.Request) -> web.StreamResponse:
        body = await self.feeds.member_feed(request.match_info["secret"])
        if body is None:
            return _text(texts.FEED_NOT_FOUND, status=404)
        headers = {
            "Content-Disposition": 'inline; filename="my-practice-sessions.ics"',
            "X-Robots-Tag": "noindex",
        }
        return _cached(request, body, _CALENDAR_TYPE, "private, " + _FEED_CACHE, headers)

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        body, _ = static_file(name)
        return _cached(request, body, _STATIC_TYPES[name], _STATIC_CACHE, {})

    async def _health(self, request: web.Request) -> web.StreamResponse:
        return _text(texts.HEALTHY)

    # --- starting and stopping --------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on the configured address; a port in use (or a wrong host) is a ConfigError naming the key."""
        runner = web.AppRunner(
            self.application(),
            access_log_class=_RedactingAccessLog,
            handle_signals=False,
            shutdown_timeout=_SHUTDOWN_SECONDS,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.web_config.host, self.web_config.port)
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            raise bind_problem(error, self.web_config) from None
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info(
            "web server listening on http://%s:%d (public at %s)",
            self.web_config.host,
            self.port,
            self.web_config.public_url,
        )

    async def stop(self) -> None:
        """Stop listening and finish the answers under way (briefly); safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


def _page_address(language: str) -> str:
    """The page in a language, relative to the page itself."""
    return f"?lang={language}"


def _text(message: str, *, status: int = 200) -> web.Response:
    """A short plain-text answer."""
    return web.Response(text=message + "\n", status=status, content_type="text/plain", charset="utf-8")


def _cached(
    request: web.Request, body: bytes, content_type: str, cache_control: str, headers: dict[str, str]
) -> web.Response:
    """An answer with a strong ETag: 304 and no body when the client already has these bytes."""
    etag = etag_of(body)
    all_headers = {**headers, "ETag": etag, "Cache-Control": cache_control}
    if _matches(request.headers.get("If-None-Match"), etag):
        return web.Response(status=304, headers=all_headers)
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=all_headers)


async def _safe_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Headers every answer carries: no sniffing, no referrer (private links stay private), the marker."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers[MARKER_HEADER] = "1"
