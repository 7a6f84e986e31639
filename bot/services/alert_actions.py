"""What the buttons on an alert do; each press comes to an `ActionOutcome`.

Every press is checked as strictly as typed input: the alert id comes from
the button, so the alert must exist and belong to the channel the press came
from. Acknowledge and Snooze are open to everyone in the channel (whoever is
on call); Retain, Start backup and Abort call Northflank and are for
BOT_ADMINS only. Each change is one conditional store update, so a double
click (or one click delivered to two replicas) acts once, and the second
press is told who did it and when. Every action, refused ones included, is
written to the audit trail in the same transaction as the change. What a
press came to is returned as data (bot/services/alert_outcomes.py); the
result of a write is queued as a note for the alert's thread.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from bot.core.alerts import Alert
from bot.core.audit import AuditAction, AuditOutcome, Requester
from bot.core.backups import Destination
from bot.core.connections import shown_id
from bot.core.durations import format_duration
from bot.core.failures import Failure, FailureKind
from bot.core.handling import Snooze, StoredAlert, WriteState
from bot.core.listing import BackupFilter
from bot.core.messages import WriteResultNote, note_to_json
from bot.core.tenancy import team_of
from bot.core.watches import Event
from bot.core.write_actions import write_target
from bot.northflank.errors import AuthenticationError, NorthflankError
from bot.services.admins import AdminDirectory, admin_directory
from bot.services.alert_outcomes import (
    Acknowledged,
    ActionOutcome,
    AlreadyAcknowledged,
    AlreadyResolved,
    AlreadySnoozed,
    BackupsShown,
    ListingFailed,
    Snoozed,
    StaleButton,
    WriteAlreadyDone,
    WriteFinished,
    WriteNotApplicable,
    WriteRefused,
    WriteUnderWay,
)
from bot.services.connections import NorthflankAccess, NorthflankConnections
from bot.store import Store

log = logging.getLogger(__name__)

# A write still 'running' after this long was left by a replica that died
# half-way; it may be pressed again. Northflank answers within seconds.
STALE_WRITE = timedelta(minutes=2)
# Not an audited action (it changes nothing), but counted like the others.
SHOW_BACKUPS = "show-backups"


class AlertActions:
    def __init__(
        self,
        store: Store,
        connections: NorthflankConnections,
        *,
        admins: AdminDirectory | Collection[str],
        clock: Callable[[], datetime],
        wake: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        # The alert's destination key names the connection every call goes through.
        self._connections = connections
        self._admins = admin_directory(admins)
        self._clock = clock
        self._wake = wake
        # Presses by (action, outcome) for /metrics: done, already (a second press),
        # stale, refused, failed, unusable (a button that does not fit its alert).
        self.presses: Counter[tuple[str, str]] = Counter()

    # ----- everyone ----------------------------------------------------------------------

    async def channel_of(self, alert_id: int) -> str | None:
        """The channel an alert was raised in (a press on the Home tab acts there)."""
        stored = await self._store.alert(alert_id)
        return stored.channel if stored is not None else None

    async def acknowledge(self, alert_id: int, who: Requester) -> ActionOutcome:
        stored = await self._alert_here(alert_id, who)
        if stored is None:
            return self._stale(AuditAction.ACKNOWLEDGE)
        if stored.resolved_at is not None:
            self._count(AuditAction.ACKNOWLEDGE, "already")
            return AlreadyResolved(stored.resolved_at)
        now = self._clock()
        done = await self._store.acknowledge(
            alert_id,
            user_id=who.user_id,
            now=now,
            audit=who.audit(AuditAction.ACKNOWLEDGE, _subject(stored.alert), now),
        )
        if done is None:
            return self._stale(AuditAction.ACKNOWLEDGE)
        if not done.new:
            self._count(AuditAction.ACKNOWLEDGE, "already")
            return AlreadyAcknowledged(done.by, done.at)
        self._count(AuditAction.ACKNOWLEDGE, "done")
        self._woken()
        return Acknowledged()

    async def snooze(self, alert_id: int, duration: timedelta, who: Requester) -> ActionOutcome:
        stored = await self._alert_here(alert_id, who)
        if stored is None:
            return self._stale(AuditAction.SNOOZE)
        now = self._clock()
        alert = stored.alert
        scope = _snooze_scope(alert)
        snooze = Snooze(
            channel=stored.channel,
            destination_id=stored.destination_id,
            addon_id=alert.addon_id or "",
            event=alert.event,
            until=now + duration,
            created_by=who.user_id,
            created_at=now,
        )
        result = await self._store.snooze(
            snooze,
            alert_id=alert_id,
            now=now,
            audit=who.audit(
                AuditAction.SNOOZE,
                scope,
                now,
                detail=f"for {format_duration(duration)}, until {snooze.until:%Y-%m-%d %H:%M} UTC",
            ),
        )
        held = result.snooze
        if not result.new:
            self._count(AuditAction.SNOOZE, "already")
            return AlreadySnoozed(scope, held.until, held.created_by)
        self._count(AuditAction.SNOOZE, "done")
        self._woken()
        return Snoozed(scope, held.until)

    async def show_backups(self, alert_id: int, who: Requester) -> ActionOutcome:
        stored = await self._alert_here(alert_id, who)
        if stored is None:
            return self._stale(SHOW_BACKUPS)
        alert = stored.alert
        destination = Destination(id=stored.destination_id, name=stored.destination_id)
        watch = await self._store.watch(stored.channel, stored.destination_id)
        if watch is not None:
            destination = Destination(id=watch.destination_id, name=watch.destination_name)
        addon = alert.addon_id
        backup_filter = BackupFilter(addon=addon) if addon else BackupFilter()
        try:
            page = await (await self._access(stored)).lister.page(
                destination, backup_filter=backup_filter
            )
        except NorthflankError as exc:
            log.warning("listing for Show backups failed: %s", exc)
            self._count(SHOW_BACKUPS, "failed")
            return ListingFailed(exc.failure(), stored.destination_id)
        self._count(SHOW_BACKUPS, "done")
        return BackupsShown(page, backup_filter)

    async def _access(self, stored: StoredAlert) -> NorthflankAccess:
        access = await self._connections.for_key(
            stored.destination_id, team=team_of(stored.channel)
        )
        if access is None:
            raise AuthenticationError("the Northflank connection was removed", status=401)
        return access

    # ----- BOT_ADMINS only ---------------------------------------------------------------

    async def write(self, action: AuditAction, alert_id: int, who: Requester) -> ActionOutcome:
        """Retain, Start backup or Abort, for BOT_ADMINS; the result goes to the alert's thread."""
        stored = await self._alert_here(alert_id, who)
        if stored is None:
            return self._stale(action)
        alert = stored.alert
        now = self._clock()
        subject = _write_subject(action, alert)
        admins = await self._admins.of(who.channel_id)
        if who.user_id not in admins:
            await self._store.record_audit(
                who.audit(action, subject, now, outcome=AuditOutcome.REFUSED)
            )
            self._count(action, "refused")
            return WriteRefused(admins)
        if write_target(action, alert) is None:
            self._count(action, "unusable")
            return WriteNotApplicable()
        claim = await self._store.claim_write(
            alert_id, action.value, user_id=who.user_id, now=now, stale_after=STALE_WRITE
        )
        if not claim.ours:
            self._count(action, "already")
            if claim.state is WriteState.RUNNING:
                return WriteUnderWay(claim.user_id, claim.started_at)
            return WriteAlreadyDone(claim.user_id, claim.finished_at, claim.result)
        ok = await self._perform(action, stored, who, subject)
        self._count(action, "done" if ok else "failed")
        return WriteFinished(ok)

    async def _perform(
        self, action: AuditAction, stored: StoredAlert, who: Requester, subject: str
    ) -> bool:
        alert = stored.alert
        where = write_target(action, alert)
        assert where is not None  # checked by write()
        project_id, addon_id, backup_id = where.project_id, where.addon_id, where.backup_id
        started: str | None = None
        try:
            northflank = (await self._access(stored)).client
            if action is AuditAction.RETAIN:
                assert backup_id is not None
                await northflank.retain_backup(
                    project_id=project_id, addon_id=addon_id, backup_id=backup_id
                )
                result = "retained"
            elif action is AuditAction.ABORT:
                assert backup_id is not None
                await northflank.abort_backup(
                    project_id=project_id, addon_id=addon_id, backup_id=backup_id
                )
                result = "abort requested"
            else:
                new = await northflank.start_backup(
                    project_id=project_id,
                    addon_id=addon_id,
                    destination_id=shown_id(stored.destination_id),
                )
                started = f"{new.name} ({new.id})" if new.name != new.id else new.id
                result = f"started backup {started}"
            failure: Failure | None = None
        except NorthflankError as exc:
            log.warning(
                "a write on Northflank failed",
                extra={"action": action.value, "error": type(exc).__name__},
            )
            failure, result = exc.failure(), str(exc)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("a write action failed inside the bot", extra={"reference": reference})
            failure = Failure(FailureKind.INTERNAL, reference=reference)
            result = f"internal error {reference}"
        ok = failure is None
        now = self._clock()
        await self._store.finish_write(
            stored.id,
            action.value,
            ok=ok,
            result=result,
            now=now,
            audit=who.audit(
                action,
                subject,
                now,
                outcome=AuditOutcome.DONE if ok else AuditOutcome.FAILED,
                detail=result,
            ),
            thread_note=note_to_json(
                WriteResultNote(action, who.user_id, alert, failure=failure, started=started)
            ),
            channel=stored.channel,
        )
        self._woken()
        return ok

    # ----- helpers -----------------------------------------------------------------------

    async def _alert_here(self, alert_id: int, who: Requester) -> StoredAlert | None:
        stored = await self._store.alert(alert_id)
        # A button pressed in another channel than its alert's is not ours to honour.
        if stored is None or stored.channel != who.channel_id:
            return None
        return stored

    def _stale(self, action: str) -> ActionOutcome:
        self._count(action, "stale")
        return StaleButton()

    def _count(self, action: str, outcome: str) -> None:
        self.presses[(str(action), outcome)] += 1

    def _woken(self) -> None:
        if self._wake is not None:
            self._wake()


def _subject(alert: Alert) -> str:
    """ "failed nightly-orders", "missed orders-db": for the audit trail (unescaped)."""
    if alert.backup is not None and alert.event is not Event.MISSED:
        return f"{alert.event.value} {alert.backup.name}"
    if alert.addon is not None:
        return f"{alert.event.value} {alert.addon.name}"
    return f"{alert.event.value} {shown_id(alert.destination_id)}"


def _snooze_scope(alert: Alert) -> str:
    """What a snooze covers, in words (unescaped): that event, that addon, this channel."""
    if alert.addon is not None:
        return f"{alert.event.value} alerts for addon {alert.addon.name}"
    return f"{alert.event.value} alerts for destination {shown_id(alert.destination_id)}"


def _write_subject(action: AuditAction, alert: Alert) -> str:
    """What a write is about, for the audit trail (unescaped)."""
    if action is AuditAction.START_BACKUP:
        addon = alert.addon or (alert.backup.addon if alert.backup else None)
        return f"addon {addon.name}" if addon else f"destination {shown_id(alert.destination_id)}"
    return f"backup {alert.backup.name}" if alert.backup else alert.subject
