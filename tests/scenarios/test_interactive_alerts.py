"""Interactive alerts end to end: signed button presses against the fake Slack and Northflank.

Each press goes over real HTTP to `/slack/events`, signed as Slack signs it;
the bot acks, acts (on the fake Northflank for the write buttons), and its
answers come back as ephemeral replies, message edits and thread replies on
the fake Slack. The clock is moved by hand, so reminders and quiet hours run
on a schedule the test controls.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.slack.render.alert_buttons import (
    ABORT_ACTION,
    ACKNOWLEDGE_ACTION,
    RETAIN_ACTION,
    SHOW_BACKUPS_ACTION,
    SNOOZE_ACTION,
    START_BACKUP_ACTION,
)
from tests.fakes.northflank import make_backup
from tests.scenarios.conftest import ADMIN, CHANNEL, Scenario, reply_text

DEST = "dest-1"
SOMEONE = "U0SOMEONE"
WRITE_ACTIONS = (RETAIN_ACTION, START_BACKUP_ACTION, ABORT_ACTION)


# ----- helpers -----------------------------------------------------------------------------


def elements(message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every interactive element of a message, in order."""
    for block in message.get("blocks", []):
        if block.get("type") == "actions":
            yield from block.get("elements", [])
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            yield accessory


def action_ids(message: dict[str, Any]) -> list[str]:
    return [element["action_id"] for element in elements(message)]


def button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    found = [element for element in elements(message) if element["action_id"] == action_id]
    assert len(found) == 1, f"expected one {action_id} in {action_ids(message)}"
    return found[0]


def alert_id_of(message: dict[str, Any]) -> str:
    value = button(message, SHOW_BACKUPS_ACTION)["value"]
    assert isinstance(value, str) and value.isdigit()
    return value


async def watch(scenario: Scenario, options: str = "") -> None:
    reply = await scenario.slash(f"watch {DEST} {options}".strip())
    assert "now watches" in reply, reply


async def one_alert(scenario: Scenario, text: str) -> dict[str, Any]:
    """The one top-level message mentioning `text` (the bot's announcement aside)."""
    found = [m for m in scenario.alerts_posted() if text in reply_text(m)]
    assert len(found) == 1, [reply_text(m)[:80] for m in scenario.alerts_posted()]
    return found[0]


def thread_of(scenario: Scenario, message: dict[str, Any]) -> list[str]:
    return [reply_text(m) for m in scenario.thread_replies() if m["thread_ts"] == message["ts"]]


def current(scenario: Scenario, message: dict[str, Any]) -> dict[str, Any]:
    """The message as it reads now, after any edits."""
    edited = scenario.slack.message(CHANNEL, message["ts"])
    assert edited is not None
    return edited


async def failed_alert(scenario: Scenario, *, name: str = "orders-nightly") -> dict[str, Any]:
    """A channel watching DEST, and a backup that failed after the watch began: its alert."""
    now = scenario.clock.now()
    scenario.northflank.add_destination(DEST, "Nightly S3")
    scenario.northflank.add_backups(
        DEST,
        [
            make_backup("good", name="older-good", created_at=now - timedelta(days=1)),
            make_backup("b1", name=name, status="in-progress", created_at=now),
        ],
    )
    await watch(scenario)
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    scenario.northflank.set_backup_status(DEST, "b1", "failed", completed_at=scenario.clock.now())
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    return await one_alert(scenario, name)


async def expiring_alert(scenario: Scenario) -> dict[str, Any]:
    now = scenario.clock.now()
    scenario.northflank.add_destination(DEST, "Nightly S3")
    scenario.northflank.add_backups(
        DEST,
        [
            make_backup(
                "keep",
                name="before-upgrade",
                created_at=now - timedelta(days=6),
                expired_by=now + timedelta(hours=20),
            )
        ],
    )
    await watch(scenario, "expiry=1d")
    await scenario.deliver()
    return await one_alert(scenario, "before-upgrade")


async def stuck_alert(scenario: Scenario) -> dict[str, Any]:
    now = scenario.clock.now()
    scenario.northflank.add_destination(DEST, "Nightly S3")
    scenario.northflank.add_backups(
        DEST,
        [make_backup("slow", name="slow-one", status="in-progress", created_at=now)],
    )
    await watch(scenario, "stuck=1h")
    scenario.clock.advance(minutes=70)
    await scenario.poll()
    return await one_alert(scenario, "slow-one")


