"""Rate limits, the invalid-request counter and faults; then the real discord.py client against them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import pytest
from aiohttp import web
from discord.http import HTTPClient, Route, handle_message_parameters

from loopback.ratelimit import (
    INTERACTION_CALLBACK,
    Decision,
    FaultPlan,
    InvalidRequestCounter,
    RateLimiter,
    bucket_hash,
)

MESSAGES = "/channels/{channel_id}/messages"
MESSAGE = "/channels/{channel_id}/messages/{message_id}"
WALL = 1_700_000_000.0


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter(clock: FakeClock) -> RateLimiter:
    return RateLimiter(clock=clock, wall_clock=lambda: WALL)


def post(limiter: RateLimiter, channel: str = "1", token: str | None = "bot") -> Decision:  # noqa: S107
    """One message create on a channel."""
    return limiter.decide("POST", MESSAGES, {"channel_id": channel}, token)


def read_like_discord_py(headers: dict[str, str]) -> tuple[int, int, float, float]:
    """What discord.py's Ratelimit.update reads: limit, remaining, reset-after, reset."""
    return (
        int(headers["X-RateLimit-Limit"]),
        int(headers["X-RateLimit-Remaining"]),
        float(headers["X-RateLimit-Reset-After"]),
        float(headers["X-RateLimit-Reset"]),
    )


# --- per-route buckets -------------------------------------------------------------------------------


def test_bucket_headers_count_down_and_then_429(limiter: RateLimiter, clock: FakeClock) -> None:
    seen = []
    for _ in range(5):
        decision = post(limiter)
        assert decision.allowed and decision.scope == "user"
        seen.append(read_like_discord_py(decision.headers))
        clock.advance(0.5)
    assert [s[:2] for s in seen] == [(5, 4), (5, 3), (5, 2), (5, 1), (5, 0)]
    assert [s[2] for s in seen] == [5.0, 4.5, 4.0, 3.5, 3.0]
    assert seen[0][3] == WALL + 5.0
    assert decision.headers["X-RateLimit-Reset-After"] == "3.000"
    assert decision.headers["X-RateLimit-Bucket"] == bucket_hash("POST", MESSAGES)
    assert "Retry-After" not in decision.headers

    limited = post(limiter)
    assert not limited.allowed
    assert limited.retry_after == 2.5
    assert limited.headers["Retry-After"] == "3"
    assert limited.headers["X-RateLimit-Scope"] == "user"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["Via"] == "1.1 google"  # discord.py takes a 429 without Via for a ban
    assert "X-RateLimit-Global" not in limited.headers
    assert limited.body() == {"message": "You are being rate limited.", "retry_after": 2.5, "global": False}
    assert limited.bucket == f"{bucket_hash('POST', MESSAGES)}:channel_id=1"


def test_window_resets_after_its_period(limiter: RateLimiter, clock: FakeClock) -> None:
    for _ in range(5):
        assert post(limiter).allowed
    assert not post(limiter).allowed
    clock.advance(4.999)
    assert not post(limiter).allowed
    clock.advance(0.001)
    fresh = post(limiter)
    assert fresh.allowed
    assert fresh.headers["X-RateLimit-Remaining"] == "4"
    assert fresh.headers["X-RateLimit-Reset-After"] == "5.000"


def test_buckets_split_by_major_parameter_and_method_only(limiter: RateLimiter) -> None:
    for _ in range(5):
        assert post(limiter, "1").allowed
    assert not post(limiter, "1").allowed
    other_channel = post(limiter, "2")
    assert other_channel.allowed
    assert other_channel.headers["X-RateLimit-Bucket"] == bucket_hash("POST", MESSAGES)  # same bucket, own window
    assert limiter.decide("GET", MESSAGES, {"channel_id": "1"}).allowed  # other method, other bucket
    # message_id is not a major parameter: edits of different messages share a window.
    for message in range(5):
        assert limiter.decide("PATCH", MESSAGE, {"channel_id": "1", "message_id": str(message)}).allowed
    assert not limiter.decide("PATCH", MESSAGE, {"channel_id": "1", "message_id": "99"}).allowed


def test_limits_are_configurable_per_route(clock: FakeClock) -> None:
    limiter = RateLimiter(
        clock=clock,
        route_limits={f"POST {MESSAGES}": (2, 1.0), MESSAGE: (1, 0.25)},
    )
    assert [post(limiter).allowed for _ in range(3)] == [True, True, False]
    assert post(limiter).headers["X-RateLimit-Limit"] == "2"
    assert limiter.limits_for("DELETE", MESSAGE) == (1, 0.25)
    assert limiter.limits_for("GET", MESSAGES) == (5, 5.0)


