"""The running bot: the Slack app, its HTTP endpoints and their lifecycle.

In HTTP mode `/slack/events`, `/healthz` and `/metrics` share PORT. In
Socket Mode the app talks to Slack over a websocket and PORT still serves
`/healthz` and `/metrics`, so orchestrators and Prometheus see either kind
of deployment the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.northflank.client import NorthflankClient
from bot.northflank.errors import NorthflankError
from bot.runtime import health, logs
from bot.runtime.metrics import CONTENT_TYPE_LATEST, Metrics, Sources
from bot.runtime.scheduler import PollScheduler
from bot.runtime.settings import BotSettings
from bot.runtime.slack_wiring import (
    admins_for,
    app_client,
    delivery_workspaces,
    installs_for,
)
from bot.services.alert_actions import AlertActions
from bot.services.connecting import ConnectionAdmin
from bot.services.connections import ClientFactory, NorthflankConnections
from bot.services.delivery import PER_CHANNEL_INTERVAL, Delivery
from bot.services.followups import Followups
from bot.services.home import HomeService
from bot.services.poller import Poller
from bot.services.replica import Replica
from bot.services.reports import ReportService
from bot.services.retention import Retention
from bot.services.watching import WatchService
from bot.slack.after_ack import AfterAck
from bot.slack.answers import Answers
from bot.slack.app import build_app
from bot.slack.http_endpoint import slack_events_handler
from bot.slack.oauth_endpoints import oauth_routes
from bot.slack.responder import Responder
from bot.slack.sender import SlackSender
from bot.slack.socket_mode import TimedSocketModeHandler
from bot.store import Store, upgrade

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
# /healthz must answer quickly even when the database hangs.
DATABASE_CHECK_TIMEOUT = 2.0
# Polls in flight at SIGTERM get this long to finish: well inside the 30 s an
# orchestrator gives by default (Kubernetes' terminationGracePeriodSeconds).
SHUTDOWN_GRACE = 15.0
# How often the Socket Mode connection is looked at, for /healthz.
SOCKET_CHECK_SECONDS = 2.0


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
        northflank_for_token: ClientFactory | None = None,
    ) -> None:
        self.settings = settings
        # Tests pass a client with short retry delays and timeouts; its
        # lifetime becomes the server's all the same.
        self.northflank = northflank or settings.northflank_client()
        self.metrics = Metrics()
        self.responder = Responder()
        self.after_ack = after_ack or AfterAck(observe_reply=self.metrics.reply_seconds.observe)
        self.store = Store.connect(settings.database_url, vault=settings.token_vault())
        # The environment's token is connection 0; `/backups connect` adds more.
        self.connections = NorthflankConnections(
            self.store,
            environment=self.northflank,
            client_for_token=northflank_for_token or settings.northflank_client_for,
            on_token=logs.add_secret,
        )
        # One or many: the same code runs either way, on SQLite as the only replica.
        self.replica = Replica(self.store, lease_seconds=settings.lease_seconds, clock=clock)
        # One workspace (SLACK_BOT_TOKEN), or a distributable app installed per workspace.
        self.admins = admins_for(settings, self.store, clock=clock)
        self.installs = installs_for(settings, self.store, self.admins, clock=clock)
        self.workspaces = delivery_workspaces(settings, self.installs)
        # Delivery and the reports a command posts share one sender: the same channel
        # joins, the same reading of Slack's refusals, each workspace's own token.
        self.sender = SlackSender(self.workspaces, clock=clock)
        self.delivery = Delivery(
            self.store,
            self.sender,
            clock=clock,
            per_channel_interval=pace_per_channel,
            replica=self.replica,
            write_buttons=bool(settings.bot_admins) or settings.distributed,
        )
        self._background_delivery = background_delivery
        self.poller = Poller(
            self.store,
            self.connections,
            clock=clock,
            poll_interval=settings.poll_interval,
            on_alerts=self.delivery.wake,
            replica=self.replica,
        )
        self.followups = Followups(self.store, clock=clock, wake=self.delivery.wake)
        self.retention = Retention(
            self.store,
            clock=clock,
            owner=self.replica.id,
            keep=timedelta(days=settings.retention_days),
        )
        self.scheduler = (
            PollScheduler(
                self.poller,
                interval=settings.poll_interval,
                clock=clock,
                followups=self.followups,
                retention=self.retention,
            )
            if schedule_polls
            else None
        )
        self._clock = clock
        watches = WatchService(
            self.store,
            self.connections,
            self.poller,
            admins=self.admins.directory,
            clock=clock,
            announce=self.delivery.announce,
        )
        reports = ReportService(self.store, self.connections, clock=clock)
        self.alert_actions = AlertActions(
            self.store,
            self.connections,
            admins=self.admins.directory,
            clock=clock,
            wake=self.delivery.wake,
        )
        self.metrics.watch(
            Sources(
                northflank_outcomes=self.northflank.request_outcomes,
                rate_limit=self.northflank.rate_limit,
                polls=self.scheduler.stats if self.scheduler else None,
                delivery=self.delivery.stats,
                replicas=lambda: self.replica.live_count,
                alert_buttons=self.alert_actions.presses,
            )
        )
        self.connection_admin = ConnectionAdmin(
            self.store,
            self.connections,
            northflank_for_token or settings.northflank_client_for,
            admins=self.admins.directory,
            clock=clock,
            on_token=logs.add_secret,
        )
        secret = settings.slack_signing_secret
        self.app: AsyncApp = build_app(
            app_client(settings),
            # Socket Mode requests are not signed; Bolt skips verification for them.
            signing_secret=secret.get_secret_value() if secret else "",
            answers=Answers(
                self.connections,
                watches,
                reports=reports,
                poster=self.sender,
                connection_admin=self.connection_admin,
                admin_service=self.admins,
                clock=clock,
            ),
            responder=self.responder,
            after_ack=self.after_ack,
            alert_actions=self.alert_actions,
            home_service=HomeService(self.store, reports, clock=clock),
            connection_admin=self.connection_admin,
            workspaces=self.workspaces,
            installs=self.installs,
            clock=clock,
        )
        self._delivery_task: asyncio.Task[None] | None = None
        self._host = host
        self._runner: web.AppRunner | None = None
        self._socket_mode: TimedSocketModeHandler | None = None
        self.port: int | None = None
        self._token_check: asyncio.Task[None] | None = None
        self._socket_watch: asyncio.Task[None] | None = None
        # Socket Mode: when the websocket was first seen down, while it is.
        self._socket_down_since: datetime | None = None

    def web_app(self) -> web.Application:
        if self.settings.socket_mode:
            web_app = web.Application()
        else:
            secret = self.settings.slack_signing_secret
            web_app = web.Application()
            web_app.router.add_post(
                SLACK_EVENTS_PATH,
                slack_events_handler(
                    self.app,
                    secret.get_secret_value() if secret else "",
                    observe=self._observe_ack,
                ),
            )
            # A distributable app: /slack/install and /slack/oauth_redirect.
            for path, handler in oauth_routes(self.app):
                web_app.router.add_get(path, handler)
        web_app.router.add_get("/healthz", self._healthz)
        web_app.router.add_get("/metrics", self._metrics)
        return web_app

    async def start(self) -> None:
        # Migrations first: nothing may touch a schema that is not there yet.
        await upgrade(self.settings.database_url)
        # A missing or wrong ENCRYPTION_KEY stops start-up here, naming the variable,
        # rather than failing every poll of every stored connection later.
        await self.store.check_stored_tokens()
        await self.replica.start()
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
            self._socket_mode = TimedSocketModeHandler(
                self.app,
                self.settings.slack_app_token.get_secret_value(),
                observe=self._observe_ack,
            )
            await self._socket_mode.connect_async()  # type: ignore[no-untyped-call]
            self._socket_watch = asyncio.create_task(self._watch_socket(), name="socket-watch")
        self._token_check = asyncio.create_task(self._check_northflank_token())
        mode = "socket mode" if self.settings.socket_mode else f"HTTP mode on {SLACK_EVENTS_PATH}"
        log.info("backup-bot is up: %s, port %s, replica %s", mode, self.port, self.replica.id)

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
        """Graceful: claim nothing new, finish or give back what is claimed, close clients.

        Polls in flight get SHUTDOWN_GRACE seconds to finish; the message being
        posted is finished; then every lease and claim still held goes back at
        once, so the other replicas need not wait for them to run out.
        """
        if self._token_check is not None:
            self._token_check.cancel()
        if self._socket_watch is not None:
            self._socket_watch.cancel()
        self.poller.stop_claiming()
        self.delivery.stop()
        if self.scheduler is not None:
            await self.scheduler.stop(grace=SHUTDOWN_GRACE)
        if self._delivery_task is not None:
            await asyncio.gather(self._delivery_task, return_exceptions=True)
        await self.replica.stop()
        if self._socket_mode is not None:
            await self._socket_mode.close_async()  # type: ignore[no-untyped-call]
        if self._runner is not None:
            await self._runner.cleanup()
        await self.after_ack.stop()
        await self.responder.aclose()
        await self.connections.aclose()
        await self.store.close()

    # ----- /healthz and /metrics ------------------------------------------------------

    async def _healthz(self, _request: web.Request) -> web.Response:
        report = health.judge(await self._observe())
        if not report.healthy:
            log.warning("health check failed: %s", "; ".join(report.reasons))
        return web.json_response(report.as_json(), status=200 if report.healthy else 503)

    async def _observe(self) -> health.Observations:
        scheduler = None
        if self.scheduler is not None:
            job = self.scheduler.poll_job() if self.scheduler.running else None
            stats = self.scheduler.stats
            scheduler = health.SchedulerView(
                running=self.scheduler.running,
                interval=self.scheduler.interval,
                started_at=self.scheduler.started_at,
                last_success=stats.last_success,
                running_since=stats.running_since,
                next_run_at=job.next_run_time if job is not None else None,
            )
        delivery = None
        if self._background_delivery:
            delivery = self._delivery_task is not None and not self._delivery_task.done()
        socket = None
        if self._socket_mode is not None:
            await self._check_socket()
            socket = health.SocketView(
                connected=self._socket_down_since is None, down_since=self._socket_down_since
            )
        return health.Observations(
            now=self._clock(),
            scheduler=scheduler,
            delivery_running=delivery,
            database_error=await self._database_error(),
            socket=socket,
        )

    async def _watch_socket(self) -> None:
        """Note when the Socket Mode connection goes down, so /healthz can say for how long."""
        while True:
            await self._check_socket()
            await asyncio.sleep(SOCKET_CHECK_SECONDS)

    async def _check_socket(self) -> None:
        assert self._socket_mode is not None
        try:
            connected = bool(await self._socket_mode.client.is_connected())
        except Exception:
            log.warning("could not tell whether the Socket Mode connection is up", exc_info=True)
            connected = False
        if connected:
            self._socket_down_since = None
        elif self._socket_down_since is None:
            self._socket_down_since = self._clock()

    async def _database_error(self) -> str | None:
        try:
            await asyncio.wait_for(self.store.ping(), timeout=DATABASE_CHECK_TIMEOUT)
        except TimeoutError:
            return f"no answer within {DATABASE_CHECK_TIMEOUT:g} s"
        except Exception as exc:
            # The type is enough for the answer; the log line has the rest (redacted).
            log.warning("the database check failed", exc_info=True)
            return type(exc).__name__
        return None

    async def _metrics(self, _request: web.Request) -> web.Response:
        try:
            depth = await asyncio.wait_for(
                self.store.outbox_depth(), timeout=DATABASE_CHECK_TIMEOUT
            )
        except Exception:
            # The other metrics still matter most when the database is in trouble.
            log.warning("could not count the outbox for /metrics", exc_info=True)
            depth = None
        self.metrics.set_queue_depth(float("nan") if depth is None else depth)
        return web.Response(
            body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    def _observe_ack(self, kind: str, seconds: float) -> None:
        self.metrics.ack_seconds.labels(kind=kind).observe(seconds)
