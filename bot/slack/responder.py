"""Replies to a command or a button through its response_url.

Bolt's own `respond` opens a new aiohttp session, and so a new connection,
for every reply. Under a burst of commands that work competes with the acks
of the next commands on the same event loop (bench/ack_latency.py measured
it), so replies go through one pooled session here instead.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.render.kit import Reply

log = logging.getLogger(__name__)


class Responder:
    def __init__(self, *, timeout: int = 10) -> None:
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._retry_handlers = [
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ]

    async def send(
        self, response_url: str, reply: Reply, *, replace_original: bool = False
    ) -> bool:
        """Post an ephemeral reply; False (and a log line) when Slack would not take it."""
        if not response_url.startswith(("https://", "http://")):
            log.warning("no usable response_url on the request; the reply is dropped")
            return False
        if self._session is None or self._session.closed:
            # Created lazily: a ClientSession belongs to the loop that creates it.
            self._session = aiohttp.ClientSession()
        body: dict[str, Any] = {"response_type": "ephemeral", **reply}
        if replace_original:
            body["replace_original"] = True
        client = AsyncWebhookClient(
            response_url,
            timeout=self._timeout,
            session=self._session,
            retry_handlers=self._retry_handlers,
        )
        try:
            response = await client.send_dict(body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not post a reply to Slack: %s", type(exc).__name__)
            return False
        if response.status_code != 200:
            # The response_url expired (30 minutes, 5 uses) or Slack refused the blocks.
            log.warning(
                "Slack refused a reply: HTTP %s %s", response.status_code, response.body[:200]
            )
            return False
        return True

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