# --- global limit ------------------------------------------------------------------------------------


def test_global_limit_is_50_per_second(clock: FakeClock) -> None:
    limiter = RateLimiter(clock=clock, per_route_limit=1000)
    for i in range(50):
        assert post(limiter, str(i)).allowed
        clock.advance(0.01)
    limited = post(limiter, "99")
    assert not limited.allowed and limited.scope == "global"
    assert limited.headers["X-RateLimit-Global"] == "true"
    assert limited.headers["X-RateLimit-Scope"] == "global"
    assert limited.body()["global"] is True
    assert limited.retry_after == pytest.approx(0.5)
    assert post(limiter, "99", token="another bot").allowed  # the global limit is per token
    clock.advance(0.5)
    assert post(limiter, "99").allowed


def test_interaction_callbacks_are_not_bound_by_the_global_limit(clock: FakeClock) -> None:
    limiter = RateLimiter(clock=clock, per_route_limit=1000)
    for i in range(50):
        assert post(limiter, str(i)).allowed
    assert not post(limiter, "x").allowed
    for i in range(60):
        params = {"interaction_id": str(i), "interaction_token": f"tok{i}"}
        assert limiter.decide("POST", INTERACTION_CALLBACK, params, "t").allowed
    assert limiter.violations == []


def test_each_interaction_has_its_own_callback_window(limiter: RateLimiter) -> None:
    for i in range(10):
        params = {"interaction_id": str(i), "interaction_token": "tok"}
        assert limiter.decide("POST", INTERACTION_CALLBACK, params).allowed


# --- violations ---------------------------------------------------------------------------------------


def test_a_request_before_retry_after_is_a_violation(limiter: RateLimiter, clock: FakeClock) -> None:
    for _ in range(5):
        post(limiter)
    limited = post(limiter)
    assert limiter.violations == []
    clock.advance(limited.retry_after / 2)
    post(limiter)
    assert len(limiter.violations) == 1
    violation = limiter.violations[0]
    assert violation.scope == "user" and violation.route == MESSAGES
    assert violation.early_by == pytest.approx(limited.retry_after / 2)
    clock.advance(limited.retry_after)  # the early request was answered 429 again; wait that one out
    assert post(limiter).allowed
    assert len(limiter.violations) == 1
    assert list(limiter.arrivals[limited.bucket]) == [100.0] * 6 + [102.5, 107.5]


def test_other_buckets_are_not_violations(limiter: RateLimiter) -> None:
    for _ in range(6):
        post(limiter, "1")
    post(limiter, "2")
    limiter.decide("GET", MESSAGES, {"channel_id": "1"})
    assert limiter.violations == []


def test_global_violation(clock: FakeClock) -> None:
    limiter = RateLimiter(clock=clock, per_route_limit=1000)
    for i in range(51):
        post(limiter, str(i))
    clock.advance(0.1)
    post(limiter, "200")
    assert [v.scope for v in limiter.violations] == ["global"]


def test_announced_fault_429_is_watched_too(limiter: RateLimiter, clock: FakeClock) -> None:
    limiter.announce("POST", MESSAGES, {"channel_id": "1"}, 0.3)
    clock.advance(0.2)
    post(limiter)
    clock.advance(0.1)
    post(limiter)
    assert len(limiter.violations) == 1
    assert limiter.violations[0].early_by == pytest.approx(0.1)


# --- invalid requests -------------------------------------------------------------------------------


def test_invalid_request_counter_window(clock: FakeClock) -> None:
    counter = InvalidRequestCounter(clock=clock, limit=4)
    for status in (200, 204, 400, 404, 500):
        assert not counter.record(status)
    assert counter.record(401)
    assert counter.record(403)
    assert counter.record(429)
    assert not counter.record(429, scope="shared")
    assert counter.count() == 3 and not counter.banned()
    clock.advance(300)
    counter.record(401)
    assert counter.banned()
    clock.advance(300)
    assert counter.count() == 1
    assert counter.total == 4


# --- fault plan -----------------------------------------------------------------------------------------


