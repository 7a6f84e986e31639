"""The running bot: the Slack app, its HTTP endpoints and their lifecycle.

In HTTP mode `/slack/events` and `/healthz` share PORT. In Socket Mode the
app talks to Slack over a websocket and PORT still serves `/healthz`, so
orchestrators can check either kind of deployment the same way.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.delivery import PER_CHANNEL_INTERVAL, Delivery
from bot.listing import BackupLister
from bot.northflank.client import NorthflankClient
from bot.northflank.errors import NorthflankError
from bot.poller import Poller
from bot.scheduler import PollScheduler
from bot.settings import BotSettings
from bot.slack.after_ack import AfterAck
from bot.slack.answers import Answers
from bot.slack.app import build_app, build_web_client
from bot.slack.responder import Responder
from bot.store import Store, upgrade
from bot.watch_service import WatchService

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"


def utc_now() -> datetime:
    return datetime.now(UTC)


class BotServer:
    """Everything `run` starts, wired once. Tests build it with their own clock.

    `schedule_polls=False` and `background_delivery=False` leave polling and
    delivery to the caller: scenario tests call `poller.poll_all()` and
    `delivery.drain()` themselves, in the order they want to see.
    """

    def __init__(
        self,
        settings: BotSettings,
        *,
        host: str = "0.0.0.0",  # noqa: S104 - a container must listen on every interface
        after_ack: AfterAck | None = None,
        clock: Callable[[], datetime] = utc_now,
        schedule_polls: bool = True,
        background_delivery: bool = True,
        pace_per_channel: float = PER_CHANNEL_INTERVAL,
        northflank: NorthflankClient | None = None,
    ) -> None:
        self.settings = settings
        # Tests pass a client with short retry delays and timeouts; its
        # lifetime becomes the server's all the same.
        self.northflank = northflank or NorthflankClient.from_settings(settings)
        self.responder = Responder()
        self.after_ack = after_ack or AfterAck()
        self.store = Store.connect(settings.database_url)
        self.delivery = Delivery(
            self.store,
            build_web_client(settings, wait_out_errors=False),
            clock=clock,
            per_channel_interval=pace_per_channel,
        )
        self._background_delivery = background_delivery
        self.poller = Poller(
            self.store,
            self.northflank,
            clock=clock,
            poll_interval=settings.poll_interval,
            on_alerts=self.delivery.wake,
        )
        self.scheduler = (
            PollScheduler(self.poller, interval=settings.poll_interval) if schedule_polls else None
        )
        lister = BackupLister(self.northflank)
        watches = WatchService(
            self.store,
            lister,
            self.poller,
            admins=settings.bot_admins,
            clock=clock,
            announce=self.delivery.announce,
        )
        self.app: AsyncApp = build_app(
            settings, Answers(lister, watches, clock=clock), self.responder, self.after_ack
        )
        self._delivery_task: asyncio.Task[None] | None = None
        self._host = host
        self._runner: web.AppRunner | None = None
        self._socket_mode: AsyncSocketModeHandler | None = None
        self.port: int | None = None
        self._token_check: asyncio.Task[None] | None = None

    def web_app(self) -> web.Application:
        if self.settings.socket_mode:
            web_app = web.Application()
        else:
            web_app = self.app.web_app(path=SLACK_EVENTS_PATH)
        web_app.router.add_get("/healthz", self._healthz)
        return web_app

    async def start(self) -> None:
        # Migrations first: nothing may touch a schema that is not there yet.
        await upgrade(self.settings.database_url)
        self.after_ack.start()
        if self._background_delivery:
            self._delivery_task = asyncio.create_task(self.delivery.run(), name="delivery")
        if self.scheduler is not None:
            self.scheduler.start()
        self._runner = web.AppRunner(self.web_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host=self._host, port=self.settings.port)
        await site.start()
        # With PORT=0 (tests) the OS picks the port; report the real one.
        self.port = int(self._runner.addresses[0][1])
        if self.settings.slack_app_token is not None:
            self._socket_mode = AsyncSocketModeHandler(
                self.app, self.settings.slack_app_token.get_secret_value()
            )
            await self._socket_mode.connect_async()  # type: ignore[no-untyped-call]
        self._token_check = asyncio.create_task(self._check_northflank_token())
        mode = "socket mode" if self.settings.socket_mode else f"HTTP mode on {SLACK_EVENTS_PATH}"
        log.info("backup-bot is up: %s, port %s", mode, self.port)

    async def _check_northflank_token(self) -> None:
        # Logged, never fatal: Northflank may be down while we start, and every
        # command explains a bad token to whoever runs it anyway.
        try:
            description = await self.northflank.describe_token()
        except NorthflankError as exc:
            log.error("Northflank did not accept NORTHFLANK_API_TOKEN: %s", exc)
        else:
            log.info("Northflank accepted the API %s", description)

    async def stop(self) -> None:
        """Stop taking requests, answer the ones already acked, then close clients."""
        if self._token_check is not None:
            self._token_check.cancel()
        if self.scheduler is not None:
            self.scheduler.shutdown()
        self.delivery.stop()
        if self._delivery_task is not None:
            await asyncio.gather(self._delivery_task, return_exceptions=True)
        if self._socket_mode is not None:
            await self._socket_mode.close_async()  # type: ignore[no-untyped-call]
        if self._runner is not None:
            await self._runner.cleanup()
        await self.after_ack.stop()
        await self.responder.aclose()
        await self.northflank.aclose()
        await self.store.close()

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})


async def serve(settings: BotSettings) -> None:
    """Run until SIGINT or SIGTERM."""
    server = BotServer(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await server.stop()
