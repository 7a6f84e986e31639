"""Alert rules: (what is known, watch settings, ledger, now) -> alerts. Pure.

The poller builds a small `DestinationState` from the store (only the
backups that can still raise an alert, and one summary per addon), so the
rules never see a destination's whole history and cost nothing per old backup.

Each rule first finds the *conditions* that hold (a failed backup, a hung
one, a run that did not happen...), whatever the channel asked for. Only
then are they filtered down to the alerts this watch wants and has not
raised yet. Recovery needs the unfiltered view: an addon whose newest
backup failed has not recovered, even in a channel that only watches for
missed runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core.alerts import Alert, Ledger, LedgerEntry, missed_subject, outage_subject
from bot.core.backups import Backup, BackupStatus, Ref, Schedule
from bot.core.schedules import EARLY_TOLERANCE, last_due, missed_grace
from bot.core.watches import PROBLEM_EVENTS, Event, Watch

# After this many polls of a destination fail in a row, its channels hear about it.
PROBLEM_AFTER_FAILED_POLLS = 3

# Statuses a backup passes through on its way to a final one; staying in one
# of them for longer than the watch's `stuck=` is what "stuck" means.
_UNFINISHED = frozenset({BackupStatus.SCHEDULED, BackupStatus.IN_PROGRESS, BackupStatus.ABORTING})
# Final statuses that are alerted on their own, and the event each raises.
_FINAL_PROBLEMS = {BackupStatus.FAILED: Event.FAILED, BackupStatus.ABORTED: Event.ABORTED}


@dataclass(frozen=True, slots=True)
class KnownBackup:
    backup: Backup
    # When the backup entered its current status, as well as we know: the
    # moment a poll saw it change, or for a backup first seen already
    # finished, its completedAt (else createdAt). History stays history.
    status_since: datetime


@dataclass(frozen=True, slots=True)
class AddonState:
    addon: Ref
    project: Ref | None
    addon_type: str | None
    # The schedules listed by the addon's newest backup that lists any.
    schedules: tuple[Schedule, ...]
    # When the bot first saw any backup of this addon: no run due before
    # that is called missed, because the bot was not looking.
    first_seen_at: datetime
    # createdAt of the addon's newest backup, whatever its status.
    last_created_at: datetime
    latest_completed: Backup | None


@dataclass(frozen=True, slots=True)
class DestinationState:
    destination_id: str
    # Backups that can still raise an alert: unfinished ones, failed or
    # aborted ones that changed recently, completed ones expiring soon.
    backups: tuple[KnownBackup, ...]
    addons: tuple[AddonState, ...]


def evaluate(state: DestinationState, watch: Watch, ledger: Ledger, now: datetime) -> list[Alert]:
    """Every alert this watch should raise now that the ledger does not hold yet.

    - failed / aborted: a backup that reached that status after the watch
      began (earlier ones are history, so a new watch does not flood).
    - stuck: a backup scheduled, in progress or aborting for at least the
      watch's `stuck=`. Alerted even if it began before the watch did: it is
      a present condition, not history.
    - expiring: a completed backup that expires within the watch's `expiry=`,
      except a scheduled backup that a newer completed backup of its addon
      already replaces. Schedules rotate their backups out by design, and a
      warning at every rotation would be noise that hides the warnings that
      matter: a manual backup about to go, or an addon's newest good backup
      about to go (which leaves it with none).
    - missed: an addon's latest scheduled run, once its grace has passed,
      with no backup created at (or just before) its due time. Runs due
      before the watch began or before the bot first saw the addon are not
      called missed: nobody was looking.
      While a missed alert for an addon is still open, later missed runs of
      that addon stay quiet: one alert per outage, not one per slot (and a
      schedule deleted in Northflank costs one alert, not one an hour).
    - recovered: see `_recovered`.

    Alerts come out ordered by when they happened, then by subject.
    """
    addons = {addon.addon.id: addon for addon in state.addons}
    conditions = [
        *_failed_and_aborted(state, watch),
        *_stuck(state, watch, now),
        *_expiring(state, watch, addons, now),
        *_missed(state, watch, now),
    ]
    still_missing = {
        entry.addon_id
        for entry in ledger.open_problems
        if entry.event is Event.MISSED and not entry.resolved
    }
    alerts = [
        alert
        for alert in conditions
        if _is_new(alert, watch, ledger)
        and not (alert.event is Event.MISSED and alert.addon_id in still_missing)
    ]
    recoveries = _recovered(state, ledger, addons, conditions=conditions, raised_now=alerts)
    alerts += [alert for alert in recoveries if _is_new(alert, watch, ledger)]
    return sorted(alerts, key=_order)


def northflank_health(
    watch: Watch,
    ledger: Ledger,
    *,
    consecutive_failures: int,
    failing_since: datetime | None,
    problem: str | None,
    now: datetime,
) -> list[Alert]:
    """A Northflank problem after PROBLEM_AFTER_FAILED_POLLS failed polls, and its end.

    One or two failed polls are usually a blip that the next poll fixes, so
    they stay quiet. An outage is named by its first failure, so however long
    it lasts it is raised once; the first good poll then resolves every
    outage still open in this channel.
    """
    if consecutive_failures >= PROBLEM_AFTER_FAILED_POLLS and failing_since is not None:
        outage = Alert(
            event=Event.NORTHFLANK_PROBLEM,
            subject=outage_subject(failing_since),
            destination_id=watch.destination_id,
            occurred_at=failing_since,
            problem=problem,
        )
        return [outage] if _is_new(outage, watch, ledger) else []
    if consecutive_failures == 0:
        recoveries = (
            Alert(
                event=Event.NORTHFLANK_RECOVERED,
                subject=entry.subject,
                destination_id=watch.destination_id,
                occurred_at=now,
                resolves=(entry.id,),
            )
            for entry in ledger.open_problems
            if entry.event is Event.NORTHFLANK_PROBLEM and not entry.resolved
        )
        return sorted((a for a in recoveries if _is_new(a, watch, ledger)), key=_order)
    return []


# ----- conditions: what holds now, whatever the channel asked for ------------------------


def _failed_and_aborted(state: DestinationState, watch: Watch) -> Iterator[Alert]:
    for known in state.backups:
        event = _FINAL_PROBLEMS.get(known.backup.status)
        if event is not None and known.status_since >= watch.started_at:
            yield _backup_alert(event, known.backup, state, occurred_at=known.status_since)


def _stuck(state: DestinationState, watch: Watch, now: datetime) -> Iterator[Alert]:
    for known in state.backups:
        backup = known.backup
        if backup.status in _UNFINISHED and now - backup.created_at >= watch.settings.stuck:
            yield _backup_alert(Event.STUCK, backup, state, occurred_at=backup.created_at)


def _expiring(
    state: DestinationState, watch: Watch, addons: Mapping[str, AddonState], now: datetime
) -> Iterator[Alert]:
    window = watch.settings.expiry
    for known in state.backups:
        backup = known.backup
        expires_at = backup.expires_at
        if backup.status is not BackupStatus.COMPLETED or expires_at is None:
            continue
        if not now < expires_at <= now + window or _replaced_by_rotation(backup, addons):
            continue
        # It entered the warning window at expires_at - window; a backup
        # kept for less than the window was in it from the moment it was made.
        entered_window = max(expires_at - window, backup.created_at)
        yield _backup_alert(Event.EXPIRING, backup, state, occurred_at=entered_window)


def _replaced_by_rotation(backup: Backup, addons: Mapping[str, AddonState]) -> bool:
    """A scheduled backup with a newer completed backup of the same addon."""
    if not backup.schedules or backup.addon is None:
        return False
    addon = addons.get(backup.addon.id)
    newest = addon.latest_completed if addon is not None else None
    return newest is not None and newest.created_at > backup.created_at


def _missed(state: DestinationState, watch: Watch, now: datetime) -> Iterator[Alert]:
    for addon in state.addons:
        due_run = _latest_run_past_grace(addon.schedules, now)
        if due_run is None:
            continue
        due, schedule = due_run
        if due <= watch.started_at or due <= addon.first_seen_at:
            continue
        if addon.last_created_at >= due - EARLY_TOLERANCE:
            continue
        yield Alert(
            event=Event.MISSED,
            subject=missed_subject(addon.addon.id, due),
            destination_id=state.destination_id,
            occurred_at=due,
            addon=addon.addon,
            project=addon.project,
            expected_at=due,
            schedule=schedule,
        )


def _latest_run_past_grace(
    schedules: Iterable[Schedule], now: datetime
) -> tuple[datetime, Schedule] | None:
    """The latest due run, among those whose schedule's grace has already passed.

    Each schedule is asked with its own grace: asking all of them with one
    moment would pick an hourly run still within its 20 minutes, or skip a
    daily run whose hour has passed.
    """
    best: tuple[datetime, Schedule] | None = None
    for schedule in schedules:
        due = last_due(schedule, now - missed_grace(schedule))
        if due is not None and (best is None or due > best[0]):
            best = (due, schedule)
    return best


def _recovered(
    state: DestinationState,
    ledger: Ledger,
    addons: Mapping[str, AddonState],
    *,
    conditions: Sequence[Alert],
    raised_now: Sequence[Alert],
) -> Iterator[Alert]:
    """One recovery per addon whose open problems a good backup has followed.

    An addon has recovered when its newest completed backup was created at
    or after the newest of its open problems (`>=`, so a stuck backup that
    completes resolves its own stuck alert). It has not recovered while a
    problem that holds now is newer than that backup (its newest backup
    failed, or hangs, or its latest run was missed), even if this channel
    does not watch for that kind of problem.

    Nor while a problem of the addon is being raised in this very
    evaluation: it is not in the ledger yet, so this recovery could not
    resolve it, and since a recovery is raised once per good backup, it
    would stay open until the next one. Waiting one poll lets the recovery
    resolve it too.
    """
    groups: dict[str, list[LedgerEntry]] = {}
    for entry in ledger.open_problems:
        if entry.event in PROBLEM_EVENTS and entry.addon_id is not None and not entry.resolved:
            groups.setdefault(entry.addon_id, []).append(entry)
    raised_for = {alert.addon_id for alert in raised_now if alert.event in PROBLEM_EVENTS}
    for addon_id, entries in groups.items():
        addon = addons.get(addon_id)
        good = addon.latest_completed if addon is not None else None
        if addon is None or good is None or addon_id in raised_for:
            continue
        holding = (c.occurred_at for c in conditions if _is_problem_of(c, addon_id))
        newest_problem = max((*(e.occurred_at for e in entries), *holding))
        if good.created_at < newest_problem:
            continue
        yield Alert(
            event=Event.RECOVERED,
            subject=good.id,
            destination_id=state.destination_id,
            occurred_at=good.completed_at or good.created_at,
            backup=good,
            addon=addon.addon,
            project=addon.project,
            resolves=tuple(sorted(entry.id for entry in entries)),
        )


# ----- helpers -----------------------------------------------------------------------------


def _backup_alert(
    event: Event, backup: Backup, state: DestinationState, *, occurred_at: datetime
) -> Alert:
    return Alert(
        event=event,
        subject=backup.id,
        destination_id=state.destination_id,
        occurred_at=occurred_at,
        backup=backup,
        addon=backup.addon,
        project=backup.project,
    )


def _is_problem_of(alert: Alert, addon_id: str) -> bool:
    return alert.event in PROBLEM_EVENTS and alert.addon_id == addon_id


def _is_new(alert: Alert, watch: Watch, ledger: Ledger) -> bool:
    return watch.settings.wants(alert.event) and not ledger.has(alert.event, alert.subject)


def _order(alert: Alert) -> tuple[datetime, str, str]:
    # The event breaks the last ties (one backup can be both recovered and
    # expiring), so the order never depends on the order rules ran in.
    return (alert.occurred_at, alert.subject, alert.event.value)
