"""discord.py's clean-up of idle rate-limit buckets, made seldom: a fan-out to many DM channels stays linear."""

from __future__ import annotations

import aiohttp
import discord

from bot.adapters.pacing import BUCKET_SWEEP_EVERY, sweep_buckets_seldom


async def test_idle_buckets_are_still_forgotten_but_not_looked_for_on_every_new_bucket() -> None:
    http = discord.http.HTTPClient(aiohttp.TCPConnector())
    now = [0.0]
    walked = 0
    sweep = http._try_clear_expired_ratelimits

    def counted() -> None:
        nonlocal walked
        walked += 1
        sweep()

    http._try_clear_expired_ratelimits = counted  # type: ignore[method-assign]
    sweep_buckets_seldom(http, clock=lambda: now[0])
    # A fan-out: one new bucket per DM channel, thousands within seconds.
    for channel in range(3_000):
        http.get_ratelimit(f"POST /channels/{channel}/messages")
    assert walked == 1, "one walk in the first BUCKET_SWEEP_EVERY seconds, not one per new bucket"
    assert len(http._buckets) == 3_000, "nothing was idle yet, so nothing was forgotten"
    # Later, once discord.py counts them idle (five minutes), the next sweep forgets them.
    for bucket in http._buckets.values():
        bucket._last_request -= 301
    now[0] += BUCKET_SWEEP_EVERY
    http.get_ratelimit("POST /channels/next/messages")
    assert walked == 2
    assert list(http._buckets) == ["POST /channels/next/messages"]
    await http.close()
