"""What coordinators read about the community: the popularity figures and the change log.

`Reports` reads them for a coordinator (the role is checked here, as the command checks it too);
`audit_csv` lays the change log out as a spreadsheet, so this module needs no Discord and no SQL.
Cells a spreadsheet would run as a formula are defused, since titles, reasons and display names
are typed by people.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import datetime

from bot.config import Config
from bot.model import Actor, AuditRow
from bot.schedule.rules import format_pacific, utc_isoformat
from bot.services.permissions import require_coordinator
from bot.services.popularity import PopularityReport, popularity_report
from bot.storage import Database

AUDIT_COLUMNS = ("id", "at_utc", "at_pacific", "actor_id", "actor_name", "action", "target", "details")
# Spreadsheet apps run a cell starting with these as a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """One cell as text, with a leading quote mark when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def audit_csv(rows: Iterable[AuditRow], names: Mapping[int, str]) -> str:
    """The audit rows as CSV, oldest first; `names` gives display names for actor ids where known."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(AUDIT_COLUMNS)
    for row in sorted(rows, key=lambda row: (row.at, row.id)):
        actor_name = "" if row.actor_id is None else names.get(row.actor_id, "")
        values = (
            row.id,
            utc_isoformat(row.at),
            format_pacific(row.at),
            row.actor_id,
            actor_name,
            row.action,
            row.target,
            json.dumps(dict(row.details), sort_keys=True, ensure_ascii=False),
        )
        writer.writerow(csv_cell(value) for value in values)
    return buffer.getvalue()


class Reports:
    """The popularity figures and the change log, for coordinators only."""

    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        self.config = config

    async def popularity(self, actor: Actor, start_utc: datetime, end_utc: datetime) -> PopularityReport:
        """Sign-ups and attendance of the sessions starting in [start, end), grouped for coordinators."""
        require_coordinator(actor, self.config.roles)
        return await popularity_report(self.db, start_utc, end_utc)

    async def change_log(self, actor: Actor, limit: int | None = None) -> list[AuditRow]:
        """The latest `limit` changes (None: all of them), newest first."""
        require_coordinator(actor, self.config.roles)
        return await self.db.list_audit(limit=limit)
