"""The replies of watch and watching, and a new watch's announcement. Pure."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Any

import pytest

from bot.core.backups import BackupStatus, Destination
from bot.core.quiet_hours import QuietHours
from bot.core.watches import (
    DestinationSummary,
    Event,
    PollStatus,
    Watch,
    WatchSettings,
    WatchState,
)
from bot.slack.render import watch_replies
from bot.slack.render.mrkdwn import date
from tests.slack.render.examples import (
    DEST,
    HOSTILE,
    HOSTILE_ESCAPED,
    NOW,
    assert_inert,
    assert_within_limits,
    context_text,
    everything,
    hostile_alert,
    make_backup,
    section_texts,
)


def test_watch_replies_are_inert() -> None:
    destination = Destination(HOSTILE, HOSTILE)
    hostile_backup = hostile_alert(Event.EXPIRING).backup
    assert hostile_backup is not None
    summary = DestinationSummary(
        total=3,
        counts={HOSTILE: 3},
        failing=(hostile_backup,),
        next_expiries=(hostile_backup,),
        complete=False,
    )
    replies = [
        watch_replies.watch_summary(destination, WatchSettings(), summary, created=True, now=NOW),
        watch_replies.watch_announcement(destination, WatchSettings(), HOSTILE),
    ]
    watch = make_watch(
        0,
        destination_id=HOSTILE,
        destination_name=HOSTILE,
        state=WatchState.BROKEN,
        state_reason=HOSTILE,
    )
    failing = PollStatus(HOSTILE, NOW, None, 2, NOW - timedelta(hours=1), HOSTILE)
    replies.append(watch_replies.watching_list([(watch, failing)], NOW))
    for reply in replies:
        assert_inert(reply)
        assert HOSTILE_ESCAPED in everything(reply)


# ----- watch and the announcement --------------------------------------------------------------


def summary(**overrides: Any) -> DestinationSummary:
    fields: dict[str, Any] = {
        "total": 1234,
        "counts": {"completed": 1200, "failed": 31, "aborted": 3},
        "failing": (make_backup(),),
        "next_expiries": tuple(
            make_backup(
                id=f"e{i}",
                name=f"expiring-{i}",
                status=BackupStatus.COMPLETED,
                expires_at=NOW + timedelta(hours=i + 1),
            )
            for i in range(5)
        ),
    }
    fields.update(overrides)
    return DestinationSummary(**fields)


def test_watch_summary_gives_counts_failing_addons_expiries_and_settings() -> None:
    reply = watch_replies.watch_summary(DEST, WatchSettings(), summary(), created=True, now=NOW)
    text = "\n".join(section_texts(reply))
    assert text.startswith("This channel now watches *Primary* `dest-1`.")
    assert "1,234 backups: 1,200 completed, 31 failed, 3 aborted" in text
    assert "*Failing now* (1 addon):" in text
    assert ":x: addon *orders-db*: *nightly-orders* `failed`" in text
    assert "*expiring-0*" in text and "*expiring-2*" in text
    assert "expiring-3" not in text
    assert f"expires in 1h ({date(NOW + timedelta(hours=1))})" in text
    assert "still reading" not in text
    assert "I'll post when a backup fails, is aborted, will expire within 3d" in text
    assert "settings: events failed, aborted, expiring, stuck, missed, anomaly · expiry 3d" in (
        context_text(reply)
    )
    assert reply["text"] == "This channel now watches Primary."


def test_watch_summary_for_changed_settings_and_nothing_failing() -> None:
    reply = watch_replies.watch_summary(
        DEST, WatchSettings(), summary(failing=()), created=False, now=NOW
    )
    text = "\n".join(section_texts(reply))
    assert "now watches *Primary* `dest-1` with new settings" in text
    assert "No addon is failing now." in text
    assert reply["text"] == "This channel now watches Primary with new settings."


def test_watch_summary_says_when_older_backups_are_still_being_read() -> None:
    reply = watch_replies.watch_summary(
        DEST, WatchSettings(), summary(complete=False), created=True, now=NOW
    )
    assert "still reading the older backups" in "\n".join(section_texts(reply))


def test_watch_summary_with_many_failing_addons_stays_in_limits() -> None:
    failing = tuple(make_backup(id=f"f{i}", name="&" * 300) for i in range(200))
    big = summary(failing=failing, counts={"&" * 300 + str(i): i for i in range(20)})
    reply = watch_replies.watch_summary(DEST, WatchSettings(), big, created=True, now=NOW)
    assert_within_limits(reply)
    assert "…and 190 more." in "\n".join(section_texts(reply))


def test_announcement_mentions_the_user_and_the_settings() -> None:
    settings = WatchSettings(events=frozenset({Event.FAILED, Event.EXPIRING}))
    reply = watch_replies.watch_announcement(DEST, settings, "U123ABC")
    (section,) = section_texts(reply)
    assert section.startswith("<@U123ABC> asked me to watch *Primary* here: ")
    assert "I'll post when a backup fails or will expire within 3d." in section
    assert reply["text"] == "<@U123ABC> asked me to watch Primary here."
    assert_inert(reply, allowed_mentions=("<@U123ABC>",))


@pytest.mark.parametrize("user_id", ["<!channel>", "U1", "u123abc", "U123>", "X123", "", "U" * 30])
def test_announcement_with_a_bad_user_id_says_someone(user_id: str) -> None:
    reply = watch_replies.watch_announcement(DEST, WatchSettings(), user_id)
    assert reply["text"].lower().startswith("someone asked me to watch")
    assert "<@" not in everything(reply)
    assert_inert(reply)


def test_announcement_with_no_backup_events_still_says_what_it_posts() -> None:
    settings = WatchSettings(events=frozenset())
    (section,) = section_texts(watch_replies.watch_announcement(DEST, settings, "W0ABC"))
    assert "only post if I can't read this destination from Northflank" in section


# ----- watching --------------------------------------------------------------------------------


def make_watch(index: int, **overrides: Any) -> Watch:
    fields: dict[str, Any] = {
        "id": index,
        "channel": "C1",
        "destination_id": f"dest-{index}",
        "destination_name": f"Destination {index}",
        "settings": WatchSettings(),
        "started_at": NOW - timedelta(days=1),
        "created_by": "U1",
    }
    fields.update(overrides)
    return Watch(**fields)


def polled(minutes_ago: int, **overrides: Any) -> PollStatus:
    fields: dict[str, Any] = {
        "destination_id": "dest-0",
        "last_poll_at": NOW - timedelta(minutes=minutes_ago),
        "last_success_at": NOW - timedelta(minutes=minutes_ago),
    }
    fields.update(overrides)
    return PollStatus(**fields)


def test_no_watches_explains_how_to_start() -> None:
    reply = watch_replies.watching_list([], NOW)
    assert "`/backups watch DEST`" in section_texts(reply)[0]
    assert "no backup destination" in reply["text"]


def test_watching_shows_settings_and_last_poll() -> None:
    reply = watch_replies.watching_list([(make_watch(0), polled(3)), (make_watch(1), None)], NOW)
    text = "\n".join(section_texts(reply))
    assert "*Destination 0* `dest-0`\nevents failed, aborted, expiring, stuck, missed" in text
    assert "last polled 3m ago" in text
    assert "*Destination 1* `dest-1`" in text
    assert "not polled yet" in text
    assert reply["text"] == "This channel watches 2 backup destinations."


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"state": WatchState.BROKEN, "state_reason": "not_in_channel"},
            ":warning: I can't post here: not_in_channel",
        ),
        (
            {"state": WatchState.DISABLED, "state_reason": "is_archived"},
            ":no_entry: Disabled, I no longer poll for this channel: is_archived",
        ),
        (
            {"muted_until": NOW + timedelta(hours=8)},
            f":mute: muted until {date(NOW + timedelta(hours=8))} (in 8h)",
        ),
    ],
)
def test_watching_shows_state_and_its_reason(overrides: dict[str, Any], expected: str) -> None:
    reply = watch_replies.watching_list([(make_watch(0, **overrides), polled(0))], NOW)
    assert expected in "\n".join(section_texts(reply))


def test_watching_does_not_show_a_mute_that_has_ended() -> None:
    watch = make_watch(0, muted_until=NOW - timedelta(minutes=1))
    reply = watch_replies.watching_list([(watch, polled(0))], NOW)
    assert "muted" not in everything(reply)
    assert "last polled just now" in everything(reply)


def test_watching_shows_failing_polls_with_the_last_error() -> None:
    status = polled(
        2,
        consecutive_failures=4,
        failing_since=NOW - timedelta(minutes=20),
        last_error="HTTP 503 from Northflank",
    )
    reply = watch_replies.watching_list([(make_watch(0), status)], NOW)
    assert (
        f":warning: the last 4 polls failed since {date(NOW - timedelta(minutes=20))}: "
        "HTTP 503 from Northflank"
    ) in "\n".join(section_texts(reply))


def test_fifty_ordinary_watches_are_all_shown_in_full() -> None:
    items = [(make_watch(i), polled(i)) for i in range(50)]
    reply = watch_replies.watching_list(items, NOW)
    assert_within_limits(reply)
    text = "\n".join(section_texts(reply))
    assert all(f"*Destination {i}* `dest-{i}`\nevents" in text for i in range(50))


def test_fifty_worst_case_watches_stay_in_limits_and_are_all_accounted_for() -> None:
    long = "&" * 300
    items = [
        (
            make_watch(
                i,
                destination_name=long,
                destination_id=f"{i}-" + "d" * 300,
                state=WatchState.BROKEN,
                state_reason=long,
                muted_until=NOW + timedelta(days=1),
            ),
            polled(5, consecutive_failures=9, failing_since=NOW, last_error=long),
        )
        for i in range(50)
    ]
    reply = watch_replies.watching_list(items, NOW)
    assert_within_limits(reply)
    text = "\n".join(section_texts(reply))
    shown = sum(text.count(f"`{i}-ddd") for i in range(50))
    more = re.search(r"…and (\d+) more watches\.", text)
    assert more is not None
    assert shown + int(more.group(1)) == 50


def test_settings_words_name_reminders_only_for_events_that_get_them() -> None:
    def words(**overrides: Any) -> str:
        watch = make_watch(0, settings=WatchSettings(**overrides))
        return "\n".join(section_texts(watch_replies.watching_list([(watch, None)], NOW)))

    assert "· remind 1d" in words()
    assert "· no reminders" in words(remind=None)
    assert "remind" not in words(events=frozenset({Event.ABORTED, Event.EXPIRING}))
    assert "reminders" not in words(events=frozenset({Event.EXPIRING}), remind=None)
    assert "quiet" not in words()
    quiet = QuietHours(time(22), time(7), "Europe/Berlin")
    assert "· remind 1d · quiet 22:00–07:00 Europe/Berlin" in words(quiet=quiet)


def test_watch_sentence_explains_reminders_and_quiet_hours() -> None:
    def sentence(**overrides: Any) -> str:
        reply = watch_replies.watch_announcement(DEST, WatchSettings(**overrides), "U1AB")
        (section,) = section_texts(reply)
        return section

    assert (
        "Until someone acknowledges a failed, stuck, missed or anomaly alert, I'll remind "
        "its thread every 1d."
    ) in sentence()
    assert "Until someone acknowledges a stuck alert, I'll remind its thread every 12h." in (
        sentence(events=frozenset({Event.STUCK, Event.EXPIRING}), remind=timedelta(hours=12))
    )
    assert "I won't send reminders about open alerts." in sentence(remind=None)
    assert "remind" not in sentence(events=frozenset({Event.ABORTED}))
    quiet = QuietHours(time(22), time(7), "Europe/Berlin")
    held = (
        "During quiet hours (22:00–07:00 Europe/Berlin) I hold alerts and post them together "
        "when the quiet hours end."
    )
    assert held in sentence(quiet=quiet)
    assert held in sentence(quiet=quiet, events=frozenset())
    assert "quiet" not in sentence()


def test_watch_summary_says_how_to_change_reminders_and_quiet_hours() -> None:
    quiet = QuietHours(time(22), time(7), "Europe/Berlin")
    reply = watch_replies.watch_summary(
        DEST, WatchSettings(quiet=quiet), summary(), created=True, now=NOW
    )
    context = context_text(reply)
    events = "events failed, aborted, expiring, stuck, missed, anomaly"
    assert f"settings: {events} · expiry 3d" in context
    assert "remind 1d · quiet 22:00–07:00 Europe/Berlin" in context
    assert "`/backups watch DEST events=… expiry=… stuck=… remind=… quiet=…`" in context


def test_announcement_words_for_backup_and_schedule_events() -> None:
    settings = WatchSettings(events=frozenset({Event.STUCK, Event.MISSED}))
    (section,) = section_texts(watch_replies.watch_announcement(DEST, settings, "U1AB"))
    assert (
        "I'll post when a backup is stuck for over 6h, and when an addon misses a scheduled "
        "backup. When the addon has a good backup again, I'll say so in the alert's thread."
    ) in section
