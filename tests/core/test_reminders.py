"""Which open alerts are due a reminder, and how held alerts become digests. Pure, no I/O."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.core.alerts import Alert
from bot.core.digests import MAX_ALERTS_PER_MESSAGE
from bot.core.quiet_hours import QuietHours
from bot.core.reminders import due_reminders, releases
from bot.core.watches import Event, Watch, WatchSettings
from bot.store import ReminderCandidate, Snooze, StoredAlert
from tests.store.examples import DAY, HOUR, PRIMARY, T0, alert

CHANNEL = "C-ops"


def watch(settings: WatchSettings | None = None, *, muted_until: datetime | None = None) -> Watch:
    return Watch(
        id=1,
        channel=CHANNEL,
        destination_id=PRIMARY.id,
        destination_name=PRIMARY.name,
        settings=settings or WatchSettings(),
        started_at=T0 - DAY,
        created_by="U-alice",
        muted_until=muted_until,
    )


def stored(
    alert_id: int,
    raised: Alert,
    *,
    posted_at: datetime = T0,
    notified_at: datetime | None = None,
    message_ts: str = "1700.1",
    acknowledged: bool = False,
    channel: str = CHANNEL,
) -> StoredAlert:
    return StoredAlert(
        id=alert_id,
        channel=channel,
        destination_id=raised.destination_id,
        watch_id=1,
        alert=raised,
        message_ts=message_ts,
        resolved_at=None,
        created_at=posted_at,
        acknowledged_by="U-bob" if acknowledged else None,
        acknowledged_at=posted_at if acknowledged else None,
        last_notified_at=notified_at if notified_at is not None else posted_at,
    )


def candidate(entry: StoredAlert, on: Watch | None = None) -> ReminderCandidate:
    return ReminderCandidate(entry, on or watch())


FAILED = alert(Event.FAILED, "b1")


def test_a_reminder_falls_due_one_interval_after_the_post_and_not_before() -> None:
    entry = candidate(stored(1, FAILED))
    assert due_reminders([entry], [], T0 + 24 * HOUR - timedelta(minutes=1)) == []
    (due,) = due_reminders([entry], [], T0 + 24 * HOUR)
    assert (due.channel, due.alerts, due.remind_every) == (CHANNEL, (entry.stored,), 24 * HOUR)
    assert due.open_for == 24 * HOUR


def test_the_next_one_counts_from_the_last_reminder() -> None:
    entry = candidate(stored(1, FAILED, notified_at=T0 + 24 * HOUR))
    assert due_reminders([entry], [], T0 + 47 * HOUR) == []
    (due,) = due_reminders([entry], [], T0 + 48 * HOUR)
    assert due.open_for == 48 * HOUR  # since the post, not since the last reminder


def test_the_watch_interval_is_used_and_off_means_never() -> None:
    every_2h = candidate(stored(1, FAILED), watch(WatchSettings(remind=2 * HOUR)))
    assert len(due_reminders([every_2h], [], T0 + 2 * HOUR)) == 1
    never = candidate(stored(1, FAILED), watch(WatchSettings(remind=None)))
    assert due_reminders([never], [], T0 + 365 * DAY) == []


def test_acknowledged_muted_and_snoozed_alerts_wait() -> None:
    later = T0 + 2 * DAY
    acknowledged = candidate(stored(1, FAILED, acknowledged=True))
    muted = candidate(stored(2, FAILED), watch(muted_until=later + HOUR))
    assert due_reminders([acknowledged, muted], [], later) == []

    snooze = Snooze(
        channel=CHANNEL,
        destination_id=PRIMARY.id,
        addon_id="addon-db",
        event=Event.FAILED,
        until=later + HOUR,
        created_by="U-bob",
        created_at=later,
    )
    entry = candidate(stored(3, FAILED))
    assert due_reminders([entry], [snooze], later) == []
    # Another channel's snooze is not this channel's.
    other_channel = Snooze(
        channel="C-other",
        destination_id=snooze.destination_id,
        addon_id=snooze.addon_id,
        event=snooze.event,
        until=snooze.until,
        created_by=snooze.created_by,
        created_at=snooze.created_at,
    )
    assert len(due_reminders([entry], [other_channel], later)) == 1
    # Once the snooze is over the reminder goes out.
    assert len(due_reminders([entry], [snooze], later + HOUR)) == 1


def test_quiet_hours_hold_a_reminder_until_they_end() -> None:
    quiet = QuietHours(time(22), time(7), "UTC")
    entry = candidate(stored(1, FAILED), watch(WatchSettings(quiet=quiet)))
    night = datetime(2025, 3, 3, 23, 0, tzinfo=T0.tzinfo)
    assert due_reminders([entry], [], night) == []
    assert len(due_reminders([entry], [], night + 8 * HOUR)) == 1


def test_the_open_alerts_of_one_message_share_one_reminder() -> None:
    first = candidate(stored(1, FAILED, message_ts="1700.1"))
    second = candidate(stored(2, alert(Event.MISSED, "missed:addon-db:x"), message_ts="1700.1"))
    other = candidate(stored(3, alert(Event.FAILED, "b9"), message_ts="1700.2"))
    due = due_reminders([first, second, other], [], T0 + DAY)
    assert sorted(len(d.alerts) for d in due) == [1, 2]
    (shared,) = [d for d in due if len(d.alerts) == 2]
    assert [a.id for a in shared.alerts] == [1, 2]


# ----- releases ------------------------------------------------------------------------------


def test_held_news_becomes_digests_and_recoveries_thread_under_what_they_resolve() -> None:
    news = [stored(i, alert(Event.FAILED, f"b{i}")) for i in range(1, 7)]
    recovery = stored(7, alert(Event.RECOVERED, "good", resolves=(3, 4)))
    (release,) = releases([*news, recovery])
    assert release.channel == CHANNEL
    assert [i for digest in release.digests for i in digest] == [1, 2, 3, 4, 5, 6]
    assert all(len(d) <= MAX_ALERTS_PER_MESSAGE for d in release.digests)
    assert len(release.digests) == -(-6 // MAX_ALERTS_PER_MESSAGE)
    assert release.recoveries == [(7, 3)]


def test_each_channel_and_destination_is_released_on_its_own() -> None:
    here = stored(1, FAILED)
    there = stored(2, alert(Event.FAILED, "b2"), channel="C-other")
    found = releases([here, there])
    assert sorted((r.channel, r.digests) for r in found) == [("C-ops", [[1]]), ("C-other", [[2]])]


def test_nothing_held_releases_nothing() -> None:
    assert releases([]) == []
