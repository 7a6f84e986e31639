"""The Northflank API behind one small interface.

The official SDK does the routing (including the team-scoped twins of
every path) and the URL quoting of path parameters; we inject the one shared
httpx client, with our retrying transport underneath, and turn every
response into our own domain model or our own exception.

Besides reads there are exactly three writes, the alert buttons' actions:
retain a backup, abort a backup, start a backup. The Slack layer lets only
BOT_ADMINS press them; tests/security/test_admins.py checks statically that
no other code reaches a write endpoint of the SDK.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import northflank
from northflank.response import ApiCallResponse

from bot.core.backups import (
    BackupPage,
    Destination,
    MalformedItemError,
    parse_backup,
    parse_destination,
)
from bot.northflank.errors import (
    MalformedResponseError,
    NorthflankError,
    NotFoundError,
    UnavailableError,
    error_for_status,
)
from bot.northflank.ratelimit import RateLimitState, retry_after_seconds
from bot.northflank.transport import RetryingTransport, RetryPolicy

log = logging.getLogger(__name__)

MAX_PER_PAGE = 100
# Destinations are few; this only stops a misbehaving cursor from looping forever.
_MAX_DESTINATION_PAGES = 20
# Northflank's ids are slugs. The SDK quotes `/`, `?` and `#` in a path
# parameter but not dots, so an id of `..` would still climb to another
# route: only ids of this shape are put into a write's URL path.
PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


@dataclass(frozen=True, slots=True)
class StartedBackup:
    """The backup Northflank created when asked to start one, as it described it then."""

    id: str
    name: str
    status: str


class NorthflankClient:
    """Read backups, and make the three writes alert buttons offer, with one pooled
    connection and one budget.

    The only writes are `retain_backup`, `abort_backup` and `start_backup`; the
    Slack layer lets only BOT_ADMINS trigger them.
    """

    def __init__(
        self,
        *,
        api_token: str,
        base_url: str,
        team_id: str | None = None,
        retry_policy: RetryPolicy | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self.team_id = team_id
        self.rate_limit = RateLimitState()
        self._token = api_token
        transport = RetryingTransport(
            httpx.AsyncHTTPTransport(
                verify=shared_tls_context(),
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            ),
            rate_limit=self.rate_limit,
            policy=retry_policy,
        )
        # Each request's outcome, retries included: ok, rate_limited, server_error,
        # client_error, timeout, network_error. /metrics reads it.
        self.request_outcomes = transport.outcomes
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=timeout or httpx.Timeout(10.0, connect=5.0),
        )
        self._sdk = northflank.AsyncApiClient(
            api_token=api_token,
            base_url=base_url.rstrip("/"),
            async_http_client=self._http,
            user_agent="backup-bot",
            # We want the response headers on errors too (Retry-After, the
            # rate-limit budget), which the SDK's own exception drops.
            throw_on_http_error=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> NorthflankClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def list_backups_page(
        self, destination_id: str, *, cursor: str | None = None, per_page: int = 50
    ) -> BackupPage:
        """One page of a destination's backups, newest first."""
        response = await self._call(
            self._sdk.list.backup_destinations_backups,
            backup_destination_id=destination_id,
            team_id=self.team_id,
            cursor=cursor,
            per_page=max(1, min(per_page, MAX_PER_PAGE)),
        )
        if not isinstance(response.data, list):
            raise MalformedResponseError(
                f"expected a list of backups, got {_kind(response.data)}", status=response.status
            )
        backups, skipped, unreadable_ids = [], [], []
        for item in response.data:
            try:
                backups.append(parse_backup(item))
            except MalformedItemError as exc:
                skipped.append(str(exc))
                item_id = item.get("id") if isinstance(item, Mapping) else None
                if isinstance(item_id, str) and item_id:
                    unreadable_ids.append(item_id)
                log.warning(
                    "skipped a backup that could not be read",
                    extra={"destination": destination_id, "reason": str(exc)},
                )
        return BackupPage(
            backups=tuple(backups),
            next_cursor=_next_cursor(response),
            skipped=tuple(skipped),
            unreadable_ids=tuple(unreadable_ids),
        )

    async def list_destinations(self) -> list[Destination]:
        destinations: list[Destination] = []
        cursor: str | None = None
        for _ in range(_MAX_DESTINATION_PAGES):
            response = await self._call(
                self._sdk.list.backup_destinations,
                team_id=self.team_id,
                cursor=cursor,
                per_page=MAX_PER_PAGE,
            )
            data = response.data
            items = data.get("backupDestinations") if isinstance(data, Mapping) else None
            if not isinstance(items, list):
                raise MalformedResponseError(
                    f"expected data.backupDestinations, got {_kind(data)}", status=response.status
                )
            for item in items:
                try:
                    destinations.append(parse_destination(item))
                except MalformedItemError as exc:
                    log.warning("skipped a destination that could not be read: %s", exc)
            cursor = _next_cursor(response)
            if cursor is None:
                break
        return destinations

    async def get_destination(self, destination_id: str) -> Destination:
        response = await self._call(
            self._sdk.get.backup_destination,
            backup_destination_id=destination_id,
            team_id=self.team_id,
        )
        try:
            return parse_destination(response.data)
        except MalformedItemError as exc:
            raise MalformedResponseError(str(exc), status=response.status) from None

    async def describe_token(self) -> str:
        """A short description of the token (GET /v1/auth): a cheap start-up check."""
        response = await self._call(self._sdk.get.auth)
        data = response.data if isinstance(response.data, Mapping) else {}
        kind, entity = data.get("entityType"), data.get("entityId")
        name = data.get("name")
        described = f"{kind} {entity}" if kind and entity else "an unknown entity"
        return (
            f"token {name!r} for {described}" if isinstance(name, str) else f"token for {described}"
        )

    async def retain_backup(self, *, project_id: str, addon_id: str, backup_id: str) -> None:
        """Keep a scheduled backup past its expiry (POST .../backups/{id}/retain)."""
        _require_plain_ids(project=project_id, addon=addon_id, backup=backup_id)
        await self._call(
            self._sdk.retain.addon.backup,
            allow_empty=True,
            project_id=project_id,
            addon_id=addon_id,
            backup_id=backup_id,
            team_id=self.team_id,
        )

    async def abort_backup(self, *, project_id: str, addon_id: str, backup_id: str) -> None:
        """Ask Northflank to abort a running backup (POST .../backups/{id}/abort)."""
        _require_plain_ids(project=project_id, addon=addon_id, backup=backup_id)
        await self._call(
            self._sdk.abort.addon.backup,
            allow_empty=True,
            project_id=project_id,
            addon_id=addon_id,
            backup_id=backup_id,
            team_id=self.team_id,
        )

    async def start_backup(
        self, *, project_id: str, addon_id: str, destination_id: str | None
    ) -> StartedBackup:
        """Start a backup of an addon now (POST .../addons/{addonId}/backups).

        With `destination_id` the backup goes to that custom destination, the
        one the alert is about: the bot watches it, so it will see the new
        backup and report its recovery. Northflank takes `customDestinationId`
        for dump backups only (snapshots, its default, stay in its own
        storage), so such a backup is a dump. Without, Northflank's default applies.
        """
        _require_plain_ids(project=project_id, addon=addon_id)
        data: dict[str, str] = {}
        if destination_id is not None:
            _require_plain_ids(destination=destination_id)
            data = {"backupType": "dump", "customDestinationId": destination_id}
        response = await self._call(
            self._sdk.backup.addon,
            project_id=project_id,
            addon_id=addon_id,
            team_id=self.team_id,
            data=data,
        )
        return _started_backup(response)

    async def _call(
        self, endpoint: Any, *, allow_empty: bool = False, **params: Any
    ) -> ApiCallResponse[Any]:
        """Call one SDK endpoint and return its response, or raise one of our errors.

        `allow_empty` is for writes that answer with nothing to read: a 2xx
        with no body, or a JSON body without `data`, is then a success too.
        """
        try:
            response: ApiCallResponse[Any] = await endpoint(**params)
        except northflank.NorthflankError as exc:
            # Raised before any request is sent (route selection, configuration).
            raise NorthflankError(self._scrub(str(exc))) from None
        except httpx.HTTPError as exc:
            # Our transport turns the failures it sees into UnavailableError; this is
            # whatever escaped it (a body cut off after the headers, say). Callers
            # handle our exceptions only, so it must not leave as an httpx error.
            raise UnavailableError(
                f"the request to Northflank failed ({type(exc).__name__})"
            ) from None
        if response.error is not None:
            headers = {k.lower(): v for k, v in response.headers.items()}
            retry_after = retry_after_seconds(headers)
            if retry_after is None and response.status == 429:
                retry_after = self.rate_limit.seconds_until_reset()
            raise error_for_status(
                response.status, self._scrub(response.error.message or ""), retry_after
            ) from None
        if response.data is None and not (allow_empty and _is_empty_answer(response.raw_text)):
            # The SDK turns an unparseable 2xx body (truncated by a proxy, say)
            # into data=None. That is a failed request, not an empty page.
            raise MalformedResponseError(
                "Northflank sent a response that is not valid JSON", status=response.status
            )
        return response

    def _scrub(self, text: str) -> str:
        # Belt and braces: an upstream error page that echoes our request must
        # not carry the token any further.
        return text.replace(self._token, "[redacted]") if self._token else text


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """The one TLS context every client of this process verifies Northflank with.

    httpx builds a context per transport unless given one, and building one loads
    the whole CA bundle: about 0.9 MiB of memory and 29 ms of CPU each on this
    project's VM. The bot holds a client per Northflank connection, a hundred at a
    hundred teams. A context is only read once built, and made for sharing. It is
    httpx's own default (certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR), so
    verification is exactly as strict as before.
    """
    return httpx.create_ssl_context()


