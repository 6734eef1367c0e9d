"""Rate limits the way Discord applies and announces them, the invalid-request counter, and faults.

Pure bookkeeping: nothing here does I/O or sleeps, and every method takes an optional `now` so
tests can drive time by hand. The sandbox REST server asks `RateLimiter.decide` about each request
and sends the headers it returns; `FaultPlan` lets a test make chosen requests fail.

What discord.py 2.7.1 reads (discord/http.py, `Ratelimit.update` and `HTTPClient.request`):

* On a non-429 answer: `X-Ratelimit-Limit` and `X-Ratelimit-Remaining` as ints,
  `X-Ratelimit-Reset-After` as a float (seconds), or `X-Ratelimit-Reset` (epoch seconds) when the
  client syncs clocks; `X-Ratelimit-Bucket` names the bucket, keyed with the major parameters.
* On a 429: only the JSON body's `retry_after` and `global`; a 429 without a `Via` header, or with
  a non-JSON body, is taken for a Cloudflare ban and raised. Discord's 429s come through Google's
  front end, so every 429 here carries `Via: 1.1 google`.

New DM conversations: Discord also refuses a bot that opens direct messages too fast (its first
message to a user in their DM channel) with a 403, JSON code 40003 "You are opening direct
messages too fast.", and no retry_after. Discord does not publish that threshold, so the limiter
applies one only when given (`new_dm_limit`, new conversations per sliding window): any default
would be a number made up here. Messages into a DM the bot has written in before never count.

Buckets: one per method + route template (its `X-RateLimit-Bucket` is a stable hash of that), and
within it one window per major parameter (channel_id, guild_id, webhook_id + webhook_token, and
for interaction callbacks interaction_id + interaction_token, since each interaction has its own
limit). A window opens on its first request and holds `limit` requests until it resets, as
Discord's reset times say. The global limit is per bot token (requests without one share a key),
over a sliding second; interaction callbacks are exempt, as on Discord.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "GLOBAL_EXEMPT_ROUTES",
    "INVALID_REQUEST_LIMIT",
    "Decision",
    "Fault",
    "FaultPlan",
    "InvalidRequestCounter",
    "RateLimiter",
    "Violation",
    "bucket_hash",
]

Scope = Literal["user", "global", "shared"]
Clock = Callable[[], float]

# Discord bans an IP that makes this many invalid requests in ten minutes.
INVALID_REQUEST_LIMIT = 10_000
INTERACTION_CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
GLOBAL_EXEMPT_ROUTES = frozenset({INTERACTION_CALLBACK})
# The path parameters that split a bucket, in discord.py's order (Route.major_parameters).
MAJOR_PARAMETERS = (
    "channel_id",
    "guild_id",
    "webhook_id",
    "webhook_token",
    "interaction_id",
    "interaction_token",
)
RATE_LIMITED_MESSAGE = "You are being rate limited."
# How early a retry may arrive and still not count as a violation: loop and clock granularity.
DEFAULT_TOLERANCE = 0.002
ARRIVALS_KEPT = 10_000


def bucket_hash(method: str, route_template: str) -> str:
    """The opaque, stable X-RateLimit-Bucket value for one method + route template."""
    return hashlib.sha256(f"{method.upper()} {route_template}".encode()).hexdigest()[:32]


def _major(route_template: str, params: Mapping[str, str] | None) -> str:
    """The major-parameter part of a bucket key, e.g. 'channel_id=1'."""
    if not params:
        return ""
    return "+".join(f"{name}={params[name]}" for name in MAJOR_PARAMETERS if name in params)


def _seconds(value: float) -> str:
    """A header float with millisecond precision, as Discord writes them."""
    return f"{value:.3f}"


def _ceil_ms(seconds: float) -> float:
    """Seconds rounded up to whole milliseconds, so a client that waits that long is never early."""
    return math.ceil(seconds * 1000 - 1e-6) / 1000


def _retry_after_header(retry_after: float) -> str:
    """Retry-After is whole seconds, rounded up (Discord: 64.57 -> 65)."""
    return str(max(1, math.ceil(retry_after)))


@dataclass(frozen=True)
class Decision:
    """Whether one request may proceed, and the headers Discord would answer with."""

    allowed: bool
    headers: dict[str, str]
    retry_after: float = 0.0
    scope: Scope = "user"
    bucket: str = ""

    @property
    def is_global(self) -> bool:
        """True for a 429 from the global limit."""
        return self.scope == "global" and not self.allowed

    def body(self) -> dict[str, Any]:
        """The JSON body of the 429 answer."""
        return {"message": RATE_LIMITED_MESSAGE, "retry_after": self.retry_after, "global": self.is_global}


def _limited(retry_after: float, scope: Scope, bucket: str, extra: Mapping[str, str] | None = None) -> Decision:
    """A 429 decision with Discord's 429-only headers added to `extra`."""
    retry_after = max(_ceil_ms(retry_after), 0.001)
    headers = dict(extra or {})
    headers["Retry-After"] = _retry_after_header(retry_after)
    headers["X-RateLimit-Scope"] = scope
    if scope == "global":
        headers["X-RateLimit-Global"] = "true"
    headers["Via"] = "1.1 google"
    return Decision(False, headers, retry_after, scope, bucket)


