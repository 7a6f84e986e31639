"""The floor for ack latency: a bare Bolt AsyncApp that acks `/backups` and any button at once."""

from __future__ import annotations

import os
import re

from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def main() -> None:
    app = AsyncApp(
        client=AsyncWebClient(
            token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]
        ),
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    )

    async def ack_only(ack: AsyncAck) -> None:
        await ack()

    app.command("/backups")(ack_only)
    app.action(re.compile(".*"))(ack_only)
    web.run_app(
        app.web_app(path="/slack/events"),
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
