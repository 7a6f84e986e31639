"""Socket Mode: Bolt's handler, timing each envelope from arrival to ack for /metrics."""

from __future__ import annotations

import time
from collections.abc import Callable

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

# Socket Mode envelope types, named as /metrics names HTTP requests.
_SOCKET_KINDS = {"slash_commands": "command", "interactive": "interaction"}


class TimedSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler; `observe(kind, seconds)` hears each envelope's ack time."""

    def __init__(
        self, app: AsyncApp, app_token: str, *, observe: Callable[[str, float], None]
    ) -> None:
        self._observe = observe
        super().__init__(app, app_token)

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.perf_counter()
        try:
            await super().handle(client, req)
        finally:
            self._observe(_SOCKET_KINDS.get(req.type, "other"), time.perf_counter() - started)
