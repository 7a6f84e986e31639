"""`GET /slack/install` and `GET /slack/oauth_redirect`: Bolt's OAuth flow, on our server.

Bolt's own aiohttp adapter routes these inside its request handler; ours
(bot/slack/http_endpoint.py) serves only `/slack/events`, so the two pages
are routed here, to the same flow Bolt would run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

Handler = Callable[[web.Request], Awaitable[web.Response]]


def oauth_routes(app: AsyncApp) -> list[tuple[str, Handler]]:
    """(path, handler) for the install page and the redirect, when the app has OAuth."""
    flow = app.oauth_flow
    if flow is None:
        return []

    def bolt_request(request: web.Request) -> AsyncBoltRequest:
        return AsyncBoltRequest(body="", query=request.query_string, headers=dict(request.headers))

    async def install(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await flow.handle_installation(bolt_request(request)))

    async def redirect(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await flow.handle_callback(bolt_request(request)))

    return [(flow.install_path, install), (flow.redirect_uri_path, redirect)]
