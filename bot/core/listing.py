"""What a listing of backups is: a filter, a position to resume from, one page of answers. Pure.

A listing position is a `Position`: the cursor of an API page plus how many
of that page's backups were already shown. Resuming from it re-reads that
one page and so never skips or repeats a backup, even when a filter stopped
half-way through a page. bot/services/listing.py reads the pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core.backups import Backup, BackupStatus, Destination

DEFAULT_LIMIT = 10
# Northflank ids are slugs; anything else is looked up by name only.
DESTINATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
MAX_LIMIT = 20
# A filter scans at most this many API pages per answer (2,000 backups at 100
# a page), so one slash command cannot eat the hour's request budget.
MAX_SCAN_PAGES = 20


@dataclass(frozen=True, slots=True)
class BackupFilter:
    statuses: frozenset[str] = frozenset()
    addon: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.statuses or self.addon)

    def matches(self, backup: Backup) -> bool:
        if self.statuses and backup.status_text not in self.statuses:
            return False
        if self.addon is not None:
            wanted = self.addon.casefold()
            addon = backup.addon
            if addon is None or wanted not in (addon.id.casefold(), addon.name.casefold()):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Position:
    cursor: str | None = None
    skip: int = 0


NO_FILTER = BackupFilter()
START = Position()


@dataclass(frozen=True, slots=True)
class ListingPage:
    destination: Destination
    backups: tuple[Backup, ...]
    next_position: Position | None
    scanned: int
    # True when a filter stopped at MAX_SCAN_PAGES before finding `limit` matches.
    scan_capped: bool = False
    skipped: tuple[str, ...] = field(default=())


def known_status_words() -> list[str]:
    return [s.value for s in BackupStatus if s is not BackupStatus.UNKNOWN]