def test_fault_plan_hands_out_faults_in_order_to_matching_routes() -> None:
    plan = FaultPlan(wall_clock=lambda: WALL)
    plan.inject(500, count=2, route=MESSAGES)
    plan.inject(403, method="DELETE")
    assert plan.pending == 3
    assert plan.take("GET", "/users/@me") is None
    first = plan.take("POST", MESSAGES)
    assert first is not None and first.status == 500
    assert first.body() == {"message": "500: Internal Server Error", "code": 0}
    assert first.content_type == "application/json" and first.headers() == {}
    second = plan.take("POST", MESSAGES)
    assert second is not None and second.status == 500
    assert plan.take("POST", MESSAGES) is None
    forbidden = plan.take("delete", MESSAGE)
    assert forbidden is not None and forbidden.body() == {"message": "Missing Permissions", "code": 50013}
    assert plan.pending == 0 and plan.take("DELETE", MESSAGE) is None
    assert [status for _, _, f in plan.taken for status in [f.status]] == [500, 500, 403]
    with pytest.raises(ValueError, match="count"):
        plan.inject(500, count=0)


def test_fault_429_answers_like_discord() -> None:
    plan = FaultPlan(wall_clock=lambda: WALL)
    plan.inject(429, route=MESSAGES, retry_after=0.3)
    plan.inject(429, retry_after=2.5, global_=True)
    plan.inject(429, scope="shared")
    user = plan.take("POST", MESSAGES)
    assert user is not None and user.decision is not None
    assert user.body() == {"message": "You are being rate limited.", "retry_after": 0.3, "global": False}
    assert user.headers() == {
        "X-RateLimit-Limit": "1",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{WALL + 0.3:.3f}",
        "X-RateLimit-Reset-After": "0.300",
        "X-RateLimit-Bucket": bucket_hash("POST", MESSAGES),
        "Retry-After": "1",
        "X-RateLimit-Scope": "user",
        "Via": "1.1 google",
    }
    glob = plan.take("GET", "/users/@me")
    assert glob is not None
    assert glob.decision is not None and glob.decision.body()["global"] is True
    assert glob.headers() == {
        "Retry-After": "3",
        "X-RateLimit-Scope": "global",
        "X-RateLimit-Global": "true",
        "Via": "1.1 google",
    }
    shared = plan.take("GET", "/users/@me")
    assert shared is not None and shared.headers()["X-RateLimit-Scope"] == "shared"


def test_cloudflare_style_gateway_errors_are_html() -> None:
    plan = FaultPlan()
    plan.inject(502)
    fault = plan.take("GET", "/users/@me")
    assert fault is not None and fault.content_type == "text/html"
    body = fault.body()
    assert isinstance(body, str) and "502 Bad Gateway" in body and "cloudflare" in body


# --- the real discord.py client against a tiny server using these pieces ---------------------------------


@dataclass
class TinyDiscord:
    """Two routes of Discord's REST API, rate limited and fault-injected by the module under test."""

    limiter: RateLimiter = field(default_factory=RateLimiter)
    faults: FaultPlan = field(default_factory=FaultPlan)
    statuses: list[int] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v10/users/@me", self.me)
        app.router.add_post("/api/v10/channels/{channel_id}/messages", self.send)
        return app

    async def me(self, request: web.Request) -> web.Response:
        user = {"id": "10", "username": "practice-circles", "discriminator": "0", "avatar": None, "bot": True}
        return self.answer(request, "/users/@me", user)

    async def send(self, request: web.Request) -> web.Response:
        payload = await request.json()
        message = {
            "id": "20",
            "channel_id": request.match_info["channel_id"],
            "content": payload.get("content"),
        }
        return self.answer(request, MESSAGES, message)

    def answer(self, request: web.Request, template: str, ok: Any) -> web.Response:
        """Fault, rate limit or success, in the order Discord's edge applies them."""
        params = dict(request.match_info)
        fault = self.faults.take(request.method, template)
        if fault is not None:
            if fault.status == 429:
                self.limiter.announce(request.method, template, params, fault.retry_after, scope=fault.scope)
            return self.reply(fault.status, fault.body(), fault.headers(), fault.content_type)
        decision = self.limiter.decide(request.method, template, params, request.headers.get("Authorization"))
        if not decision.allowed:
            return self.reply(429, decision.body(), decision.headers)
        return self.reply(200, ok, decision.headers)

    def reply(
        self, status: int, body: Any, headers: dict[str, str], content_type: str = "application/json"
    ) -> web.Response:
        self.statuses.append(status)
        text = body if isinstance(body, str) else json.dumps(body)
        # Exactly "application/json" (no charset): discord.py compares the header verbatim.
        response = web.Response(status=status, body=text.encode(), headers=headers)
        response.headers["Content-Type"] = content_type
        return response


@pytest.fixture
async def tiny(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[TinyDiscord, HTTPClient]]:
    """The tiny server on a real 127.0.0.1 socket and a logged-in discord.py HTTPClient aimed at it."""
    server = TinyDiscord()
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    monkeypatch.setattr(Route, "BASE", f"http://{host}:{port}/api/v10")
    client = HTTPClient(asyncio.get_running_loop())
    try:
        await client.static_login("sandbox-token")
        yield server, client
    finally:
        await client.close()
        await runner.cleanup()


