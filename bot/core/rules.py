"""Alert rules: (what is known, watch settings, ledger, now) -> alerts. Pure.

The poller builds a small `DestinationState` from the store (only the
backups that can still raise an alert, and one summary per addon), so the
rules never see a destination's whole history and cost nothing per old backup.

Each rule first finds the *conditions* that hold (a failed backup, a hung
one, a run that did not happen, a completed backup that looks wrong...),
whatever the channel asked for. Only then are they filtered down to the
alerts this watch wants and has not raised yet. Recovery (recovery.py) needs
the unfiltered view: an addon whose newest backup failed has not recovered,
even in a channel that only watches for missed runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta

from bot.core.alerts import Alert, Ledger, missed_subject, outage_subject
from bot.core.anomalies import findings
from bot.core.backups import Backup, BackupStatus, Schedule
from bot.core.destination_state import AddonState, DestinationState, MissedRun
from bot.core.recovery import recoveries
from bot.core.schedules import EARLY_TOLERANCE, last_due, missed_grace
from bot.core.watches import Event, Watch

# After this many polls of a destination fail in a row, its channels hear about it.
PROBLEM_AFTER_FAILED_POLLS = 3
# Failed and aborted backups, and anomalous completed ones, are looked at for
# this long after they changed; the ledger remembers for longer, so nothing is
# raised twice.
LOOKBACK = timedelta(days=7)

# Statuses a backup passes through on its way to a final one; staying in one
# of them for longer than the watch's `stuck=` is what "stuck" means.
_UNFINISHED = frozenset({BackupStatus.SCHEDULED, BackupStatus.IN_PROGRESS, BackupStatus.ABORTING})
# Final statuses that are alerted on their own, and the event each raises.
_FINAL_PROBLEMS = {BackupStatus.FAILED: Event.FAILED, BackupStatus.ABORTED: Event.ABORTED}
# One alert per outage of these: while one is open for an addon, later ones stay quiet.
_ONE_OPEN_PER_ADDON = frozenset({Event.MISSED, Event.ANOMALY})


def expiry_horizon(watches: Iterable[Watch]) -> timedelta:
    """How far ahead the store must look for expiring backups: no further than asked.

    Only a watch with `expiring` among its events needs completed backups that
    are not about to be purged; reading them for the others would load every
    backup of the last `expiry=` on each poll, for nothing.
    """
    return max(
        (w.settings.expiry for w in watches if w.settings.wants(Event.EXPIRING)),
        default=timedelta(0),
    )


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
      with no backup created at (or just before) its due time. A present
      condition like stuck: alerted right after `watch` too, whenever the run
      was due; earlier runs are never looked at, so they raise nothing.
    - anomaly: a completed backup that does not look like the addon's others
      (bot.core.anomalies), completed after the watch began.
      While a missed or anomaly alert for an addon is still open, later ones
      of that addon stay quiet: one alert per outage, not one per slot (and a
      schedule deleted in Northflank costs one alert, not one an hour).
    - recovered: see bot.core.recovery.

    Alerts come out ordered by when they happened, then by subject.
    """
    addons = {addon.addon.id: addon for addon in state.addons}
    conditions = [
        *_failed_and_aborted(state, watch),
        *_stuck(state, watch, now),
        *_expiring(state, watch, addons, now),
        *_missed(state, now),
        *_anomalies(state, watch, now),
    ]
    quiet = {
        (entry.event, entry.addon_id)
        for entry in ledger.open_problems
        if entry.event in _ONE_OPEN_PER_ADDON and not entry.resolved
    }
    alerts: list[Alert] = []
    for alert in sorted(conditions, key=_order):
        if not _is_new(alert, watch, ledger):
            continue
        if alert.event in _ONE_OPEN_PER_ADDON:
            if (alert.event, alert.addon_id) in quiet:
                continue
            quiet.add((alert.event, alert.addon_id))
        alerts.append(alert)
    recovered = recoveries(state, ledger, addons, conditions=conditions, raised_now=alerts)
    alerts += [alert for alert in recovered if _is_new(alert, watch, ledger)]
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


def missed_runs(addons: Iterable[AddonState], now: datetime) -> list[MissedRun]:
    """Every addon whose latest scheduled run, past its grace, has no backup: missed now."""
    found = []
    for addon in addons:
        due_run = _latest_run_past_grace(addon.schedules, now)
        if due_run is None:
            continue
        due, schedule = due_run
        if addon.last_created_at >= due - EARLY_TOLERANCE:
            continue
        found.append(MissedRun(addon.addon, addon.project, due, schedule))
    return found


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


def _missed(state: DestinationState, now: datetime) -> Iterator[Alert]:
    for run in missed_runs(state.addons, now):
        yield Alert(
            event=Event.MISSED,
            subject=missed_subject(run.addon.id, run.due),
            destination_id=state.destination_id,
            occurred_at=run.due,
            addon=run.addon,
            project=run.project,
            expected_at=run.due,
            schedule=run.schedule,
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


def _anomalies(state: DestinationState, watch: Watch, now: datetime) -> Iterator[Alert]:
    for addon in state.addons:
        for run, anomaly in findings(addon.recent_completed):
            if anomaly is None or run.status_since < watch.started_at:
                continue
            if now - run.status_since > LOOKBACK:
                continue
            backup = Backup(
                id=run.backup_id,
                name=run.name,
                status=BackupStatus.COMPLETED,
                status_text=BackupStatus.COMPLETED.value,
                created_at=run.created_at,
                completed_at=run.completed_at,
                size_bytes=run.size_bytes,
                project=addon.project,
                addon=addon.addon,
                addon_type=addon.addon_type,
            )
            yield Alert(
                event=Event.ANOMALY,
                subject=run.backup_id,
                destination_id=state.destination_id,
                occurred_at=run.status_since,
                backup=backup,
                addon=addon.addon,
                project=addon.project,
                anomaly=anomaly,
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


def _is_new(alert: Alert, watch: Watch, ledger: Ledger) -> bool:
    return watch.settings.wants(alert.event) and not ledger.has(alert.event, alert.subject)


def _order(alert: Alert) -> tuple[datetime, str, str]:
    # The event breaks the last ties (one backup can be both recovered and
    # expiring), so the order never depends on the order rules ran in.
    return (alert.occurred_at, alert.subject, alert.event.value)