@dataclass(frozen=True)
class Violation:
    """A request that arrived while a 429 it should have waited for was still running."""

    method: str
    route: str
    bucket: str
    arrived: float
    retry_until: float
    scope: Scope

    @property
    def early_by(self) -> float:
        """How many seconds too early the request came."""
        return self.retry_until - self.arrived


@dataclass
class _Window:
    """One bucket window for one set of major parameters."""

    limit: int
    period: float
    remaining: int = 0
    resets_at: float | None = None


@dataclass
class RateLimiter:
    """Per-route buckets and the global limit, with Discord's headers; remembers violations."""

    per_route_limit: int = 5
    per_route_window: float = 5.0
    global_limit: int = 50
    global_window: float = 1.0
    # "METHOD /template" or "/template" -> (limit, window seconds); the method-specific one wins.
    route_limits: Mapping[str, tuple[int, float]] = field(default_factory=dict)
    global_exempt: frozenset[str] = GLOBAL_EXEMPT_ROUTES
    clock: Clock = time.monotonic
    wall_clock: Clock = time.time
    tolerance: float = DEFAULT_TOLERANCE
    # (new DM conversations, seconds) a bot may open in any such window; None: not applied.
    new_dm_limit: tuple[int, float] | None = None

    def __post_init__(self) -> None:
        """Empty state."""
        self._new_dms: dict[str, deque[float]] = {}
        self.new_dm_refusals = 0
        self._windows: dict[str, _Window] = {}
        self._global: dict[str, deque[float]] = {}
        # bucket key (or "global:<token key>") -> monotonic time the last announced 429 ends
        self.retry_until: dict[str, float] = {}
        self.arrivals: dict[str, deque[float]] = {}
        self.violations: list[Violation] = []

    def limits_for(self, method: str, route_template: str) -> tuple[int, float]:
        """The (limit, window) of one route."""
        specific = self.route_limits.get(f"{method.upper()} {route_template}")
        if specific is not None:
            return specific
        return self.route_limits.get(route_template, (self.per_route_limit, self.per_route_window))

    def bucket_key(self, method: str, route_template: str, major_params: Mapping[str, str] | None) -> str:
        """The key discord.py also uses: bucket hash + ':' + major parameters."""
        return f"{bucket_hash(method, route_template)}:{_major(route_template, major_params)}"

    def decide(
        self,
        method: str,
        route_template: str,
        major_params: Mapping[str, str] | None = None,
        token: str | None = None,
        now: float | None = None,
    ) -> Decision:
        """Let one request through or answer 429, and note it if it ignored an earlier 429."""
        now = self.clock() if now is None else now
        method = method.upper()
        key = self.bucket_key(method, route_template, major_params)
        global_key = f"global:{token or ''}"
        exempt = route_template in self.global_exempt
        self.arrivals.setdefault(key, deque(maxlen=ARRIVALS_KEPT)).append(now)
        self._check_violation(method, route_template, key, now, "user")
        if not exempt:
            self._check_violation(method, route_template, global_key, now, "global")
            recent = self._global.setdefault(global_key, deque())
            while recent and recent[0] <= now - self.global_window:
                recent.popleft()
            if len(recent) >= self.global_limit:
                decision = _limited(recent[0] + self.global_window - now, "global", "global")
                self.retry_until[global_key] = now + decision.retry_after
                return decision
            recent.append(now)
        limit, period = self.limits_for(method, route_template)
        window = self._windows.get(key)
        if window is None or window.limit != limit or window.period != period:
            window = self._windows[key] = _Window(limit, period)
        if window.resets_at is None or now >= window.resets_at:
            window.remaining, window.resets_at = limit, now + period
        reset_after = _ceil_ms(window.resets_at - now)
        allowed = window.remaining > 0
        if allowed:
            window.remaining -= 1
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(window.remaining),
            "X-RateLimit-Reset": _seconds(self.wall_clock() + reset_after),
            "X-RateLimit-Reset-After": _seconds(reset_after),
            "X-RateLimit-Bucket": bucket_hash(method, route_template),
        }
        if allowed:
            return Decision(True, headers, 0.0, "user", key)
        decision = _limited(reset_after, "user", key, headers)
        self.retry_until[key] = now + decision.retry_after
        return decision

    def open_new_dm(self, token: str | None = None, now: float | None = None) -> bool:
        """Count one new DM conversation of this bot; False (Discord's 40003) if it is one too many."""
        if self.new_dm_limit is None:
            return True
        now = self.clock() if now is None else now
        limit, window = self.new_dm_limit
        opened = self._new_dms.setdefault(token or "", deque())
        while opened and opened[0] <= now - window:
            opened.popleft()
        if len(opened) >= limit:
            self.new_dm_refusals += 1
            return False
        opened.append(now)
        return True

    def announce(
        self,
        method: str,
        route_template: str,
        major_params: Mapping[str, str] | None,
        retry_after: float,
        *,
        scope: Scope = "user",
        token: str | None = None,
        now: float | None = None,
    ) -> None:
        """Remember a 429 sent by someone else (an injected fault) so retries are checked too."""
        now = self.clock() if now is None else now
        key = f"global:{token or ''}" if scope == "global" else self.bucket_key(method, route_template, major_params)
        self.retry_until[key] = max(self.retry_until.get(key, now), now + retry_after)

    def _check_violation(self, method: str, route: str, key: str, now: float, scope: Scope) -> None:
        """Record a violation if `key` is still inside an announced retry_after."""
        until = self.retry_until.get(key)
        if until is not None and now < until - self.tolerance:
            self.violations.append(Violation(method, route, key, now, until, scope))


