"""The audit trail's rows: written inside the change they describe, read by `/backups audit`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.audit import AUDIT_SHOWN, AuditAction, AuditEntry, AuditOutcome
from bot.store.sessions import UsesSessions
from bot.store.tables import AuditRow

# Outside text (a Northflank error, a destination name) is kept to this length.
_MAX_TEXT = 500


class AuditQueries(UsesSessions):
    async def record_audit(self, entry: AuditEntry) -> None:
        """An entry on its own (a refusal, a failure): nothing else changed with it."""
        async with self._sessions.write() as session:
            add_audit(session, entry)

    async def audit_entries(self, channel: str, *, limit: int = AUDIT_SHOWN) -> list[AuditEntry]:
        """The channel's newest entries first."""
        async with self._sessions.read() as session:
            rows = await session.scalars(
                select(AuditRow)
                .where(AuditRow.channel == channel)
                .order_by(AuditRow.id.desc())
                .limit(limit)
            )
            return [_entry(row) for row in rows]


def add_audit(session: AsyncSession, entry: AuditEntry) -> None:
    """In the caller's transaction, so the change and its entry commit (or fail) together."""
    session.add(
        AuditRow(
            channel=entry.channel,
            user_id=entry.user_id,
            action=entry.action.value,
            target=entry.target[:_MAX_TEXT],
            detail=entry.detail[:_MAX_TEXT] if entry.detail is not None else None,
            outcome=entry.outcome.value,
            at=entry.at,
        )
    )


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        channel=row.channel,
        user_id=row.user_id,
        action=AuditAction(row.action),
        target=row.target,
        at=row.at,
        outcome=AuditOutcome(row.outcome),
        detail=row.detail,
    )
