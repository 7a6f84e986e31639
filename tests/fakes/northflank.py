"""FakeNorthflank: the parts of the Northflank API the bot uses, with fault injection.

Every route is served twice, under ``/v1`` and under the team-scoped ``/v1/teams/{teamId}``.
A single middleware handles what is common to all requests, in this order: record the
request, count it against the rate limit, apply latency and injected faults, check the
token and team scope, then run the route handler.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, get_args

from aiohttp import web
from aiohttp.typedefs import Handler

from tests.fakes._faults import FaultQueue
from tests.fakes._ratelimit import RateState, RateWindow
from tests.fakes._server import BackgroundServer, headers_without_auth
from tests.fakes.northflank_data import (
    MISSING,
    iso,
    make_backup,
    make_destination,
    with_wrong_shape,
    with_wrong_types,
)
from tests.fakes.pagination import Page, PaginationError, decode_cursor, paginate

__all__ = [
    "DEFAULT_TOKEN",
    "MISSING",
    "FakeNorthflank",
    "FaultKind",
    "RecordedRequest",
    "WriteCall",
    "make_backup",
    "make_destination",
]

FaultKind = Literal[
    "429",  # over the limit: Retry-After, and x-ratelimit-* with remaining 0 until then
    "429-bare",  # a 429 with neither Retry-After nor x-ratelimit-* headers
    "500",
    "502",
    "503",
    "timeout",  # answer normally, but only after timeout_delay seconds
    "truncated",  # 200, application/json, the real body cut in half
    "html",  # 502 text/html from a proxy: no JSON, no rate-limit headers
    "wrong-types",  # 200, the real body with fields of the wrong JSON types
    "wrong-shape",  # 200, the real body with `data` an object instead of an array
    "no-body",  # the real status with no body at all (how a write may answer success)
    "dropped",  # the request is served (a write is done), then the connection drops mid-body
]
FAULT_KINDS: Final = frozenset(get_args(FaultKind))
WriteAction = Literal["retain", "abort", "start"]

# A fake credential, exported so tests can send it without repeating the literal.
DEFAULT_TOKEN: Final = "nf-test-token"
_PREFIXES: Final = ("/v1", "/v1/teams/{teamId}")
_ADDON: Final = "/projects/{projectId}/addons/{addonId}/backups"
_BODY_FAULTS: Final = frozenset({"truncated", "wrong-types", "wrong-shape", "no-body"})
_PROXY_HTML: Final = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
# What Northflank answers a role without the write permission (the SDK's docstrings name it).
_WRITE_PERMISSION: Final = "Project > Addons > General > Update"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # everything except Authorization, whose value is never kept
    auth_present: bool
    auth_valid: bool
    body: str
    at: float  # time.monotonic() on arrival, for asserting back-off between retries
    peer: str  # the client's "host:port"; one value for many requests means a reused connection

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class WriteCall:
    action: WriteAction
    project_id: str
    addon_id: str
    backup_id: str | None  # None for "start"
    team_id: str | None
    body: Any  # the parsed JSON body, or None when there was none


class ApiError(Exception):
    """Raised by handlers; the middleware turns it into Northflank's error body."""

    def __init__(self, status: int, message: str, details: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = dict(details or {})


def error_response(
    status: int, message: str, details: Mapping[str, Any] | None = None
) -> web.Response:
    error = {
        "status": status,
        "message": message,
        "id": f"fake-{uuid.uuid4().hex[:12]}",
        "details": dict(details or {}),
    }
    return web.json_response({"error": error}, status=status)


def _newest_first(backup: dict[str, Any]) -> tuple[str, str]:
    # The id breaks ties so that the order, and so the cursor, is stable.
    return str(backup.get("createdAt", "")), str(backup.get("id", ""))


@dataclass(frozen=True)
class _Listing:
    """A destination's backups in listing order, and where each id first appears in it.

    Kept between requests so that paging through a very large destination (benchmarks
    use 100,000 backups) costs neither a sort nor a scan for the cursor per page. It holds
    the stored dicts themselves, so status changes show through; the order depends only
    on createdAt and id, which never change once added, so only adding backups (or
    flipping ``sort_listings``) makes it stale.
    """

    newest_first: bool
    items: list[dict[str, Any]]
    position: dict[Any, int]


class FakeNorthflank(BackgroundServer):
    """A Northflank API on 127.0.0.1; use as a context manager or start()/stop().

    ``team_id`` set makes the token behave like an organisation token (team routes for that
    team only; plain routes 403 except ``/v1/auth``). ``rate_limit``/``rate_window`` size the
    x-ratelimit window; ``fault_retry_after`` is the Retry-After of injected "429" faults.
    ``now``, when set, is the clock that dates backups the fake creates itself (started
    ones), so they fit a test's fake clock; otherwise they are dated with the real time.
    ``error_rate`` turns that share of requests into 500s, drawn from ``random.Random(seed)``
    so a failing run can be replayed. ``faults_injected()`` counts the faults that actually
    shaped a response, by kind, so a test can prove its faults were not silently absorbed.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        team_id: str | None = None,
        forbidden_destinations: Iterable[str] = (),
        rate_limit: int = 1000,
        rate_window: float = 3600.0,
        fault_retry_after: int = 1,
        timeout_delay: float = 5.0,
        latency: float = 0.0,
        error_rate: float = 0.0,
        seed: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host=host)
        self._token = token
        self._team_id = team_id
        self._forbidden = set(forbidden_destinations)
        self._rate = RateWindow(rate_limit, rate_window)
        self.fault_retry_after = fault_retry_after
        # Plain attributes, read once per request: tests may change them at any time.
        self.timeout_delay = timeout_delay
        self.latency = latency
        self.error_rate = error_rate
        # False lists backups in the order they were added, breaking the documented
        # newest-first order, so clients that rely on it can be tested.
        self.sort_listings = True
        self.now: Callable[[], datetime] | None = None
        self._rng = random.Random(seed)
        self._faults = FaultQueue()
        self._injected: Counter[str] = Counter()
        self._destinations: dict[str, dict[str, Any]] = {}
        self._backups: dict[str, list[dict[str, Any]]] = {}
        self._listings: dict[str, _Listing] = {}
        # Started backups that went to no known destination, so are in no listing.
        self._started: list[dict[str, Any]] = []
        self._start_count = 0
        # Addons whose writes answer 403; None once every addon's writes are forbidden.
        self._write_forbidden: set[str] | None = set()
        self._addons: set[tuple[str | None, str | None]] = set()
        self._requests: list[RecordedRequest] = []
        self._writes: list[WriteCall] = []

    # ----- test-facing API ---------------------------------------------------------------

    def add_destination(self, id: str, name: str, **extra: Any) -> dict[str, Any]:
        destination = make_destination(id, name, **extra)
        with self._lock:
            if id in self._destinations:
                raise ValueError(f"destination {id!r} already exists")
            self._destinations[id] = destination
            self._backups[id] = []
        return copy.deepcopy(destination)

    def add_backups(self, dest_id: str, backups: Iterable[dict[str, Any]]) -> None:
        """Store copies, in any order: listings sort newest first themselves."""
        new = [copy.deepcopy(backup) for backup in backups]
        with self._lock:
            stored = self._backups_of(dest_id)
            seen = {backup["id"] for backup in stored}
            for backup in new:
                if backup["id"] in seen:
                    raise ValueError(f"backup {backup['id']!r} already in {dest_id!r}")
                seen.add(backup["id"])
            stored.extend(new)
            self._listings.pop(dest_id, None)

    def remove_backup(self, dest_id: str, backup_id: str) -> None:
        """Delete a backup, as Northflank does when it expires or someone deletes it."""
        with self._lock:
            stored = self._backups_of(dest_id)
            kept = [backup for backup in stored if backup["id"] != backup_id]
            if len(kept) == len(stored):
                raise KeyError(f"no backup {backup_id!r} in destination {dest_id!r}")
            stored[:] = kept
            self._listings.pop(dest_id, None)

    def add_addon(self, project_id: str, addon_id: str) -> None:
        """Make an addon known without giving it backups (for ``start``)."""
        with self._lock:
            self._addons.add((project_id, addon_id))

    def set_backup_status(
        self, dest_id: str, backup_id: str, status: str, completed_at: datetime | None = None
    ) -> None:
        with self._lock:
            for backup in self._backups_of(dest_id):
                if backup["id"] == backup_id:
                    backup["status"] = status
                    if completed_at is not None:
                        backup["completedAt"] = iso(completed_at)
                    return
        raise KeyError(f"no backup {backup_id!r} in destination {dest_id!r}")

    def backups(self, dest_id: str) -> list[dict[str, Any]]:
        """A copy of a destination's backups, newest first, as the API would list them."""
        with self._lock:
            return copy.deepcopy(sorted(self._backups_of(dest_id), key=_newest_first, reverse=True))

    def set_token(self, token: str) -> None:
        """Accept only ``token`` from now on, as if the bot's token had been revoked."""
        with self._lock:
            self._token = token

    def forbid(self, *dest_ids: str) -> None:
        with self._lock:
            self._forbidden.update(dest_ids)

    def forbid_writes(self, *addon_ids: str) -> None:
        """Answer 403 to retain, abort and start for these addons (every addon without any).

        As for a role that may read backups but lacks the write permission: the 403 comes
        before anything is looked up or done, so nothing is recorded in ``writes``.
        """
        with self._lock:
            if not addon_ids:
                self._write_forbidden = None
            elif self._write_forbidden is not None:
                self._write_forbidden.update(addon_ids)

    def allow_writes(self) -> None:
        """Undo every forbid_writes(): the role got its write permission back."""
        with self._lock:
            self._write_forbidden = set()

    def fail_next(
        self,
        kind: FaultKind,
        times: int = 1,
        path_contains: str | None = None,
        *,
        skip: int = 0,
    ) -> None:
        """Queue a fault for the next ``times`` requests whose path contains ``path_contains``.

        ``skip`` lets that many matching requests through first, so a fault can land on a
        later page of a listing (or on a retry) rather than always on the first request.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        with self._lock:
            self._faults.push(
                kind, times, lambda path: path_contains is None or path_contains in path, skip=skip
            )

    def faults_injected(self) -> dict[str, int]:
        """How many responses each fault kind shaped so far; ``error_rate``'s count as "500".

        A queued fault that a request took but something stronger overrode (a random 500
        over a truncated body) is not counted: only what the client actually received.
        """
        with self._lock:
            return dict(self._injected)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset_rate_limit(self, remaining: int | None = None) -> None:
        with self._lock:
            self._rate.reset(remaining)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def request_count(self, path_prefix: str | None = None) -> int:
        with self._lock:
            return sum(
                1 for r in self._requests if path_prefix is None or r.path.startswith(path_prefix)
            )

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def writes(self) -> list[WriteCall]:
        with self._lock:
            return list(self._writes)

    # ----- application -------------------------------------------------------------------

    def build_app(self) -> web.Application:
        # A closure because aiohttp needs @web.middleware to mark a new-style middleware,
        # and a bound method cannot carry that mark.
        @web.middleware
        async def pipeline(request: web.Request, handler: Handler) -> web.StreamResponse:
            return await self._pipeline(request, handler)

        app = web.Application(middlewares=[pipeline])
        for prefix in _PREFIXES:
            app.router.add_get(f"{prefix}/auth", self._get_auth)
            app.router.add_get(f"{prefix}/backup-destinations", self._list_destinations)
            app.router.add_get(f"{prefix}/backup-destinations/{{destId}}", self._get_destination)
            app.router.add_get(
                f"{prefix}/backup-destinations/{{destId}}/backups", self._list_backups
            )
            app.router.add_post(f"{prefix}{_ADDON}", self._start_backup)
            app.router.add_post(f"{prefix}{_ADDON}/{{backupId}}/retain", self._retain_backup)
            app.router.add_post(f"{prefix}{_ADDON}/{{backupId}}/abort", self._abort_backup)
        return app

    async def _pipeline(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        arrived, body = time.monotonic(), await request.text()
        authorization = request.headers.get("Authorization")
        with self._lock:
            auth_valid = authorization == f"Bearer {self._token}"
            self._requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query=dict(request.query),
                    headers=headers_without_auth(request),
                    auth_present=authorization is not None,
                    auth_valid=auth_valid,
                    body=body,
                    at=arrived,
                    peer=_peer(request),
                )
            )
            fault = self._faults.take(request.path)
            rate = self._rate.hit()
            random_failure = self.error_rate > 0 and self._rng.random() < self.error_rate
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if fault == "timeout":
            # Counted before the wait: a client that gives up cancels this handler.
            self._count(fault)
            # asyncio.sleep, not time.sleep: other requests keep being served meanwhile.
            await asyncio.sleep(self.timeout_delay)
            fault = None
        return await self._answer(request, handler, fault, rate, random_failure, auth_valid)

    async def _answer(
        self,
        request: web.Request,
        handler: Handler,
        fault: str | None,
        rate: RateState,
        random_failure: bool,
        auth_valid: bool,
    ) -> web.StreamResponse:
        # Neither carries API headers: they imitate a proxy or limiter in front of the API.
        if fault == "429-bare":
            self._count(fault)
            return error_response(429, "Too Many Requests")
        if fault == "html":
            self._count(fault)
            return web.Response(status=502, text=_PROXY_HTML, content_type="text/html")
        if fault == "429":
            self._count(fault)
            limited = error_response(429, "Rate limit exceeded")
            # A window spent until Retry-After: the headers agree on when it resets, as
            # they do when a real window runs out (the fake's own window goes on, so the
            # next request is served normally).
            limited.headers.update(rate.headers(remaining=0))
            limited.headers["x-ratelimit-reset"] = str(self.fault_retry_after)
            limited.headers["Retry-After"] = str(self.fault_retry_after)
            return limited
        response: web.StreamResponse
        server_fault = fault in ("500", "502", "503")
        if server_fault or random_failure:
            status = int(fault) if server_fault and fault else 500
            self._count(str(status))
            response = error_response(status, f"Injected {status}")
        elif rate.exceeded:
            response = error_response(429, "Rate limit exceeded")
            response.headers["Retry-After"] = str(max(rate.reset, 1))
        else:
            response = await self._dispatch(request, handler, auth_valid)
            if fault in _BODY_FAULTS:
                self._count(fault)
                response = _corrupt(response, fault)
        response.headers.update(rate.headers())
        if fault == "dropped" and not (server_fault or random_failure):
            self._count(fault)
            return await _drop_mid_body(request, response)
        return response

    def _count(self, kind: str) -> None:
        with self._lock:
            self._injected[kind] += 1

    async def _dispatch(
        self, request: web.Request, handler: Handler, auth_valid: bool
    ) -> web.StreamResponse:
        try:
            if not auth_valid:
                raise ApiError(401, "Unauthorized")
            if request.match_info.http_exception is None:
                self._check_team(request)
            return await handler(request)
        except ApiError as exc:
            return error_response(exc.status, exc.message, exc.details)
        except web.HTTPException as exc:
            # Unknown routes and methods: keep the JSON error shape, unlike aiohttp's text.
            return error_response(exc.status, exc.reason)

    def _check_team(self, request: web.Request) -> None:
        """With ``team_id`` set the token acts like an organisation token: team routes only."""
        if self._team_id is None:
            return
        team = request.match_info.get("teamId")
        if team is None and request.path == "/v1/auth":
            return  # describing the token works on any token; the SDK has no team variant
        if team is None:
            raise ApiError(403, "Organisation tokens must use /v1/teams/{teamId}/...")
        if team != self._team_id:
            raise ApiError(403, "Forbidden", {"teamId": team})

    # ----- route handlers ----------------------------------------------------------------

    async def _get_auth(self, request: web.Request) -> web.Response:
        org = self._team_id is not None
        data = {
            "id": "fake-token-id",
            "name": "backup-bot test token",
            "tokenKind": "api",
            "entityType": "org" if org else "team",
            "entityId": "fake-org" if org else "fake-team",
            "entityUid": "fake-entity-uid",
            "createdAt": "2024-01-01T00:00:00.000Z",
            "scope": "role",
            "permissions": {"teamScope": ["Account > BackupDestinations > General > Read"]},
        }
        return web.json_response({"data": data})

    async def _list_destinations(self, request: web.Request) -> web.Response:
        with self._lock:
            page = _paginate(list(self._destinations.values()), request.query)
            items = copy.deepcopy(page.items)
        body = {"data": {"backupDestinations": items}, "pagination": page.pagination()}
        return web.json_response(body)

    async def _get_destination(self, request: web.Request) -> web.Response:
        with self._lock:
            destination = copy.deepcopy(self._readable_destination(request))
        return web.json_response({"data": destination})

    async def _list_backups(self, request: web.Request) -> web.Response:
        with self._lock:
            dest_id = self._readable_destination(request)["id"]
            page = _paginate_listing(self._listing(dest_id), request.query)
            items = copy.deepcopy(page.items)
        return web.json_response({"data": items, "pagination": page.pagination()})

    async def _start_backup(self, request: web.Request) -> web.Response:
        project_id, addon_id = request.match_info["projectId"], request.match_info["addonId"]
        body = await _json_or_none(request)
        with self._lock:
            self._check_write_allowed(addon_id)
            if (project_id, addon_id) not in self._known_addons():
                raise ApiError(404, "Addon not found", {"addonId": addon_id})
            self._start_count += 1
            backup = make_backup(
                f"started-{self._start_count}",
                status="scheduled",
                created_at=self.now() if self.now is not None else None,
                addon=(addon_id, addon_id),
                project=(project_id, project_id),
                size=0,
            )
            destination = body.get("customDestinationId") if isinstance(body, dict) else None
            if isinstance(destination, str) and destination in self._destinations:
                # Sent to that destination: it appears in its listing, dated now, so it
                # comes first (newest first) for a poller watching the destination.
                self._backups[destination].append(backup)
                self._listings.pop(destination, None)
            else:
                # Where a backup goes without a custom destination is not documented,
                # so it is kept out of every listing; tests that need it listed add it.
                self._started.append(backup)
            self._record_write(request, "start", None, body)
        return web.json_response({"data": copy.deepcopy(backup)})

    async def _retain_backup(self, request: web.Request) -> web.Response:
        body = await _json_or_none(request)
        with self._lock:
            self._check_write_allowed(request.match_info["addonId"])
            backup = self._addon_backup(request)
            # Retained means kept past its expiry, indefinitely (Northflank's docs): the
            # backup no longer has an expiry date, so expiredBy goes.
            backup.pop("expiredBy", None)
            self._record_write(request, "retain", backup["id"], body)
        return web.json_response({"data": {}})

    async def _abort_backup(self, request: web.Request) -> web.Response:
        body = await _json_or_none(request)
        with self._lock:
            self._check_write_allowed(request.match_info["addonId"])
            backup = self._addon_backup(request)
            if backup["status"] in ("scheduled", "in-progress"):
                backup["status"] = "aborting"
            self._record_write(request, "abort", backup["id"], body)
        return web.json_response({"data": {}})

    # ----- helpers; callers hold the lock ------------------------------------------------

    def _backups_of(self, dest_id: str) -> list[dict[str, Any]]:
        try:
            return self._backups[dest_id]
        except KeyError:
            raise KeyError(f"unknown destination {dest_id!r}; add_destination() it first") from None

    def _listing(self, dest_id: str) -> _Listing:
        cached = self._listings.get(dest_id)
        if cached is not None and cached.newest_first == self.sort_listings:
            return cached
        stored = self._backups[dest_id]
        items = (
            sorted(stored, key=_newest_first, reverse=True) if self.sort_listings else list(stored)
        )
        position: dict[Any, int] = {}
        for index, item in enumerate(items):
            position.setdefault(item.get("id"), index)
        listing = _Listing(self.sort_listings, items, position)
        self._listings[dest_id] = listing
        return listing

    def _readable_destination(self, request: web.Request) -> dict[str, Any]:
        dest_id = request.match_info["destId"]
        if dest_id in self._forbidden:
            raise ApiError(403, "Forbidden", {"backupDestinationId": dest_id})
        destination = self._destinations.get(dest_id)
        if destination is None:
            raise ApiError(404, "Backup destination not found", {"backupDestinationId": dest_id})
        return destination

    def _known_addons(self) -> set[tuple[str | None, str | None]]:
        return self._addons | {_owner(backup) for backup in self._all_backups()}

    def _all_backups(self) -> Iterable[dict[str, Any]]:
        for backups in self._backups.values():
            yield from backups
        yield from self._started

    def _check_write_allowed(self, addon_id: str) -> None:
        if self._write_forbidden is None or addon_id in self._write_forbidden:
            raise ApiError(403, f"Missing permission: {_WRITE_PERMISSION}", {"addonId": addon_id})

    def _addon_backup(self, request: web.Request) -> dict[str, Any]:
        wanted = (
            request.match_info["projectId"],
            request.match_info["addonId"],
            request.match_info["backupId"],
        )
        for backup in self._all_backups():
            if (*_owner(backup), backup.get("id")) == wanted:
                return backup
        raise ApiError(404, "Backup not found", {"backupId": wanted[2]})

    def _record_write(
        self, request: web.Request, action: WriteAction, backup_id: str | None, body: Any
    ) -> None:
        self._writes.append(
            WriteCall(
                action=action,
                project_id=request.match_info["projectId"],
                addon_id=request.match_info["addonId"],
                backup_id=backup_id,
                team_id=request.match_info.get("teamId"),
                body=body,
            )
        )


def _peer(request: web.Request) -> str:
    peername = request.transport.get_extra_info("peername") if request.transport else None
    return f"{peername[0]}:{peername[1]}" if peername else "unknown"


def _owner(backup: dict[str, Any]) -> tuple[str | None, str | None]:
    """(project id, addon id) of a stored backup, tolerating raw overrides that broke them."""
    project, addon = backup.get("project"), backup.get("addon")
    return (
        project.get("id") if isinstance(project, dict) else None,
        addon.get("id") if isinstance(addon, dict) else None,
    )


def _paginate(items: list[dict[str, Any]], query: Mapping[str, str]) -> Page:
    try:
        return paginate(items, query)
    except PaginationError as exc:
        raise ApiError(400, str(exc), exc.details) from None


def _paginate_listing(listing: _Listing, query: Mapping[str, str]) -> Page:
    """``_paginate``, finding the cursor's item by lookup instead of a scan of the list."""
    cursor = query.get("cursor")
    if cursor:
        try:
            found = listing.position.get(decode_cursor(cursor))
        except PaginationError:
            found = None
        if found is not None:
            # The page starts right after the cursor's item. With a cursor, `page` is
            # ignored, so only per_page (and its validation) still matters.
            per_page = {k: v for k, v in query.items() if k == "per_page"}
            return _paginate(listing.items[found + 1 :], per_page)
    # Everything else, errors included, goes the original way.
    return _paginate(listing.items, query)


async def _json_or_none(request: web.Request) -> Any:
    text = await request.text()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise ApiError(400, "Request body is not valid JSON") from None


async def _drop_mid_body(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Send the status, the headers and half the body, then drop the connection.

    The request was served in full first: a write is done although its client never
    reads the answer, the case where resending a POST would do it twice.
    """
    raw = response.body if isinstance(response, web.Response) else None
    body = raw if isinstance(raw, bytes) else b"{}"
    dropped = web.StreamResponse(status=response.status, headers=response.headers)
    dropped.content_length = len(body)
    await dropped.prepare(request)
    await dropped.write(body[: len(body) // 2])
    if request.transport is not None:
        request.transport.abort()
    return dropped


def _corrupt(response: web.StreamResponse, fault: str | None) -> web.StreamResponse:
    """Apply a body-corrupting fault to an otherwise normal response."""
    if fault not in _BODY_FAULTS:
        return response
    if fault == "no-body":
        return web.Response(status=response.status)
    raw = response.body if isinstance(response, web.Response) else None
    body = raw if isinstance(raw, bytes) else b"{}"
    if fault == "truncated":
        return web.Response(
            status=200, body=body[: len(body) // 2], content_type="application/json"
        )
    parsed = json.loads(body)
    mangled = with_wrong_types(parsed) if fault == "wrong-types" else with_wrong_shape(parsed)
    return web.json_response(mangled, status=200)
