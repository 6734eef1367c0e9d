"""The start-up check's report to the coordinators: once for a given set of findings, not at every restart.

The findings are remembered in the audit log (action `setup.reported`, target `guild:<id>`, the
findings' keys in its details), so coordinators can see in `/report audit` when the bot last told
them. A restart with the same findings posts nothing; a new or different set is posted again; a
clean check is recorded too, so problems that come back later are reported afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.model import SetupFinding
from bot.ports import Announcer
from bot.storage import Database
from bot.texts import setup as texts

log = logging.getLogger(__name__)

AUDIT_ACTION = "setup.reported"
# Discord refuses longer messages.
_MAX_MESSAGE = 2000


class SetupReport:
    """Posts the start-up check's findings in the coordinators' channel when they change."""

    def __init__(self, db: Database, announcer: Announcer, guild_id: int) -> None:
        self.db = db
        self.announcer = announcer
        self.target = f"guild:{guild_id}"

    async def last_reported(self) -> list[str]:
        """The keys of the findings last recorded ([] when none, or when the last check was clean)."""
        rows = await self.db.list_audit(action=AUDIT_ACTION, target=self.target, limit=1)
        return list(rows[0].details.get("findings") or []) if rows else []

    async def report(self, findings: Sequence[SetupFinding], *, can_post: bool) -> bool:
        """Post the findings unless these same ones were reported already; True when a report was posted."""
        keys = sorted(finding.key for finding in findings)
        if keys == await self.last_reported():
            return False
        if not findings:
            await self.db.add_audit(None, AUDIT_ACTION, self.target, {"findings": []})
            return False
        if not can_post:
            # Not recorded: the next start tries again, once the coordinators' channel works.
            log.error("cannot post the setup report: the coordinators' channel itself needs fixing (see above)")
            return False
        await self.announcer.to_coordinators(compose(findings))
        await self.db.add_audit(None, AUDIT_ACTION, self.target, {"findings": keys})
        return True


def compose(findings: Sequence[SetupFinding]) -> str:
    """The report: a heading, one line per finding (as many as fit), and how to see them all."""
    head, foot = texts.SETUP_REPORT_HEADING, texts.SETUP_REPORT_FOOTER
    lines: list[str] = []
    for index, finding in enumerate(findings):
        line = texts.SETUP_REPORT_LINE.format(text=finding.discord_text)
        rest = len(findings) - index - 1
        more = texts.SETUP_REPORT_MORE.format(count=rest) if rest else ""
        if len("\n".join([head, *lines, line, more, foot])) > _MAX_MESSAGE:
            lines.append(texts.SETUP_REPORT_MORE.format(count=len(findings) - index))
            break
        lines.append(line)
    return "\n".join([head, *lines, foot])
