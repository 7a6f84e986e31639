"""watch, unwatch, watching, mute and unmute from Slack, against the fakes."""

from __future__ import annotations

from datetime import timedelta

from bot.runtime.server import BotServer
from tests.fakes.northflank import make_backup
from tests.scenarios.conftest import ADMIN, CHANNEL, Scenario


async def test_watch_checks_the_destination_before_saving_anything(scenario: Scenario) -> None:
    scenario.northflank.add_destination("secret", "Secret")
    scenario.northflank.forbid("secret")
    reply = await scenario.slash("watch secret")
    assert "isn't allowed to read" in reply and "BackupDestinations" in reply
    missing = await scenario.slash("watch no-such-dest")
    assert "no-such-dest" in missing
    assert await scenario.bot.store.channel_watches(CHANNEL) == []
    assert scenario.alerts_posted() == []


async def test_watching_lists_settings_and_the_last_poll(scenario: Scenario) -> None:
    scenario.northflank.add_destination("dest-1", "Nightly S3")
    scenario.northflank.add_destination("dest-2", "Weekly GCS")
    await scenario.slash("watch dest-1 events=failed,stuck,missed stuck=3h")
    await scenario.slash("watch dest-2")
    await scenario.slash("mute dest-2 8h")
    reply = await scenario.slash("watching")
    assert "Nightly S3" in reply and "Weekly GCS" in reply
    assert "3h" in reply and "missed" in reply
    assert "mute" in reply.lower()
    elsewhere = await scenario.slash("watching", channel="C0EMPTY")
    assert "/backups watch" in elsewhere


async def test_rewatching_keeps_the_options_not_typed_again(scenario: Scenario) -> None:
    scenario.northflank.add_destination("dest-1", "Nightly S3")
    await scenario.slash("watch dest-1 events=failed stuck=3h")
    await scenario.slash("watch dest-1 expiry=1d")
    [watch] = await scenario.bot.store.channel_watches(CHANNEL)
    assert {e.value for e in watch.settings.events} == {"failed"}
    assert watch.settings.stuck == timedelta(hours=3)
    assert watch.settings.expiry == timedelta(days=1)
    # The announcement went out once, for the first watch only.
    assert len(scenario.alerts_posted()) == 1


async def test_unwatch_by_name_stops_the_alerts(scenario: Scenario) -> None:
    scenario.northflank.add_destination("dest-1", "Nightly S3")
    await scenario.slash("watch dest-1")
    reply = await scenario.slash('unwatch "nightly s3"')
    assert "no longer watches" in reply
    scenario.clock.advance(minutes=5)
    scenario.northflank.add_backups(
        "dest-1", [make_backup("late", name="after-unwatch", status="failed")]
    )
    await scenario.poll()
    assert not any("after-unwatch" in str(m) for m in scenario.alerts_posted())
    again = await scenario.slash("unwatch dest-1")
    assert "doesn't watch" in again


async def test_malformed_watch_commands_get_the_usage(scenario: Scenario) -> None:
    for text in ("watch", "watch dest-1 expiry=soon", "watch dest-1 colour=red", "mute dest-1"):
        reply = await scenario.slash(text)
        assert "/backups watch" in reply or "/backups mute" in reply, text
    assert await scenario.bot.store.channel_watches(CHANNEL) == []


async def test_bot_admins_alone_change_watches_when_set(admin_scenario: Scenario) -> None:
    scenario = admin_scenario
    scenario.northflank.add_destination("dest-1", "Nightly S3")
    for text in ("watch dest-1", "unwatch dest-1", "mute dest-1 1h", "unmute dest-1"):
        refused = await scenario.slash(text, user="U0SOMEONE")
        assert "BOT_ADMINS" in refused and f"<@{ADMIN}>" in refused, text
    assert await scenario.bot.store.channel_watches(CHANNEL) == []
    assert "now watches" in await scenario.slash("watch dest-1", user=ADMIN)
    # Reading what is watched stays open to everyone.
    assert "Nightly S3" in await scenario.slash("watching", user="U0SOMEONE")
    assert isinstance(scenario.bot, BotServer)


async def test_watch_in_a_channel_the_bot_cannot_post_in_says_so(scenario: Scenario) -> None:
    scenario.northflank.add_destination("dest-1", "Nightly S3")
    scenario.slack.fail_next("chat.postMessage", "not_in_channel")
    scenario.slack.fail_next("conversations.join", "method_not_supported_for_channel_type")
    reply = await scenario.slash("watch dest-1")
    assert "now watches" in reply and "/invite @backup-bot" in reply
    assert len(await scenario.bot.store.channel_watches(CHANNEL)) == 1
