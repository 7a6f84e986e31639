"""The Northflank API behind one small interface.

The official SDK does the routing (including the team-scoped twins of
every path) and the URL quoting of path parameters; we inject the one shared
httpx client, with our retrying transport underneath, and turn every
response into our own domain model or our own exception.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx
import northflank
from northflank.response import ApiCallResponse

from bot.backups import (
    BackupPage,
    Destination,
    MalformedItemError,
    parse_backup,
    parse_destination,
)
from bot.northflank.errors import (
    MalformedResponseError,
    NorthflankError,
    error_for_status,
)
from bot.northflank.ratelimit import RateLimitState, retry_after_seconds
from bot.northflank.transport import RetryingTransport, RetryPolicy
from bot.settings import NorthflankSettings

log = logging.getLogger(__name__)

MAX_PER_PAGE = 100
# Destinations are few; this only stops a misbehaving cursor from looping forever.
_MAX_DESTINATION_PAGES = 20


class NorthflankClient:
    """Read (and later write) backups with one pooled connection and one budget."""

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
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10)
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

    @classmethod
    def from_settings(cls, settings: NorthflankSettings) -> NorthflankClient:
        return cls(
            api_token=settings.northflank_api_token.get_secret_value(),
            base_url=settings.northflank_api_base_url,
            team_id=settings.northflank_team_id,
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

    async def _call(self, endpoint: Any, **params: Any) -> ApiCallResponse[Any]:
        try:
            response: ApiCallResponse[Any] = await endpoint(**params)
        except northflank.NorthflankError as exc:
            # Raised before any request is sent (route selection, configuration).
            raise NorthflankError(self._scrub(str(exc))) from None
        if response.error is not None:
            headers = {k.lower(): v for k, v in response.headers.items()}
            retry_after = retry_after_seconds(headers)
            if retry_after is None and response.status == 429:
                retry_after = self.rate_limit.seconds_until_reset()
            raise error_for_status(
                response.status, self._scrub(response.error.message or ""), retry_after
            ) from None
        if response.data is None:
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