async def button_presses(scenario: Scenario) -> dict[tuple[str, str], float]:
    """`backupbot_alert_button_presses_total` from the bot's own /metrics."""
    async with httpx.AsyncClient() as http:
        page = await http.get(f"http://127.0.0.1:{scenario.bot.port}/metrics")
    return {
        (sample.labels["action"], sample.labels["outcome"]): sample.value
        for family in text_string_to_metric_families(page.text)
        for sample in family.samples
        if sample.name == "backupbot_alert_button_presses_total"
    }


async def audit_lines(scenario: Scenario) -> str:
    return await scenario.slash("audit")


def entries(audit: str, action: str) -> list[str]:
    """The audit reply's lines for `action` (shown in bold), leaving out the footnote."""
    return [line for line in audit.splitlines() if f"*{action}*" in line]


# ----- what it must show -------------------------------------------------------------------


async def test_an_admin_can_start_a_backup_from_a_failed_alert_and_a_non_admin_cannot(
    admin_scenario: Scenario,
) -> None:
    scenario = admin_scenario
    alert = await failed_alert(scenario)
    start = button(alert, START_BACKUP_ACTION)
    assert start["confirm"]["confirm"]["text"] == "Start backup"  # Slack asks first

    refusal = await scenario.press(START_BACKUP_ACTION, start["value"], user=SOMEONE)
    assert refusal is not None and "BOT_ADMINS" in refusal
    assert scenario.northflank.writes == []

    assert await scenario.press(START_BACKUP_ACTION, start["value"], user=ADMIN) is None
    (write,) = scenario.northflank.writes
    assert (write.action, write.project_id, write.addon_id) == ("start", "project-1", "addon-1")
    # Into the destination the alert is about, so the bot sees the new backup.
    assert write.body == {"backupType": "dump", "customDestinationId": DEST}
    await scenario.deliver()
    (result,) = thread_of(scenario, alert)
    assert f"<@{ADMIN}>" in result and "started" in result.lower()

    audit = await audit_lines(scenario)
    assert "start-backup" in audit
    assert f"<@{SOMEONE}>" in audit and "refused" in audit
    assert f"<@{ADMIN}>" in audit


async def test_a_double_click_on_a_write_button_calls_northflank_once(
    admin_scenario: Scenario,
) -> None:
    scenario = admin_scenario
    alert = await failed_alert(scenario)
    value = button(alert, START_BACKUP_ACTION)["value"]
    assert await scenario.press(START_BACKUP_ACTION, value) is None
    again = await scenario.press(START_BACKUP_ACTION, value)
    assert again is not None and "already" in again and f"<@{ADMIN}>" in again
    assert len(scenario.northflank.writes) == 1
    await scenario.deliver()
    assert len(thread_of(scenario, alert)) == 1
    presses = await button_presses(scenario)
    assert presses[("start-backup", "done")] == 1
    assert presses[("start-backup", "already")] == 1


# ----- Retain, Abort, and what goes wrong ------------------------------------------------


async def test_an_unauthorised_user_pressing_retain_is_refused_and_nothing_is_written(
    admin_scenario: Scenario,
) -> None:
    scenario = admin_scenario
    alert = await expiring_alert(scenario)
    refusal = await scenario.press(
        RETAIN_ACTION, button(alert, RETAIN_ACTION)["value"], user=SOMEONE
    )
    assert refusal is not None and "admins" in refusal and f"<@{ADMIN}>" in refusal
    assert scenario.northflank.writes == []
    await scenario.deliver()
    assert thread_of(scenario, alert) == []
    assert "refused" in await audit_lines(scenario)


async def test_an_admin_pressing_retain_calls_northflank_once_and_replies_in_the_thread(
    admin_scenario: Scenario,
) -> None:
    scenario = admin_scenario
    alert = await expiring_alert(scenario)
    retain = button(alert, RETAIN_ACTION)
    assert retain["confirm"]["confirm"]["text"] == "Retain"
    assert await scenario.press(RETAIN_ACTION, retain["value"]) is None
    (write,) = scenario.northflank.writes
    assert (write.action, write.backup_id) == ("retain", "keep")
    await scenario.deliver()
    (result,) = thread_of(scenario, alert)
    assert f"<@{ADMIN}>" in result and "retain" in result.lower()
    # The fake keeps it past expiry now; the next poll learns that too.
    assert "expiredBy" not in scenario.northflank.backups(DEST)[0]
    audit = await audit_lines(scenario)
    assert "retain" in audit and "before-upgrade" in audit