@dataclass
class InvalidRequestCounter:
    """401, 403 and 429 answers over a sliding window (Discord bans at 10,000 per 10 minutes)."""

    window: float = 600.0
    clock: Clock = time.monotonic
    limit: int = INVALID_REQUEST_LIMIT

    def __post_init__(self) -> None:
        """Empty state."""
        self._times: deque[float] = deque()
        self.total = 0

    def record(self, status: int, now: float | None = None, *, scope: str | None = None) -> bool:
        """Count one answer if Discord would; True if it was counted."""
        if status not in (401, 403, 429) or (status == 429 and scope == "shared"):
            return False
        now = self.clock() if now is None else now
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        self._times.append(now)
        self.total += 1
        return True

    def count(self, now: float | None = None) -> int:
        """Invalid requests in the window ending now."""
        now = self.clock() if now is None else now
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        return sum(1 for t in self._times if t <= now)

    def banned(self, now: float | None = None) -> bool:
        """Whether Discord would now refuse this client (Cloudflare ban)."""
        return self.count(now) >= self.limit


_CLOUDFLARE_STATUS = {502: "Bad Gateway", 504: "Gateway Time-out", 524: "A timeout occurred"}
_JSON_ERRORS = {
    400: (0, "400: Bad Request"),
    401: (0, "401: Unauthorized"),
    403: (50013, "Missing Permissions"),
    404: (0, "404: Not Found"),
    405: (0, "405: Method Not Allowed"),
    500: (0, "500: Internal Server Error"),
    503: (0, "503: Service Unavailable"),
}


