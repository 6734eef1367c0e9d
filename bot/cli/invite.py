"""`python -m bot invite-url --client-id ID`: the link that adds the bot with exactly the permissions it needs."""

from __future__ import annotations

import argparse
from typing import Any

from bot.adapters.invite import REQUIRED, invite_url
from bot.errors import ConfigError


def register(subparsers: Any) -> None:
    """Add the `invite-url` command."""
    parser = subparsers.add_parser(
        "invite-url",
        help="print the link that adds the bot to a server with exactly the permissions it needs",
        description="Print the OAuth2 invite link. The client id is the Application ID shown on the "
        "Discord Developer Portal's General Information page.",
    )
    parser.add_argument("--client-id", required=True, help="the application's id (a long number)")
    parser.add_argument("--explain", action="store_true", help="also list each permission and why it is needed")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    text = str(args.client_id).strip()
    if not text.isdecimal() or not 17 <= len(text) <= 20:
        raise ConfigError(
            "--client-id",
            f"must be the application's id, a number of 17 to 20 digits (Developer Portal > General Information); "
            f"got {text[:40]!r}",
        )
    print(invite_url(int(text)))
    if args.explain:
        for name, reason in REQUIRED:
            print(f"  {name.replace('_', ' ')}: {reason}")
    return 0
