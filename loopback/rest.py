"""REST API v10 transport: routing and the checks every request passes before a route runs.

Order, as Discord applies it: route lookup (404), authorisation (401), the OpenAPI spec (400),
injected faults, rate limits (429), then the route itself. Every answer carries the rate-limit
headers, JSON bodies are `Content-Type: application/json` exactly, and each request is logged.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import MultiMapping

from loopback.world import WorldError, invalid_form

if TYPE_CHECKING:
    from loopback.server import Sandbox

log = logging.getLogger(__name__)

# Every REST request validated against Discord's OpenAPI spec in this process, across all
# sandboxes (the test suite prints it at the end), and how many the spec refused.
SPEC_TALLY: dict[str, int] = {"validated": 0, "refused": 0}

API_PREFIX = "/api/v10"


@dataclass
class Upload:
    """A file part of a multipart request (`files[n]`)."""

    field: str
    filename: str
    content_type: str | None
    data: bytes


@dataclass
class ApiRequest:
    """One REST request after parsing, as a route sees it."""

    method: str
    path: str
    route: str
    params: dict[str, str]
    query: MultiMapping[str]
    body: Any
    uploads: list[Upload]
    authorization: str | None

    def snowflake(self, name: str) -> int:
        """A path parameter read as a snowflake (Discord answers 404 for a malformed one)."""
        value = self.params[name]
        if not value.isdigit():
            raise WorldError(404, 0, "404: Not Found")
        return int(value)

    def json(self) -> dict[str, Any]:
        """The JSON (or payload_json) body as an object; empty when there is none."""
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise WorldError(400, 50109, "The request body contains invalid JSON.")
        return self.body

    def json_list(self) -> list[Any]:
        """The JSON body as an array."""
        if not isinstance(self.body, list):
            raise invalid_form("_root", "Must be an array.", "BASE_TYPE_ARRAY")
        return self.body

    def flag(self, name: str) -> bool:
        """A boolean query parameter (true/1)."""
        return self.query.get(name, "").lower() in {"true", "1"}

    def query_int(self, name: str, default: int) -> int:
        """An integer query parameter."""
        value = self.query.get(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise invalid_form(name, f'Value "{value}" is not int.', "NUMBER_TYPE_COERCE") from None


@dataclass
class Reply:
    """What a route answers: a status and a JSON body (None for 204)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["Sandbox", ApiRequest], Awaitable[Reply]]


@dataclass
class Route:
    """A registered route: the spec's template, its regex, the handler, and whether a bot token is needed."""

    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: bool


@dataclass
class RequestRecord:
    """One entry of `Sandbox.request_log`."""

    method: str
    path: str
    route: str | None
    status: int
    time: float
    json: Any
    response: Any
    query: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class SpecViolation:
    """A request the OpenAPI spec rejected, with the spec's complaints."""

    method: str
    path: str
    problems: list[str]
    body: Any = None