def _require_plain_ids(**ids: str) -> None:
    """Refuse, before any request, an id that could leave its URL path segment."""
    for kind, value in ids.items():
        if not PLAIN_ID.fullmatch(value):
            raise NotFoundError(f"{kind} id {value!r} is not a plain id", status=404)


def _is_empty_answer(raw_text: str | None) -> bool:
    """No body at all, or a JSON object without `data`: a write with nothing to say.

    The SDK gives data=None for both, and also for a body that is not JSON
    (truncated, or a proxy's page); that last one stays a failure, since it
    does not show that Northflank itself answered.
    """
    if raw_text is None or not raw_text.strip():
        return True
    try:
        return isinstance(json.loads(raw_text), dict)
    except ValueError:
        return False


def _started_backup(response: ApiCallResponse[Any]) -> StartedBackup:
    data = response.data
    backup_id = data.get("id") if isinstance(data, Mapping) else None
    if not isinstance(backup_id, str) or not backup_id:
        raise MalformedResponseError(
            f"expected the started backup with an id, got {_kind(data)}", status=response.status
        )
    name, status = data.get("name"), data.get("status")
    return StartedBackup(
        id=backup_id,
        name=name if isinstance(name, str) and name else backup_id,
        # Northflank queues a new backup before running it.
        status=status if isinstance(status, str) and status else "scheduled",
    )


def _next_cursor(response: ApiCallResponse[Any]) -> str | None:
    pagination = response.pagination
    if pagination is None or not pagination.has_next_page:
        return None
    if not pagination.cursor:
        raise MalformedResponseError(
            "Northflank said there is another page but gave no cursor", status=response.status
        )
    return str(pagination.cursor)


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