async def test_a_stale_button_whose_backup_is_gone_gets_a_plain_explanation(
    admin_scenario: Scenario,
) -> None:
    scenario = admin_scenario
    alert = await expiring_alert(scenario)
    scenario.northflank.remove_backup(DEST, "keep")
    assert await scenario.press(RETAIN_ACTION, button(alert, RETAIN_ACTION)["value"]) is None
    assert scenario.northflank.writes == []
    await scenario.deliver()
    (result,) = thread_of(scenario, alert)
    assert "no longer exists" in result
    assert "Traceback" not in result and "404" not in result
    assert "failed" in await audit_lines(scenario)


async def test_missing_permission_is_explained_and_the_button_can_be_pressed_again(
    admin_scenario: Scenario,
) -> None:
    scenario = admin_scenario
    alert = await expiring_alert(scenario)
    value = button(alert, RETAIN_ACTION)["value"]
    scenario.northflank.forbid_writes()
    assert await scenario.press(RETAIN_ACTION, value) is None
    await scenario.deliver()
    (refused,) = thread_of(scenario, alert)
    assert "Project &gt; Addons &gt; General &gt; Update" in refused

    # Once the role is fixed, the same button works: a failed write is not "done".
    scenario.northflank.allow_writes()
    assert await scenario.press(RETAIN_ACTION, value) is None
    assert [w.action for w in scenario.northflank.writes] == ["retain"]


async def test_abort_on_a_stuck_backup(admin_scenario: Scenario) -> None:
    scenario = admin_scenario
    alert = await stuck_alert(scenario)
    abort = button(alert, ABORT_ACTION)
    assert abort["confirm"].get("style") == "danger"
    assert await scenario.press(ABORT_ACTION, abort["value"]) is None
    (write,) = scenario.northflank.writes
    assert (write.action, write.backup_id) == ("abort", "slow")
    await scenario.deliver()
    (result,) = thread_of(scenario, alert)
    assert f"<@{ADMIN}>" in result and "abort" in result.lower()


async def test_without_bot_admins_there_are_no_write_buttons_and_a_forged_press_does_nothing(
    scenario: Scenario,
) -> None:
    alert = await failed_alert(scenario)
    assert not set(action_ids(alert)) & set(WRITE_ACTIONS)
    assert {ACKNOWLEDGE_ACTION, SNOOZE_ACTION, SHOW_BACKUPS_ACTION} <= set(action_ids(alert))
    forged = await scenario.press(START_BACKUP_ACTION, alert_id_of(alert))
    assert forged is not None and "BOT_ADMINS is empty" in forged
    assert scenario.northflank.writes == []


async def test_a_button_pressed_in_another_channel_is_refused(admin_scenario: Scenario) -> None:
    scenario = admin_scenario
    alert = await failed_alert(scenario)
    reply = await scenario.press(START_BACKUP_ACTION, alert_id_of(alert), channel="C0ELSEWHERE")
    assert reply is not None and "can't find that alert" in reply
    assert scenario.northflank.writes == []


@pytest.mark.parametrize("value", ["", "abc", "-1", "99999999999999999999", "1:1h"])
async def test_an_unreadable_button_value_is_answered_plainly(
    admin_scenario: Scenario, value: str
) -> None:
    reply = await admin_scenario.press(RETAIN_ACTION, value)
    assert reply is not None and "couldn't read that button" in reply
    assert admin_scenario.northflank.writes == []


# ----- Acknowledge, Snooze, Show backups ---------------------------------------------------


async def test_acknowledge_edits_the_message_once_and_survives_a_restart(
    scenario: Scenario,
) -> None:
    alert = await failed_alert(scenario)
    value = button(alert, ACKNOWLEDGE_ACTION)["value"]
    assert await scenario.press(ACKNOWLEDGE_ACTION, value, user=SOMEONE) is None
    await scenario.deliver()
    edited = current(scenario, alert)
    assert f"Acknowledged by <@{SOMEONE}>" in reply_text(edited)
    assert ACKNOWLEDGE_ACTION not in action_ids(edited)

    again = await scenario.press(ACKNOWLEDGE_ACTION, value, user=ADMIN)
    assert again is not None and "already acknowledged" in again and f"<@{SOMEONE}>" in again

    await scenario.restart()
    after_restart = await scenario.press(ACKNOWLEDGE_ACTION, value, user=ADMIN)
    assert after_restart is not None and "already acknowledged" in after_restart
    audit = await audit_lines(scenario)
    assert len(entries(audit, "acknowledge")) == 1