class Router:
    """Routes keyed by the spec's path templates; literal segments win over parameters."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, *, auth: bool = True) -> None:
        """Register `handler` for `method template` (template uses the spec's {names})."""
        regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        self.routes.append(Route(method, template, re.compile(regex), handler, auth))
        self.routes.sort(key=lambda r: [seg.startswith("{") for seg in r.template.split("/")])

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | str | None:
        """The route and its parameters; 'method' if only the method is wrong; None if no path matches."""
        path_matched = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            path_matched = True
            if route.method == method:
                return route, found.groupdict()
        return "method" if path_matched else None


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    """A response whose Content-Type is exactly application/json (discord.py compares it verbatim).

    A str body is an HTML error page (what Cloudflare answers for 502/504/524).
    """
    all_headers = dict(headers or {})
    if body is None:
        return web.Response(status=status, headers=all_headers)
    if isinstance(body, str):
        all_headers["Content-Type"] = "text/html"
        return web.Response(status=status, body=body.encode(), headers=all_headers)
    all_headers["Content-Type"] = "application/json"
    return web.Response(status=status, body=json.dumps(body).encode(), headers=all_headers)


def error_body(error: WorldError) -> dict[str, Any]:
    """Discord's JSON error shape."""
    body: dict[str, Any] = {"message": error.message, "code": error.code}
    if error.errors is not None:
        body["errors"] = error.errors
    return body


class RestApi:
    """The /api/v10 handler: checks, then the route."""

    def __init__(self, sandbox: Sandbox, router: Router) -> None:
        self.sandbox = sandbox
        self.router = router

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one REST request end to end."""
        sandbox = self.sandbox
        query = {k: request.query.getall(k) for k in request.query}
        exchange = _Exchange(request.method, request.path[len(API_PREFIX) :] or "/", query)
        try:
            exchange.body, uploads, spec_body, content_type = await _read_body(request)
        except WorldError as error:
            return self._finish(exchange, error.status, error_body(error))
        matched = self.router.match(exchange.method, exchange.path)
        if not isinstance(matched, tuple):
            status, message = (405, "405: Method Not Allowed") if matched == "method" else (404, "404: Not Found")
            sandbox.unknown_routes.append((exchange.method, exchange.path))
            log.warning("sandbox REST: no route for %s %s%s (%d)", exchange.method, API_PREFIX, exchange.path, status)
            return self._finish(exchange, status, {"message": message, "code": 0})
        route, params = matched
        exchange.route = route.template
        auth = request.headers.get("Authorization")
        if route.auth and auth != f"Bot {sandbox.world.bot_token}":
            return self._finish(exchange, 401, {"message": "401: Unauthorized", "code": 0})

        if sandbox.spec is not None:
            problems = sandbox.spec.validate(exchange.method, exchange.path, query, spec_body, content_type)
            sandbox.validated_requests += 1
            SPEC_TALLY["validated"] += 1
            if problems:
                SPEC_TALLY["refused"] += 1
                return self._spec_violation(exchange, problems)

        token = auth.removeprefix("Bot ") if auth else None
        now = sandbox.clock()
        fault = sandbox.faults.take(exchange.method, route.template)
        if fault is not None:
            if fault.status == 429 and sandbox.rate_limiter is not None:
                sandbox.rate_limiter.announce(
                    exchange.method, route.template, params, fault.retry_after, scope=fault.scope, token=token, now=now
                )
            return self._finish(exchange, fault.status, fault.body(), fault.headers(), scope=fault.scope)
        limit_headers: dict[str, str] = {}
        if sandbox.rate_limiter is not None:
            decision = sandbox.rate_limiter.decide(exchange.method, route.template, params, token, now)
            limit_headers = dict(decision.headers)
            if not decision.allowed:
                return self._finish(exchange, 429, decision.body(), limit_headers, scope=decision.scope)

        api_request = ApiRequest(
            exchange.method, exchange.path, route.template, params, request.query, exchange.body, uploads, auth
        )
        try:
            result = await route.handler(sandbox, api_request)
        except WorldError as error:
            return self._finish(exchange, error.status, error_body(error), limit_headers)
        return self._finish(exchange, result.status, result.body, limit_headers | result.headers)

    def _spec_violation(self, exchange: _Exchange, problems: list[str]) -> web.Response:
        """Record a request Discord's spec rejects and answer 400 naming the spec's complaints."""
        self.sandbox.spec_violations.append(SpecViolation(exchange.method, exchange.path, problems, exchange.body))
        log.error("sandbox REST: %s %s breaks Discord's spec: %s", exchange.method, exchange.path, "; ".join(problems))
        # In Discord's error shape, so discord.py's HTTPException text carries the complaints.
        errors = {"sandbox_spec": {"_errors": [{"code": "OPENAPI_SPEC", "message": p} for p in problems]}}
        return self._finish(exchange, 400, {"message": "Invalid Form Body", "code": 50035, "errors": errors})

    def _finish(
        self,
        exchange: _Exchange,
        status: int,
        reply: Any,
        headers: dict[str, str] | None = None,
        *,
        scope: str = "user",
    ) -> web.Response:
        sandbox = self.sandbox
        now = sandbox.clock()
        sandbox.invalid_requests.record(status, now, scope=scope)
        sandbox.request_log.append(
            RequestRecord(
                exchange.method, exchange.path, exchange.route, status, now, exchange.body, reply, exchange.query
            )
        )
        sandbox.signals.bump("request")
        return json_reply(status, None if status == 204 else reply, headers)


@dataclass
class _Exchange:
    """What is known about a request as it passes the checks (for the log)."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any = None
    route: str | None = None


async def _read_body(request: web.Request) -> tuple[Any, list[Upload], Any, str | None]:
    """(JSON body or parsed payload_json, file uploads, the body as the spec checker wants it, media type)."""
    if not request.body_exists:
        return None, [], None, None
    media = request.content_type
    if media == "multipart/form-data":
        reader = await request.multipart()
        parts: dict[str, Any] = {}
        uploads: list[Upload] = []
        payload: Any = None
        while True:
            part = await reader.next()
            if part is None:
                break
            name = getattr(part, "name", None) or ""
            filename = getattr(part, "filename", None)
            raw = await part.read()  # type: ignore[union-attr]
            if filename is not None:
                content_type = part.headers.get("Content-Type")
                uploads.append(Upload(name, filename, content_type, bytes(raw)))
                parts[name] = bytes(raw)
            else:
                text = bytes(raw).decode()
                parts[name] = text
                if name == "payload_json":
                    try:
                        payload = json.loads(text)
                    except ValueError:
                        raise WorldError(400, 50109, "The request body contains invalid JSON.") from None
        return payload, uploads, parts, media
    raw_text = await request.text()
    if not raw_text:
        return None, [], None, media
    try:
        body = json.loads(raw_text)
    except ValueError:
        raise WorldError(400, 50109, "The request body contains invalid JSON.") from None
    return body, [], body, media
