"""`POST /slack/events`: Bolt's aiohttp handler, minus its 500s on unreadable requests,
and timed from arrival to ack for /metrics.

Bolt parses the body before it verifies the signature, and its verifier calls
int() on the timestamp and compares the signature as ASCII. A body that is not
a JSON object (or whose user, team or channel has the wrong type), a timestamp
that is not a number, or a signature that is not ASCII would each raise: a 500
and a traceback, for anyone who can reach the port. Here they get a 401, or a
400 when Slack itself signed them, and everything else goes to Bolt unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

# Bolt's own answer to a request whose signature does not verify.
_INVALID_REQUEST = {"error": "invalid request"}
# What building a Bolt request raises on a body it cannot read.
_UNREADABLE_BODY = (ValueError, TypeError, AttributeError, KeyError, IndexError)


def slack_events_handler(
    app: AsyncApp, signing_secret: str, *, observe: Callable[[str, float], None] | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The handler; `observe(kind, seconds)` hears how long each request took to ack."""
    verifier = SignatureVerifier(signing_secret)

    async def handle(request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            return await answer(request)
        finally:
            if observe is not None:
                body = await request.read()  # already read; aiohttp keeps it
                observe(_http_kind(body), time.perf_counter() - started)

    async def answer(request: web.Request) -> web.Response:
        body = await request.text()
        if not _verifiable(request.headers):
            return web.json_response(_INVALID_REQUEST, status=401)
        headers: dict[str, str | Sequence[str]] = dict(request.headers)
        try:
            bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=headers)
        except _UNREADABLE_BODY:
            if not verifier.is_valid_request(body, dict(request.headers)):
                return web.json_response(_INVALID_REQUEST, status=401)
            log.warning("refused a signed Slack request whose body could not be read")
            return web.json_response({"error": "unreadable request"}, status=400)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    return handle


def _http_kind(body: bytes) -> str:
    # Form fields are URL-encoded, so "&command=" cannot occur inside a value.
    if body.startswith(b"payload="):
        return "interaction"
    if body.startswith(b"command=") or b"&command=" in body:
        return "command"
    return "other"


def _verifiable(headers: Mapping[str, str]) -> bool:
    """Whether Bolt's verifier can look at these headers without raising."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "0").strip()
    signature = headers.get("X-Slack-Signature", "")
    return timestamp.isascii() and timestamp.lstrip("-").isdigit() and signature.isascii()
