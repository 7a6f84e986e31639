"""FakeNorthflankTeams: several Northflank teams behind one base URL, one token each.

The bot keeps several connections (API tokens), one per Northflank team, and sends every
one of them to the same NORTHFLANK_API_BASE_URL, as it does with the real API: the token
alone says which team a request belongs to. A FakeNorthflank serves one token's view, so
this router sits in front of one FakeNorthflank per team and forwards each request, as
it came (method, raw path and query, body, headers including Authorization), to the team
whose token is in the ``Authorization: Bearer`` header, through one shared
httpx.AsyncClient. The team's answer comes back unchanged: status, headers (x-ratelimit-*,
Retry-After, content-type) and body, so each team keeps its own destinations, backups,
rate-limit window, faults and recorded requests.

A token no team has, or no token at all, is answered 401 here with FakeNorthflank's JSON
error shape; no team sees that request. A revoked token is still forwarded to its team,
whose fake now accepts only a new random token, so the 401 (and its record) comes from
the team.

Faults pass through as the client would meet them at the real API:

* "timeout": the router waits for the team as long as it takes (up to 300 s); a
  client that gives up closes its connection, which cancels the forwarding handler and
  with it the upstream request.
* "dropped": the status, the headers (with the full Content-Length) and the part of the
  body that arrived are sent on, then the client's connection is aborted: it sees the same
  cut-off body it would see from the team fake directly.
* A team that cannot be reached or drops before answering (a stopped fake, say): the
  client's connection is closed without any response.

One difference from talking to a team fake directly: its ``RecordedRequest.peer`` is the
router's pooled connection, not the client's, so connection reuse is not visible there.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any, Final, Self

import httpx
from aiohttp import web

from tests.fakes._server import BackgroundServer
from tests.fakes.northflank import FakeNorthflank, error_response

__all__ = ["FakeNorthflankTeams"]

# Hop-by-hop headers, and ones the sending side recomputes for the body it actually sends.
_NOT_FORWARDED: Final = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}
)
_BEARER: Final = "Bearer "
# Far longer than any fault's delay: whether a request takes too long is the client's call.
_UPSTREAM_TIMEOUT: Final = httpx.Timeout(300.0, connect=5.0)


class FakeNorthflankTeams(BackgroundServer):
    """A router on 127.0.0.1 in front of one FakeNorthflank per team token.

    Use as a context manager or start()/stop(). ``add_team`` may be called before or
    after start(); team fakes run while the router runs, and stop() stops them all.
    """

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        super().__init__(host=host)
        # Token a request presents -> the team that answers it (revoked tokens stay here).
        self._teams: dict[str, FakeNorthflank] = {}
        self._client: httpx.AsyncClient | None = None

    # ----- test-facing API ---------------------------------------------------------------

    def add_team(self, token: str, **fake_kwargs: Any) -> FakeNorthflank:
        """Create the team reached with ``token``; kwargs go to FakeNorthflank (team_id, ...).

        The fake is started now if the router runs, otherwise when the router starts.
        """
        if "token" in fake_kwargs or "host" in fake_kwargs:
            raise TypeError("token is the first argument; the host is the router's")
        fake = FakeNorthflank(token=token, host=self._host, **fake_kwargs)
        with self._lock:
            if token in self._teams:
                raise ValueError("a team with this token already exists")
            self._teams[token] = fake
        if self.running:
            fake.start()
        return fake

    def team(self, token: str) -> FakeNorthflank:
        """The team fake a token reaches (revoked tokens included)."""
        with self._lock:
            return self._teams[token]

    @property
    def teams(self) -> list[FakeNorthflank]:
        with self._lock:
            return list(self._teams.values())

    def revoke(self, token: str) -> None:
        """From now on ``token`` gets 401 from its team, as revoked; other tokens are unaffected."""
        # The team accepts a token nobody has; the router still sends ``token`` there.
        self.team(token).set_token(f"revoked-{secrets.token_hex(8)}")

    # ----- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        super().start()
        try:
            for fake in self.teams:
                if not fake.running:
                    fake.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the router first (no new forwarding), then every team fake. Idempotent."""
        super().stop()
        for fake in self.teams:
            fake.stop()

    # ----- application -------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application()
        app.cleanup_ctx.append(self._shared_client)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        return app

    async def _shared_client(self, app: web.Application) -> AsyncIterator[None]:
        # Created on the router's loop, which it is bound to. A long timeout: a slow team (a
        # "timeout" fault) is the client's to give up on. trust_env=False: never a proxy.
        client = httpx.AsyncClient(timeout=_UPSTREAM_TIMEOUT, trust_env=False)
        # Forward the client's headers as they are, without httpx's defaults added.
        client.headers.clear()
        self._client = client
        yield
        self._client = None
        await client.aclose()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        authorization = request.headers.get("Authorization", "")
        token = authorization[len(_BEARER) :] if authorization.startswith(_BEARER) else None
        with self._lock:
            team = self._teams.get(token) if token else None
        if team is None or not team.running or self._client is None:
            return error_response(401, "Unauthorized")
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED]
        body = await request.read()
        upstream_request = self._client.build_request(
            request.method, team.url + request.raw_path, headers=headers, content=body or None
        )
        try:
            upstream = await self._client.send(upstream_request, stream=True)
        except httpx.TransportError:
            return _drop(request)
        try:
            response = web.StreamResponse(
                status=upstream.status_code, reason=upstream.reason_phrase
            )
            for key, value in upstream.headers.multi_items():
                if key.lower() not in _NOT_FORWARDED - {"content-length"}:
                    response.headers.add(key, value)
            await response.prepare(request)
            try:
                # Raw: the bytes exactly as the team sent them, never decoded.
                async for chunk in upstream.aiter_raw():
                    await response.write(chunk)
            except httpx.TransportError:
                # The team dropped mid-body: so does the router, after what arrived.
                _drop(request)
                return response
            await response.write_eof()
            return response
        finally:
            await upstream.aclose()


def _drop(request: web.Request) -> web.StreamResponse:
    """Abort the client's connection; the returned response is never sent."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=502)