async def test_acknowledgements_of_one_digest_become_one_edit(scenario: Scenario) -> None:
    now = scenario.clock.now()
    scenario.northflank.add_destination(DEST, "Nightly S3")
    scenario.northflank.add_backups(DEST, [])
    await watch(scenario)
    scenario.clock.advance(minutes=5)
    scenario.northflank.add_backups(
        DEST,
        [
            make_backup(f"f{n}", name=f"fails-{n}", status="failed", addon=(f"a{n}", f"db-{n}"))
            for n in (1, 2, 3)
        ],
    )
    scenario.clock.advance(minutes=1)
    await scenario.poll()
    digest = await one_alert(scenario, "fails-1")
    ids = [
        element["value"]
        for element in elements(digest)
        if element["action_id"] == ACKNOWLEDGE_ACTION
    ]
    assert len(ids) == 3 and now < scenario.clock.now()
    edits_before = len(scenario.slack.calls_to("chat.update"))
    for alert_id in ids:
        assert await scenario.press(ACKNOWLEDGE_ACTION, alert_id) is None
    await scenario.deliver()
    # Each press queued an edit; the first re-render shows all three, so one call.
    assert len(scenario.slack.calls_to("chat.update")) == edits_before + 1
    assert reply_text(current(scenario, digest)).count("Acknowledged by") == 3
    assert ACKNOWLEDGE_ACTION not in action_ids(current(scenario, digest))


async def test_snooze_quiets_that_event_on_that_addon_for_its_duration(scenario: Scenario) -> None:
    alert = await failed_alert(scenario)
    alert_id = alert_id_of(alert)
    reply = await scenario.press(SNOOZE_ACTION, alert_id, selected=f"{alert_id}:1h")
    assert reply is not None and "Snoozed" in reply and "Postgres" in reply
    again = await scenario.press(SNOOZE_ACTION, alert_id, selected=f"{alert_id}:1h")
    assert again is not None and "already snoozed" in again

    # Within the hour, the same addon fails again: recorded, not posted.
    scenario.clock.advance(minutes=20)
    scenario.northflank.add_backups(
        DEST,
        [make_backup("b2", name="retry-1", status="failed", created_at=scenario.clock.now())],
    )
    scenario.clock.advance(minutes=1)
    await scenario.poll()
    assert [m for m in scenario.alerts_posted() if "retry-1" in reply_text(m)] == []

    # After it, a new failure is posted again.
    scenario.clock.advance(hours=1)
    scenario.northflank.add_backups(
        DEST,
        [make_backup("b3", name="retry-2", status="failed", created_at=scenario.clock.now())],
    )
    scenario.clock.advance(minutes=1)
    await scenario.poll()
    await one_alert(scenario, "retry-2")
    assert len(entries(await audit_lines(scenario), "snooze")) == 1


async def test_show_backups_lists_only_that_addon(scenario: Scenario) -> None:
    alert = await failed_alert(scenario)
    scenario.northflank.add_backups(
        DEST,
        [
            make_backup(
                "other",
                name="someone-elses",
                addon=("addon-2", "Redis"),
                created_at=scenario.clock.now() - timedelta(hours=2),
            )
        ],
    )
    listing = await scenario.press(SHOW_BACKUPS_ACTION, alert_id_of(alert))
    assert listing is not None
    assert "orders-nightly" in listing and "older-good" in listing
    assert "someone-elses" not in listing


# ----- reminders ---------------------------------------------------------------------------


async def reminders_after(scenario: Scenario, delta: timedelta) -> None:
    scenario.clock.advance(delta)
    await scenario.bot.followups.run()
    await scenario.deliver()


async def test_an_unacknowledged_failure_is_reminded_every_interval_until_acknowledged(
    scenario: Scenario,
) -> None:
    alert = await failed_alert(scenario)
    await reminders_after(scenario, timedelta(hours=23))
    assert thread_of(scenario, alert) == []
    await reminders_after(scenario, timedelta(hours=1))
    (first,) = thread_of(scenario, alert)
    assert "Acknowledge" in first
    await reminders_after(scenario, timedelta(hours=12))
    assert len(thread_of(scenario, alert)) == 1
    await reminders_after(scenario, timedelta(hours=12))
    assert len(thread_of(scenario, alert)) == 2

    await scenario.press(ACKNOWLEDGE_ACTION, alert_id_of(alert))
    await scenario.deliver()
    await reminders_after(scenario, timedelta(days=3))
    assert len(thread_of(scenario, alert)) == 2


