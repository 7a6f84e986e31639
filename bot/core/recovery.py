"""When an addon has recovered: decided by Northflank's own timeline. Pure.

Every problem has a place on that timeline (`Alert.began_at`): the failed,
aborted, stuck or anomalous backup's createdAt, or the missed run's due time.
An addon has recovered once its newest completed backup, if it looks normal
(bot.core.anomalies), was created at or after the newest of its problems:
a retry started a minute after a failure recovers it, whenever the bot
notices, and a stuck backup that completes recovers itself. When the bot
was looking plays no part, so a failure and its retry seen by the same poll
are raised and resolved together, and nothing is left open until the
addon's next scheduled backup.

It has not recovered while a problem that holds now is newer than that
backup (its newest backup failed, or hangs, or looks wrong, or its latest
run was missed), even if this channel does not watch for that kind of
problem.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from bot.core.alerts import Alert, Ledger, LedgerEntry
from bot.core.anomalies import anomaly_of
from bot.core.backups import Backup
from bot.core.destination_state import AddonState, DestinationState
from bot.core.watches import PROBLEM_EVENTS, Event


def recoveries(
    state: DestinationState,
    ledger: Ledger,
    addons: Mapping[str, AddonState],
    *,
    conditions: Sequence[Alert],
    raised_now: Sequence[Alert],
) -> Iterator[Alert]:
    """One recovery per addon whose problems, open or raised now, a good backup has followed.

    `resolves` names the open problems in the ledger; `resolves_raised` those
    raised in this very evaluation, which the store resolves once recorded.
    """
    open_by_addon: dict[str, list[LedgerEntry]] = {}
    for entry in ledger.open_problems:
        if entry.event in PROBLEM_EVENTS and entry.addon_id is not None and not entry.resolved:
            open_by_addon.setdefault(entry.addon_id, []).append(entry)
    raised_by_addon: dict[str, list[Alert]] = {}
    for alert in raised_now:
        if alert.event in PROBLEM_EVENTS and alert.addon_id is not None:
            raised_by_addon.setdefault(alert.addon_id, []).append(alert)
    for addon_id in dict.fromkeys([*open_by_addon, *raised_by_addon]):
        addon = addons.get(addon_id)
        good = good_backup(addon) if addon is not None else None
        if addon is None or good is None:
            continue
        entries = open_by_addon.get(addon_id, [])
        raised = raised_by_addon.get(addon_id, [])
        holding = [c.began_at for c in conditions if _is_problem_of(c, addon_id)]
        newest = max((*(e.timeline_at for e in entries), *(a.began_at for a in raised), *holding))
        if good.created_at < newest:
            continue
        subject = good.id
        if ledger.has(Event.RECOVERED, subject):
            # This good backup already recovered other problems of the addon; these
            # are older ones that failed late (a long run that gave up): resolve them
            # too, under a subject of their own.
            subject = f"{good.id}:{min([e.subject for e in entries] + [a.subject for a in raised])}"
        yield Alert(
            event=Event.RECOVERED,
            subject=subject,
            destination_id=state.destination_id,
            occurred_at=good.completed_at or good.created_at,
            backup=good,
            addon=addon.addon,
            project=addon.project,
            resolves=tuple(sorted(entry.id for entry in entries)),
            resolves_raised=tuple((a.event, a.subject) for a in raised),
        )


def good_backup(addon: AddonState) -> Backup | None:
    """The addon's newest completed backup, unless it looks wrong (then it has none)."""
    newest = addon.latest_completed
    if newest is None:
        return None
    runs = addon.recent_completed
    for index, run in enumerate(runs):
        if run.backup_id == newest.id:
            return None if anomaly_of(run, runs[:index]) is not None else newest
    # Not among the kept runs (a rollup from before they were kept): judge it alone.
    return newest if newest.size_bytes != 0 else None


def _is_problem_of(alert: Alert, addon_id: str) -> bool:
    return alert.event in PROBLEM_EVENTS and alert.addon_id == addon_id
