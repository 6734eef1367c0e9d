"""`python -m tests.faults.die_at ARGS`: `python -m bot ARGS` that dies by SIGKILL at one named moment.

The sandbox's kill switch (tests.faults.support.KillSwitch) kills the bot while Discord answers a
request. Some moments lie between two database writes, where no request is in flight; this runs
the real command line in-process with one storage call wrapped to kill the process at that moment,
so nothing after it (no commit, no clean-up) runs. PRACTICE_CIRCLES_DIE_AT names the moment:

- `first-notice-row`: as the first change notice's ledger row is being written.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from bot.cli import main
from bot.model import DeliveryKey
from bot.storage.deliveries import DeliveryQueries

MOMENT_VARIABLE = "PRACTICE_CIRCLES_DIE_AT"


def _die_at_the_first_notice_row() -> None:
    write = DeliveryQueries.insert_delivery

    async def insert_delivery(self: DeliveryQueries, key: DeliveryKey, *args: Any, **kwargs: Any) -> Any:
        if key.kind.startswith("notice:"):
            os.kill(os.getpid(), signal.SIGKILL)
        return await write(self, key, *args, **kwargs)

    DeliveryQueries.insert_delivery = insert_delivery  # type: ignore[method-assign]


MOMENTS: dict[str, Callable[[], None]] = {"first-notice-row": _die_at_the_first_notice_row}

if __name__ == "__main__":
    MOMENTS[os.environ[MOMENT_VARIABLE]]()
    raise SystemExit(main(sys.argv[1:]))
