"""The delivery metrics follow the outbox, on both databases."""

from __future__ import annotations

import httpx

from tests.fakes.northflank import make_backup
from tests.scenarios.conftest import Scenario

DEST = "dest-1"


async def metric_lines(scenario: Scenario) -> list[str]:
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.get(f"http://127.0.0.1:{scenario.bot.port}/metrics")
    assert response.status_code == 200
    return [line for line in response.text.splitlines() if line.startswith("backupbot_delivery")]


async def test_queue_depth_attempts_and_failures_follow_the_outbox(scenario: Scenario) -> None:
    now = scenario.clock.now()
    scenario.northflank.add_destination(DEST, "Nightly S3")
    scenario.northflank.add_backups(
        DEST, [make_backup("b1", name="orders", status="in-progress", created_at=now)]
    )
    await scenario.slash(f"watch {DEST}")
    scenario.northflank.set_backup_status(DEST, "b1", "failed", completed_at=now)
    scenario.clock.advance(minutes=5)
    await scenario.bot.poller.poll_all()  # queued, not yet delivered

    assert "backupbot_delivery_queue_depth 1.0" in await metric_lines(scenario)

    scenario.slack.fail_next("chat.postMessage", "500")
    await scenario.deliver()
    lines = await metric_lines(scenario)
    assert "backupbot_delivery_queue_depth 1.0" in lines
    assert 'backupbot_delivery_failures_total{result="retry"} 1.0' in lines

    scenario.clock.advance(minutes=10)  # past the backoff
    await scenario.deliver()
    lines = await metric_lines(scenario)
    assert "backupbot_delivery_queue_depth 0.0" in lines
    assert 'backupbot_delivery_attempts_total{kind="post"} 2.0' in lines
    assert len(scenario.alerts_posted()) == 2  # the watch's announcement, then the alert