@dataclass(frozen=True)
class Fault:
    """One injected failure: its status, headers and body as Discord (or Cloudflare) sends them."""

    status: int
    route: str | None = None
    method: str | None = None
    retry_after: float = 1.0
    scope: Scope = "user"
    decision: Decision | None = None

    @property
    def content_type(self) -> str:
        """application/json, or text/html for Cloudflare's gateway errors."""
        return "text/html" if self.status in _CLOUDFLARE_STATUS else "application/json"

    def headers(self) -> dict[str, str]:
        """Headers to send (a 429's include Retry-After, X-RateLimit-Scope and Via)."""
        return dict(self.decision.headers) if self.decision is not None else {}

    def body(self) -> dict[str, Any] | str:
        """The body: Discord's JSON error, the 429 JSON, or Cloudflare's HTML page."""
        if self.decision is not None:
            return self.decision.body()
        if self.status in _CLOUDFLARE_STATUS:
            title = f"{self.status} {_CLOUDFLARE_STATUS[self.status]}"
            return (
                f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
                f"<center><h1>{title}</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
                "</body>\r\n</html>\r\n"
            )
        code, message = _JSON_ERRORS.get(self.status, (0, f"{self.status}: Error"))
        return {"message": message, "code": code}


@dataclass
class _Pending:
    """Faults still to hand out for one matcher."""

    status: int
    remaining: int
    route: str | None
    method: str | None
    retry_after: float
    scope: Scope


@dataclass
class FaultPlan:
    """Failures a test asks for, handed out in order to the requests they match."""

    wall_clock: Clock = time.time

    def __post_init__(self) -> None:
        """Empty plan."""
        self._pending: list[_Pending] = []
        self.taken: list[tuple[str, str, Fault]] = []

    def inject(
        self,
        status: int,
        count: int = 1,
        route: str | None = None,
        retry_after: float = 1.0,
        global_: bool = False,
        *,
        method: str | None = None,
        scope: Scope | None = None,
    ) -> None:
        """Fail the next `count` requests to `route` (a template; None for any) with `status`."""
        if count < 1:
            raise ValueError("count must be at least 1")
        chosen: Scope = "global" if global_ else (scope or "user")
        self._pending.append(_Pending(status, count, route, method.upper() if method else None, retry_after, chosen))

    def take(self, method: str, route_template: str) -> Fault | None:
        """The next fault for this request, consumed, or None."""
        for pending in self._pending:
            if pending.route not in (None, route_template):
                continue
            if pending.method not in (None, method.upper()):
                continue
            pending.remaining -= 1
            if pending.remaining == 0:
                self._pending.remove(pending)
            fault = self._make(pending, method.upper(), route_template)
            self.taken.append((method.upper(), route_template, fault))
            return fault
        return None

    @property
    def pending(self) -> int:
        """Faults not yet handed out."""
        return sum(p.remaining for p in self._pending)

    def clear(self) -> None:
        """Forget every fault not yet handed out."""
        self._pending.clear()

    def _make(self, pending: _Pending, method: str, route_template: str) -> Fault:
        """Build the fault, with a 429's headers as Discord would send them for this route."""
        decision = None
        if pending.status == 429:
            extra: dict[str, str] = {}
            bucket = "global"
            if pending.scope != "global":
                bucket = bucket_hash(method, route_template)
                extra = {
                    "X-RateLimit-Limit": "1",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": _seconds(self.wall_clock() + pending.retry_after),
                    "X-RateLimit-Reset-After": _seconds(pending.retry_after),
                    "X-RateLimit-Bucket": bucket,
                }
            decision = _limited(pending.retry_after, pending.scope, bucket, extra)
        return Fault(pending.status, pending.route, pending.method, pending.retry_after, pending.scope, decision)