async def test_reminders_stop_when_the_addon_recovers(scenario: Scenario) -> None:
    alert = await failed_alert(scenario)
    await reminders_after(scenario, timedelta(hours=24))
    assert len(thread_of(scenario, alert)) == 1
    scenario.northflank.add_backups(
        DEST, [make_backup("b9", name="fixed", created_at=scenario.clock.now())]
    )
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    replies = thread_of(scenario, alert)
    assert len(replies) == 2 and "Recovered" in replies[1]
    await reminders_after(scenario, timedelta(days=3))
    assert len(thread_of(scenario, alert)) == 2


async def test_remind_off_and_a_custom_interval(scenario: Scenario) -> None:
    alert = await failed_alert(scenario)
    await scenario.slash(f"watch {DEST} remind=off")
    await reminders_after(scenario, timedelta(days=5))
    assert thread_of(scenario, alert) == []
    await scenario.slash(f"watch {DEST} remind=2h")
    await reminders_after(scenario, timedelta(hours=1))
    assert len(thread_of(scenario, alert)) == 1  # long overdue: reminded at once
    await reminders_after(scenario, timedelta(hours=1))
    assert len(thread_of(scenario, alert)) == 1
    await reminders_after(scenario, timedelta(hours=1))
    assert len(thread_of(scenario, alert)) == 2


# ----- quiet hours -------------------------------------------------------------------------


async def test_quiet_hours_hold_alerts_and_release_one_digest_when_they_end(
    scenario: Scenario,
) -> None:
    berlin_2230 = datetime(2026, 11, 2, 21, 30, tzinfo=UTC)  # 22:30 in Berlin (UTC+1)
    scenario.clock.set(berlin_2230)
    scenario.northflank.add_destination(DEST, "Nightly S3")
    scenario.northflank.add_backups(DEST, [])
    await watch(scenario, "quiet=22:00-07:00 tz=Europe/Berlin")
    posted_before = len(scenario.alerts_posted())

    for hours, backup_id in ((1, "night-1"), (3, "night-2")):
        scenario.clock.set(berlin_2230 + timedelta(hours=hours))
        scenario.northflank.add_backups(
            DEST,
            [
                make_backup(
                    backup_id, name=backup_id, status="failed", created_at=scenario.clock.now()
                )
            ],
        )
        scenario.clock.advance(minutes=2)
        await scenario.poll()
        await scenario.bot.followups.run()
        await scenario.deliver()
    assert len(scenario.alerts_posted()) == posted_before

    # 06:59 in Berlin: still held. 07:00: one digest with both.
    scenario.clock.set(datetime(2026, 11, 3, 5, 59, tzinfo=UTC))
    await scenario.bot.followups.run()
    await scenario.deliver()
    assert len(scenario.alerts_posted()) == posted_before
    scenario.clock.set(datetime(2026, 11, 3, 6, 0, tzinfo=UTC))
    await scenario.bot.followups.run()
    await scenario.deliver()
    digests = scenario.alerts_posted()[posted_before:]
    assert len(digests) == 1
    assert "night-1" in reply_text(digests[0]) and "night-2" in reply_text(digests[0])
    # Released once: running again posts nothing more.
    await scenario.bot.followups.run()
    await scenario.deliver()
    assert len(scenario.alerts_posted()) == posted_before + 1


# ----- audit -------------------------------------------------------------------------------


async def test_audit_shows_configuration_changes_and_actions_in_this_channel_only(
    admin_scenario: Scenario,
) -> None:
    scenario = admin_scenario
    alert = await failed_alert(scenario)
    await scenario.slash(f"mute {DEST} 1h")
    await scenario.slash(f"unmute {DEST}")
    await scenario.slash(f"watch {DEST} remind=12h", user=SOMEONE)  # refused
    await scenario.press(ACKNOWLEDGE_ACTION, alert_id_of(alert))
    await scenario.press(START_BACKUP_ACTION, alert_id_of(alert))
    scenario.northflank.add_destination("dest-2", "Other")
    scenario.northflank.add_backups("dest-2", [])
    await scenario.slash("watch dest-2", channel="C0OTHER")

    audit = await audit_lines(scenario)
    for word in ("watch", "mute", "unmute", "acknowledge", "start-backup", "refused"):
        assert word in audit, word
    assert "Other" not in audit  # another channel's watch
    assert "Other" in await scenario.slash("audit", channel="C0OTHER")
    # Newest first.
    assert audit.index("start-backup") < audit.index("acknowledge") < audit.index("unmute")
