"""From a parsed command (or a Next press) to the reply a person sees.

The Slack side of `/backups`: it calls the services (listing, watching),
renders what they return (bot/slack/render/), and turns every failure into a
helpful answer rather than an exception. It holds no business logic.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bot.core.audit import Requester
from bot.core.commands import (
    LIST_USAGE,
    REPORT_USAGE,
    AdminsCommand,
    AuditCommand,
    Command,
    CommandError,
    ConnectCommand,
    ConnectionsCommand,
    DestinationsCommand,
    DisconnectCommand,
    HelpCommand,
    ListCommand,
    MuteCommand,
    ReportCommand,
    UnmuteCommand,
    UnwatchCommand,
    UseCommand,
    WatchCommand,
    WatchingCommand,
)
from bot.core.listing import START, Position
from bot.core.messages import ReportMessage
from bot.core.reports import HealthReport
from bot.northflank.errors import NorthflankError
from bot.services.admins import AdminService
from bot.services.chat import CannotJoin, ChatError, ChatSender
from bot.services.connecting import ConnectionAdmin, NotAllowed, UnknownConnection
from bot.services.connections import NoConnection, NorthflankConnections
from bot.services.listing import NoDestinations, WhichDestination
from bot.services.reports import ReportService
from bot.services.watching import WatchOutcome, WatchService
from bot.slack.render import explain, kit
from bot.slack.render.admins import admins_reply
from bot.slack.render.connections import (
    connections_reply,
    disconnect_confirmation,
    disconnected_reply,
    not_allowed,
    unknown_connection,
    use_reply,
)
from bot.slack.render.help import help_reply
from bot.slack.render.kit import Reply
from bot.slack.render.listing import destinations, listing, read_next_page_value
from bot.slack.render.mrkdwn import escape
from bot.slack.render.watch_replies import watch_reply

log = logging.getLogger(__name__)

_CONNECTION_COMMANDS = (ConnectCommand, ConnectionsCommand, UseCommand, DisconnectCommand)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Answers:
    def __init__(
        self,
        connections: NorthflankConnections,
        watches: WatchService | None = None,
        *,
        reports: ReportService | None = None,
        poster: ChatSender | None = None,
        connection_admin: ConnectionAdmin | None = None,
        admin_service: AdminService | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        # Each channel lists through its own connection (bot/services/connections.py).
        self._connections = connections
        self._watches = watches
        # Reports are posted in the channel, as a file: through the chat sender.
        self._reports = reports
        self._poster = poster
        self._admin = connection_admin
        self._admins = admin_service
        self._clock = clock

    async def for_command(self, command: Command, who: Requester) -> Reply:
        if isinstance(command, HelpCommand):
            return help_reply()
        if isinstance(command, DestinationsCommand):
            return await self._guarded(self._destinations(who), None)
        if isinstance(command, ListCommand):
            return await self._guarded(self._list(command, START, who), command.destination)
        if isinstance(command, ReportCommand):
            return await self._guarded(self._report(command, who), command.destination)
        if isinstance(command, AdminsCommand):
            return await self._guarded(self._admins_work(command, who), None)
        if isinstance(command, _CONNECTION_COMMANDS):
            return await self._guarded(self._connection_work(command, who), None)
        if self._watches is None:
            return kit.message("Watching is not available in this process.")
        outcome, destination = _watch_work(self._watches, command, who)
        return await self._guarded(self._watch_reply(outcome), destination)

    async def for_next_page(self, button_value: str, who: Requester) -> Reply:
        try:
            command, position = read_next_page_value(button_value)
        except CommandError as exc:
            return kit.plain_message(str(exc))
        return await self._guarded(self._list(command, position, who), command.destination)

    async def for_disconnect_button(self, name: str, who: Requester) -> Reply:
        """The confirmed Disconnect button: what `disconnect NAME` offered to do."""
        work = self._connection_work(DisconnectCommand(name), who, confirmed=True)
        return await self._guarded(work, None)

    async def _connection_work(
        self, command: Command, who: Requester, *, confirmed: bool = False
    ) -> Reply:
        if self._admin is None:
            return kit.message("Connections are not available in this process.")
        match command:
            case ConnectCommand():
                # Only reached where no modal can be opened (the listener opens it).
                return kit.message("`/backups connect` opens a form; please try it again.")
            case ConnectionsCommand():
                return connections_reply(await self._admin.overview(who.channel_id))
            case UseCommand(name):
                return use_reply(await self._admin.use(name, who))
            case DisconnectCommand(name) if not confirmed:
                if not await self._admin.may_connect(who):
                    return not_allowed(await self._admin.refusal(who), "disconnect Northflank")
                return disconnect_confirmation(name)
        assert isinstance(command, DisconnectCommand)
        outcome = await self._admin.disconnect(command.name, who)
        if isinstance(outcome, NotAllowed):
            return not_allowed(outcome, "disconnect Northflank")
        if isinstance(outcome, UnknownConnection):
            return unknown_connection(outcome)
        return disconnected_reply(outcome)

    async def _admins_work(self, command: AdminsCommand, who: Requester) -> Reply:
        if self._admins is None:
            return kit.message("Admins are not available in this process.")
        if command.change is None or command.user_id is None:
            return admins_reply(await self._admins.show(who))
        add = command.change == "add"
        return admins_reply(await self._admins.change(command.user_id, who, add=add))

    async def _destinations(self, who: Requester) -> Reply:
        access = await self._connections.require(who.channel_id)
        return destinations(await access.lister.destinations())

    async def _watch_reply(self, outcome: Awaitable[WatchOutcome]) -> Reply:
        return watch_reply(await outcome, self._clock())

    async def _list(self, command: ListCommand, start: Position, who: Requester) -> Reply:
        access = await self._connections.require(who.channel_id)
        watched = None
        if command.destination is None and self._watches is not None:
            watched = await self._watches.only_watched_destination(who.channel_id)
            if watched is not None and not access.owns(watched.id):
                watched = None  # watched through another connection than the channel's
        destination = await access.lister.choose(command.destination, watched=watched)
        if isinstance(destination, NoDestinations):
            return destinations(())  # explains how to get one
        if isinstance(destination, WhichDestination):
            return kit.message(
                "Which destination? The token can see "
                f"{destination.count} and this channel doesn't watch exactly one, so name one: "
                f"`{LIST_USAGE}`. `/backups destinations` lists them."
            )
        page = await access.lister.page(
            destination, backup_filter=command.backup_filter, limit=command.limit, start=start
        )
        return listing(
            page, backup_filter=command.backup_filter, limit=command.limit, now=self._clock()
        )

    async def _report(self, command: ReportCommand, who: Requester) -> Reply:
        if self._reports is None or self._poster is None:
            return kit.message("Reports are not available in this process.")
        report = await self._reports.report(
            command.destination, command.days, channel=who.channel_id
        )
        if isinstance(report, NoDestinations):
            return destinations(())
        if isinstance(report, WhichDestination):
            return kit.message(
                f"Which destination? The token can see {report.count} and this channel "
                f"doesn't watch exactly one, so name one: `{REPORT_USAGE}`."
            )
        return await self.post_report(who.channel_id, report, who.user_id)

    async def post_report(self, channel: str, report: HealthReport, user_id: str) -> Reply:
        """Post `report` in `channel` (a DM for the Home tab); the private answer."""
        assert self._poster is not None
        try:
            await self._poster.post(channel, ReportMessage(report, requested_by=user_id))
        except CannotJoin:
            return kit.message(
                "I can't post in this channel: invite me first (`/invite @backup-bot`), "
                "then ask again."
            )
        except ChatError as exc:
            log.warning("a report could not be posted: %s", exc.code)
            return kit.message(
                f"Slack did not take the report ({escape(exc.code)}). Please try again."
            )
        return kit.message(explain.report_posted(report))

    async def _guarded(self, work: Awaitable[Reply], destination: str | None) -> Reply:
        try:
            return await work
        except NoConnection as exc:
            return kit.message(explain.choose_connection(exc.names))
        except NorthflankError as exc:
            log.warning("northflank request failed: %s", exc, extra={"error": type(exc).__name__})
            return kit.message(explain.northflank_failure(exc.failure(), destination=destination))
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("could not answer a command", extra={"reference": reference})
            return kit.message(explain.internal_failure(reference))


def _watch_work(
    watches: WatchService, command: Command, who: Requester
) -> tuple[Awaitable[WatchOutcome], str | None]:
    """The watch service's call for `command`, and the destination it names (if any)."""
    match command:
        case WatchCommand():
            return watches.watch(command, who), command.destination
        case UnwatchCommand():
            return watches.unwatch(command, who), command.destination
        case MuteCommand():
            return watches.mute(command, who), command.destination
        case UnmuteCommand():
            return watches.unmute(command, who), command.destination
        case WatchingCommand():
            return watches.watching(who), None
        case AuditCommand():
            return watches.audit(who), None
    raise AssertionError(f"unhandled command {command!r}")