def _send(client: HTTPClient, text: str) -> Any:
    return client.send_message(1, params=handle_message_parameters(content=text))


async def test_discord_py_waits_out_an_injected_429(tiny: tuple[TinyDiscord, HTTPClient]) -> None:
    server, client = tiny
    server.faults.inject(429, route=MESSAGES, retry_after=0.3)
    started = time.monotonic()
    message = await _send(client, "hello")
    assert message["content"] == "hello"
    assert time.monotonic() - started >= 0.3
    arrivals = list(server.limiter.arrivals[server.limiter.bucket_key("POST", MESSAGES, {"channel_id": "1"})])
    assert len(arrivals) == 1  # the 429 was answered before the limiter; this is the retry
    assert server.statuses[-2:] == [429, 200]
    assert server.limiter.violations == []


async def test_discord_py_reads_the_bucket_headers(tiny: tuple[TinyDiscord, HTTPClient]) -> None:
    server, client = tiny
    server.limiter = RateLimiter(route_limits={MESSAGES: (2, 0.4)})
    # Three at once: discord.py learns the bucket from the first answer, and when Remaining reaches
    # 0 it sleeps for Reset-After by itself, so it never meets a 429.
    results = await asyncio.gather(*(_send(client, f"m{i}") for i in range(3)))
    assert [m["content"] for m in results] == ["m0", "m1", "m2"]
    assert 429 not in server.statuses
    assert server.limiter.violations == []
    arrivals = list(server.limiter.arrivals[server.limiter.bucket_key("POST", MESSAGES, {"channel_id": "1"})])
    assert arrivals[-1] - arrivals[0] >= 0.4 - 0.002


async def test_discord_py_waits_out_a_global_429(tiny: tuple[TinyDiscord, HTTPClient]) -> None:
    server, client = tiny
    server.faults.inject(429, route=MESSAGES, retry_after=0.2, global_=True)
    started = time.monotonic()
    await _send(client, "after the global limit")
    assert time.monotonic() - started >= 0.2
    assert server.limiter.violations == []


async def test_the_violation_check_catches_an_impatient_client(tiny: tuple[TinyDiscord, HTTPClient]) -> None:
    server, _ = tiny
    server.faults.inject(429, route=MESSAGES, retry_after=0.3)
    url = f"{Route.BASE}/channels/1/messages"
    async with aiohttp.ClientSession() as session:
        for _ in range(2):  # no waiting between the 429 and the repeat
            async with session.post(url, json={"content": "now"}) as response:
                await response.read()
    assert [v.scope for v in server.limiter.violations] == ["user"]
    assert server.limiter.violations[0].early_by > 0.2


class _QuickSleep:
    """discord.http's view of asyncio, with sleeps 20x shorter and their requested lengths noted."""

    def __init__(self) -> None:
        self.requested: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, seconds: float) -> None:
        self.requested.append(seconds)
        await asyncio.sleep(seconds / 20)


@pytest.fixture
def quick_sleep(monkeypatch: pytest.MonkeyPatch) -> Iterator[_QuickSleep]:
    """discord.py backs off 1 s, then 3 s, on 5xx; shorten that for the test, keeping the count."""
    shim = _QuickSleep()
    monkeypatch.setattr(discord.http, "asyncio", shim)
    yield shim


async def test_discord_py_retries_a_5xx_burst(tiny: tuple[TinyDiscord, HTTPClient], quick_sleep: _QuickSleep) -> None:
    server, client = tiny
    server.faults.inject(500, route=MESSAGES)
    server.faults.inject(502, route=MESSAGES)
    message = await _send(client, "through the storm")
    assert message["content"] == "through the storm"
    assert server.statuses[-3:] == [500, 502, 200]
    assert quick_sleep.requested == [1, 3]  # discord.py's back-off: 1 + tries * 2
    assert server.faults.pending == 0


def test_new_dm_conversations_beyond_the_limit_are_refused_until_the_window_moves_on() -> None:
    limiter = RateLimiter(new_dm_limit=(2, 10.0))
    assert [limiter.open_new_dm("bot", now=t) for t in (0.0, 1.0, 2.0)] == [True, True, False]
    assert limiter.open_new_dm("another bot", now=2.0), "each bot token has its own count"
    assert limiter.open_new_dm("bot", now=10.5), "the first one has left the window"
    assert limiter.new_dm_refusals == 1
    assert all(RateLimiter().open_new_dm("bot", now=0.0) for _ in range(100)), "no threshold unless given"
