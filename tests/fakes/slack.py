"""FakeSlack: the Slack Web API methods the bot calls, plus ``response_url`` endpoints.

Point ``AsyncWebClient(base_url=fake.api_url)`` at it. ``api_url`` ends in a slash because
slack_sdk joins base URL and method with ``urljoin``, which would drop a last path segment
not followed by one; the 3.48 clients append the slash themselves, other callers may not.

How slack_sdk 3.48 encodes calls, which is why every call's parameters are merged from the
query string, a form body and a JSON body: methods taking blocks (chat.postMessage,
chat.update, chat.postEphemeral) send a JSON body; most others (auth.test,
conversations.join, apps.connections.open) POST an empty form-typed body with the
parameters in the query string; ``api_call(data=...)`` sends a real form body.

Files and the Home tab: files.getUploadURLExternal, the upload URL it hands out (on this
same server) and files.completeUploadExternal serve slack_sdk's ``files_upload_v2``; see
tests/fakes/slack_files.py for what each step sends. A file is shared only into a channel the
bot is a member of: one it joined (conversations.join), a DM it opened (conversations.open),
or one ``join`` put it in. chat.postMessage does not check membership: with
``chat:write.public`` the bot may post into public channels it is not in; tests make it fail
with ``fail_next(..., "not_in_channel")``. views.publish keeps each user's Home tab;
views.open and views.update keep modals (see tests/fakes/slack_views.py).

Several workspaces (a distributable app): ``add_installation_code`` registers a code for
oauth.v2.access. slack_sdk sends the app's client id and secret as HTTP Basic auth and the
rest (``code``, ``redirect_uri``; or ``grant_type=refresh_token`` and ``refresh_token``) as
a form body. The bot token handed out is accepted from then on, auth.test with it answers
its workspace, and modals it opens belong to that workspace. Every recorded call keeps the
bearer token it came with (``SlackCall.token``); ``posted_with(token)`` lists one token's
posts.

Socket Mode is served for real: apps.connections.open hands out a ``ws://`` URL on this same
server, and tests push envelopes down the socket and read back the app's acks. See the
"Socket Mode" section of FakeSlack for how Slack's side of the protocol goes.

``set_latency`` slows a method's answers down. The call takes effect when it arrives (a
message is posted at once) and only the answer waits, so a client that dies during the wait
has posted a message it never heard about: the window in which at-least-once delivery posts
twice. Each recorded call says what was answered and when (``answered_at`` stays None for a
client that went away first), in the same ``time.monotonic()`` clock as its arrival.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import dataclasses
import itertools
import json
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, Final, TypeVar

from aiohttp import WSCloseCode, WSMsgType, web

from tests.fakes._faults import FaultQueue
from tests.fakes._server import BackgroundServer, headers_without_auth
from tests.fakes.slack_files import UPLOAD, UPLOAD_PATH, FileStore, FileUpload, SharedFile
from tests.fakes.slack_views import ModalStore

__all__ = [
    "APP_ID",
    "DEFAULT_APP_TOKEN",
    "DEFAULT_TOKEN",
    "RESPONSE_URL",
    "UPLOAD",
    "FakeSlack",
    "FileUpload",
    "ResponseUrlPost",
    "SharedFile",
    "SlackCall",
    "SocketMessage",
]

# Fake credentials, exported so tests can send them without repeating the literals.
DEFAULT_TOKEN: Final = "xoxb-test-token"
DEFAULT_APP_TOKEN: Final = "xapp-test-token"

# The pseudo method name under which fail_next() targets response_url posts.
RESPONSE_URL: Final = "response_url"
BOT_USER_ID: Final = "UBOT"
BOT_ID: Final = "BBOT"
# The app the Socket Mode connections belong to; it is in every hello.
APP_ID: Final = "A0APP"
SOCKET_PATH: Final = "/link/"

# slack_sdk sends these as JSON strings when it form-encodes a call; decoding them makes a
# recorded call look the same whichever encoding the client chose. Each with the error a
# string that is not JSON gets.
_JSON_FIELDS: Final = {
    "blocks": "invalid_blocks",
    "attachments": "invalid_attachments",
    "metadata": "invalid_metadata",
    "files": "invalid_arguments",  # files.completeUploadExternal
    "view": "invalid_arguments",  # views.publish
}
# Methods whose answer depends on the workspace of the token they came with.
_BY_WORKSPACE: Final = frozenset({"auth.test", "views.open", "views.update"})
# Slack's cap on a Home tab's (and a modal's) blocks.
_MAX_VIEW_BLOCKS: Final = 100
# Uploads go through aiohttp's request body limit, 1 MiB by default; Slack takes up to 1 GB.
_MAX_BODY: Final = 64 * 1024 * 1024
_FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")
# Incoming-webhook style errors: a status code and the error string as a text/plain body.
_WEBHOOK_STATUS: Final = {
    "invalid_payload": 400,
    "no_text": 400,
    "invalid_blocks": 400,
    "user_not_found": 400,
    "action_prohibited": 403,
    "channel_not_found": 404,
    "expired_url": 404,
    "used_url": 404,
    "channel_is_archived": 410,
    "is_archived": 410,
}
_TS_BASE_MICROS: Final = 1_700_000_000_000_000
_POLL_INTERVAL: Final = 0.01
# How long a test thread waits for the fake's loop to put a frame on the wire. Sends to a
# loopback socket take microseconds; this only bounds a wedged loop.
_SEND_TIMEOUT: Final = 5.0
# How long closing a socket waits for the client's close frame before dropping the
# connection. aiohttp's default is 10 s, which a client that stopped reading would cost
# every stop().
_SOCKET_CLOSE_TIMEOUT: Final = 1.0

Params = dict[str, Any]
_T = TypeVar("_T")
Result = dict[str, Any]


@dataclass(frozen=True)
class SlackCall:
    method: str
    params: Params  # query, form and JSON body merged; the token removed
    headers: dict[str, str]  # everything except Authorization
    content_type: str  # as sent, e.g. "application/json;charset=utf-8"
    token_valid: bool
    at: float  # time.monotonic() on arrival
    latency: float = 0.0  # seconds the answer was held back (set_latency)
    answer: Result | None = None  # the JSON body answered, decided on arrival
    # time.monotonic() when the answer went back; None while held back, or when the client
    # went away before it could be sent.
    answered_at: float | None = None
    # The bearer token it came with (fake tokens only), so a test can tell which
    # workspace's bot token posted what.
    token: str | None = dataclasses.field(default=None, repr=False)


@dataclass(frozen=True)
class Installed:
    """One workspace's install of the app, as oauth.v2.access hands it out."""

    team_id: str
    team_name: str
    bot_token: str
    bot_user_id: str
    bot_id: str
    installer: str
    refresh_token: str | None = None  # with token rotation on
    expires_in: int = 43200  # the bot token's lifetime with rotation on (Slack: 12 hours)
    enterprise_id: str | None = None
    redirect_uri: str | None = None  # the code's; oauth.v2.access must send the same

    def access(self) -> Result:
        """What oauth.v2.access answers, for a code and for a refresh token alike."""
        answer: Result = {
            "ok": True,
            "app_id": APP_ID,
            "authed_user": {"id": self.installer},
            "scope": "commands,chat:write,chat:write.public,channels:join,files:write,im:write",
            "token_type": "bot",
            "access_token": self.bot_token,
            "bot_user_id": self.bot_user_id,
            "team": {"id": self.team_id, "name": self.team_name},
            "enterprise": None if self.enterprise_id is None else {"id": self.enterprise_id},
            "is_enterprise_install": False,
        }
        if self.refresh_token is not None:
            answer |= {"refresh_token": self.refresh_token, "expires_in": self.expires_in}
        return answer


@dataclass(frozen=True)
class ResponseUrlPost:
    key: str
    payload: Any  # the parsed JSON, or the raw text when it was not JSON
    headers: dict[str, str]
    at: float


@dataclass(frozen=True)
class SocketMessage:
    connection: int  # which socket it came on; connections are numbered from 1
    data: Any  # the parsed JSON, or the raw text when it was not JSON
    at: float


class _SlackError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class FakeSlack(BackgroundServer):
    """Slack's Web API under ``/api/{method}`` and response_url posts under ``/response/{key}``.

    Tokens: ``token`` (a bot token) for every method except apps.connections.open, which
    takes ``app_token``. As on Slack, a missing token is ``not_authed``, a wrong one
    ``invalid_auth``, a bot token on apps.connections.open ``not_allowed_token_type``.
    ``retry_after`` is the Retry-After, in seconds, of injected 429s.

    Socket Mode, as Slack runs it: apps.connections.open returns
    ``ws://{host}:{port}/link/?ticket=...``; connecting with an issued ticket opens a socket
    that starts with a ``hello``. The test then plays Slack: ``send_envelope`` pushes a
    request (slash command, button press) down one socket, the app acks it by sending back
    ``{"envelope_id": ..., "payload"?: ...}``, and ``await_socket_ack`` returns that ack.
    ``disconnect_sockets`` asks every client to reconnect, as Slack does every few hours.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
        retry_after: int = 1,
        team_id: str = "T0FAKE",
        team: str = "Fake Team",
        latency_seed: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host=host)
        self._token = token
        self._app_token = app_token
        self.retry_after = retry_after
        self._team_id = team_id
        self._team = team
        self._changed = threading.Condition(self._lock)
        self._faults = FaultQueue()
        # Per method: the answer is held back a delay drawn uniformly from (low, high),
        # from a seeded generator so that a run can be replayed.
        self._latencies: dict[str, tuple[float, float]] = {}
        self._latency_rng = random.Random(latency_seed)
        self._calls: list[SlackCall] = []
        self._responses: list[ResponseUrlPost] = []
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._ts_counter = itertools.count(1)
        # Channels the bot is in: joined, DMs opened, or put there by join().
        self._members: set[str] = set()
        self._files = FileStore()
        # Per user, every Home tab view published, oldest first.
        self._home_views: dict[str, list[dict[str, Any]]] = {}
        self._view_ids: dict[str, str] = {}
        # Modals opened with views.open, as last opened or updated; see slack_views.py.
        self._modals = ModalStore(APP_ID, BOT_ID)
        # OAuth (a distributable app): codes waiting for oauth.v2.access, the workspaces
        # installed (bot token -> its workspace), refresh tokens, and revoked tokens.
        self.oauth_client = ("C0CLIENT.ID", "fake-client-secret-0123456789")
        self._codes: dict[str, Installed] = {}
        self._installed: dict[str, Installed] = {}
        self._refresh: dict[str, Installed] = {}
        self._revoked: set[str] = set()
        self._rotations = itertools.count(1)
        self._rotated: list[str] = []  # bot tokens handed out for refresh tokens
        self._dms: dict[str, str] = {}  # user id -> DM channel id
        # Socket Mode. The WebSocketResponse objects are only ever touched on the fake's
        # loop; the lock guards the containers, which test threads read too.
        self._tickets: set[str] = set()
        self._connection_ids = itertools.count(1)
        self._round_robin = itertools.count()
        # Sockets that may carry envelopes: connected, and not told to disconnect.
        self._live: dict[int, web.WebSocketResponse] = {}
        # Every socket not yet closed, the live ones and those told to disconnect alike.
        self._open_sockets: set[web.WebSocketResponse] = set()
        self._socket_messages: list[SocketMessage] = []
        # Delayed closes after a disconnect; held so they are not garbage-collected.
        self._closers: set[asyncio.Task[None]] = set()
        self._methods: dict[str, Callable[[Params], Result]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "conversations.join": self._join,
            "conversations.open": self._conversations_open,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "oauth.v2.access": self._oauth_v2_access,
            "apps.connections.open": self._connections_open,
        }

    # ----- test-facing API ---------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """``base_url`` for slack_sdk clients; note the trailing slash."""
        return f"{self.url}/api/"

    def response_url(self, key: str) -> str:
        return f"{self.url}/response/{key}"

    def set_token(self, token: str) -> None:
        """Accept only this bot token from now on, as if the old one had been revoked."""
        with self._lock:
            self._token = token

    def fail_next(self, method: str, kind: str, times: int = 1) -> None:
        """Fail the next ``times`` calls of ``method`` (or ``"response_url"``, ``"upload"``).

        ``kind`` is "429", "500" or a Slack error string such as "not_in_channel". Web API
        errors come back as HTTP 200 ``{"ok": false, "error": kind}``; response_url errors
        the way incoming webhooks report them: a 4xx status and the error as plain text.
        Upload posts (UPLOAD) answer a status and plain text too, 400 for an error string;
        a failed upload keeps no bytes.
        """
        with self._lock:
            self._faults.push(kind, times, lambda subject: subject == method)

    def set_latency(self, method: str, low: float, high: float | None = None) -> None:
        """Hold back the answers to ``method`` (or UPLOAD) ``low`` to ``high`` s (uniform).

        ``high`` defaults to ``low``; ``0`` answers at once again. The call takes effect on
        arrival: only the answer waits (see the module docstring).
        """
        high = low if high is None else high
        if not 0 <= low <= high:
            raise ValueError(f"latency needs 0 <= low <= high, got {low} and {high}")
        with self._lock:
            if high == 0:
                self._latencies.pop(method, None)
            else:
                self._latencies[method] = (low, high)

    @property
    def calls(self) -> list[SlackCall]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[SlackCall]:
        with self._lock:
            return self._calls_to(method)

    @property
    def responses(self) -> list[ResponseUrlPost]:
        with self._lock:
            return list(self._responses)

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The current state of a posted message (after any chat.update)."""
        with self._lock:
            return copy.deepcopy(self._messages.get((channel, ts)))

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages that chat.postMessage accepted, oldest first, as they look now.

        File shares are messages too: ``subtype`` "file_share", ``text`` the initial
        comment and ``files`` what was shared.
        """
        with self._lock:
            return [
                copy.deepcopy({**message, "channel": key[0]})
                for key, message in self._messages.items()
                if channel is None or key[0] == channel
            ]

    def join(self, channel: str) -> None:
        """Make the bot a member of ``channel``, as if it had joined before the test."""
        with self._lock:
            self._members.add(channel)

    def files(self, channel: str | None = None) -> list[SharedFile]:
        """Files completed by files.completeUploadExternal, oldest first.

        One entry per file and channel shared into; a file completed without a channel is
        listed once, with ``channel`` None, and only when ``channel`` is not given.
        """
        with self._lock:
            return self._files.files(channel)

    @property
    def uploads(self) -> list[FileUpload]:
        """Every POST to an upload URL, oldest first, including refused ones."""
        with self._lock:
            return list(self._files.uploads)

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab last published for ``user_id``, as views.publish answered it."""
        with self._lock:
            views = self._home_views.get(user_id)
            return copy.deepcopy(views[-1]) if views else None

    def clear(self) -> None:
        """Forget recorded calls, responses, uploads and socket messages; drop faults.

        What the calls did (messages, files, Home tabs, memberships) stays.
        """
        with self._lock:
            self._calls.clear()
            self._responses.clear()
            self._files.uploads.clear()
            self._faults.clear()
            self._socket_messages.clear()

    def wait_for_calls(self, method: str, n: int = 1, timeout: float = 5.0) -> list[SlackCall]:
        """Block until ``n`` calls of ``method`` arrived. Blocks the thread: sync tests only."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._calls_to(method)) >= n, timeout):
                raise TimeoutError(self._shortfall(f"{method} call", n, self._calls_to(method)))
            return self._calls_to(method)

    def wait_for_responses(self, n: int = 1, timeout: float = 5.0) -> list[ResponseUrlPost]:
        """Block until ``n`` response_url posts arrived. Blocks the thread: sync tests only."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._responses) >= n, timeout):
                raise TimeoutError(self._shortfall("response_url post", n, self._responses))
            return list(self._responses)

    # `timeout` mirrors the wait_for_* signatures; hence the ASYNC109 waivers.
    async def await_calls(
        self,
        method: str,
        n: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SlackCall]:
        """Like wait_for_calls, but polls so the test's event loop (and bot) keeps running."""
        return await _poll(lambda: self.calls_to(method), n, timeout, f"{method} call")

    async def await_responses(
        self,
        n: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[ResponseUrlPost]:
        """Like wait_for_responses, but polls so the test's event loop keeps running."""
        return await _poll(lambda: self.responses, n, timeout, "response_url post")

    async def await_files(
        self,
        n: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        channel: str | None = None,
    ) -> list[SharedFile]:
        """Wait until ``files(channel)`` holds at least ``n`` files; return them all."""
        return await _poll(lambda: self.files(channel), n, timeout, "shared file")

    def add_installation_code(
        self,
        code: str,
        *,
        team_id: str,
        bot_token: str,
        team_name: str = "Some Team",
        installer: str = "U0INSTALLER",
        bot_user_id: str | None = None,
        rotating: bool = False,
        refresh_token: str | None = None,
        expires_in: int = 43200,
        enterprise_id: str | None = None,
        redirect_uri: str | None = None,
    ) -> None:
        """oauth.v2.access with ``code`` installs the app in ``team_id`` (once).

        From then on ``bot_token`` is accepted, and auth.test with it answers that
        workspace. Token rotation is on with ``rotating`` or a given ``refresh_token``: the
        answer then carries the refresh token and ``expires_in``. With ``redirect_uri``
        (the authorize URL's) oauth.v2.access must send the same one.
        """
        if rotating and refresh_token is None:
            refresh_token = f"xoxe-1-refresh-0-{team_id}"
        with self._lock:
            self._codes[code] = Installed(
                team_id=team_id,
                team_name=team_name,
                bot_token=bot_token,
                bot_user_id=bot_user_id or f"U0BOT{team_id}",
                bot_id=f"B0BOT{team_id}",
                installer=installer,
                refresh_token=refresh_token,
                expires_in=expires_in,
                enterprise_id=enterprise_id,
                redirect_uri=redirect_uri,
            )

    def rotated_tokens(self) -> list[str]:
        """Bot tokens oauth.v2.access handed out for a refresh token, oldest first."""
        with self._lock:
            return list(self._rotated)

    def revoke_token(self, token: str) -> None:
        """Calls with `token` now answer token_revoked, as after an uninstall."""
        with self._lock:
            self._revoked.add(token)

    def posted_with(self, token: str) -> list[dict[str, Any]]:
        """chat.postMessage calls made with `token`, their parameters, in order."""
        with self._lock:
            return [
                copy.deepcopy(c.params)
                for c in self._calls
                if c.method == "chat.postMessage" and c.token == token
            ]

    def expire_trigger(self, trigger_id: str) -> None:
        """views.open with this trigger answers expired_trigger_id (3 s went by)."""
        with self._lock:
            self._modals.expired.add(trigger_id)

    def modals(self) -> list[dict[str, Any]]:
        """Every modal opened, in the order opened, each as last opened or updated.

        Which token opened one: ``calls_to("views.open")[i].token``.
        """
        with self._lock:
            return copy.deepcopy(list(self._modals.views.values()))

    async def await_modal(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        n: int = 1,
    ) -> dict[str, Any]:
        """Wait until ``n`` modals were opened; return the last as it is now."""
        [*_, last] = await _poll(self.modals, n, timeout, "modal")
        return last

    async def await_home_view(
        self,
        user_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        n: int = 1,
    ) -> dict[str, Any]:
        """Wait until ``n`` Home tabs were published for ``user_id``; return the last."""
        [*_, last] = await _poll(
            lambda: self._home_views_of(user_id), n, timeout, f"Home tab for {user_id}"
        )
        return last

    # ----- Socket Mode: test-facing API ---------------------------------------------------

    @property
    def socket_connection_count(self) -> int:
        """Sockets that can carry envelopes: open, and not told to disconnect."""
        with self._lock:
            return len(self._live)

    @property
    def socket_messages(self) -> list[SocketMessage]:
        """Everything clients sent over their sockets (acks, mostly), oldest first."""
        with self._lock:
            return list(self._socket_messages)

    async def await_socket_connections(
        self,
        n: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> int:
        """Wait until at least ``n`` sockets are live; return how many are."""
        live = await _poll(self._live_ids, n, timeout, "Socket Mode connection")
        return len(live)

    def send_envelope(
        self,
        type: str,
        payload: dict[str, Any],
        accepts_response_payload: bool = True,
    ) -> str:
        """Push one envelope down a live socket, as Slack delivers a request; return its id.

        ``type`` is Slack's envelope type: "slash_commands" (``payload`` holds the command's
        fields as a JSON object, not form-encoded), "interactive" (``payload`` is the
        block_actions or view_submission object itself), "events_api". Sockets take turns,
        as Slack spreads requests over an app's connections. Callable from any thread but
        the fake's own: the frame is written on the fake's loop, and this returns once it is.
        """
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        with self._lock:
            if not self._live:
                raise RuntimeError("no Socket Mode connection to send an envelope on")
            sockets = list(self._live.values())
            socket = sockets[next(self._round_robin) % len(sockets)]
        self._on_loop(lambda: socket.send_str(json.dumps(envelope)))
        return envelope_id

    async def await_socket_ack(
        self,
        envelope_id: str,
        timeout: float = 3.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """The first message a client sent back for ``envelope_id``: the app's ack.

        ``timeout`` defaults to Slack's: an envelope not acked in 3 s is retried.
        """
        [ack, *_] = await _poll(lambda: self._acks_for(envelope_id), 1, timeout, "ack")
        return copy.deepcopy(ack)  # the recorded message stays as it came

    def disconnect_sockets(self, reason: str = "refresh_requested", *, grace: float = 5.0) -> int:
        """Tell every live socket to go away, then close it; return how many were told.

        Slack sends ``{"type": "disconnect", "reason": ...}`` and keeps the old socket open
        for a while (about 10 s) so the client can connect anew first; here that overlap is
        ``grace`` seconds, after which sockets the client has not closed itself are closed.
        slack_sdk closes the old socket itself as it reconnects, so the grace costs nothing
        unless a test means to wait it out; a long one keeps a slow client from seeing both
        the message and the close, and reconnecting twice. From the message on, envelopes
        go only to sockets opened since. Any thread but the fake's.
        """
        with self._lock:
            leaving = list(self._live.values())
            self._live.clear()
            self._changed.notify_all()
        self._on_loop(lambda: self._disconnect(leaving, reason, grace))
        return len(leaving)

    # ----- application -------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_route("GET", "/api/{method}", self._api)
        app.router.add_route("POST", "/api/{method}", self._api)
        app.router.add_post(UPLOAD_PATH + "{file_id}", self._upload)
        app.router.add_post("/response/{key}", self._response_url)
        app.router.add_get(SOCKET_PATH, self._socket)
        # Runs inside stop(), before in-flight handlers are cancelled: the socket handlers
        # would otherwise wait for their clients, and clients would see no close frame.
        app.on_shutdown.append(self._close_sockets)
        return app

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params = await _read_params(request)
        except _SlackError as exc:
            return _slack_error(exc.error)
        token = _bearer(request) or params.pop("token", None)
        if method == "oauth.v2.access":
            # slack_sdk sends the app's credentials as HTTP Basic auth.
            params.update(_basic(request))
        with self._lock:
            token_error = self._token_error(method, token)
            call = SlackCall(
                method=method,
                # A copy: the handler below keeps parts of params in stored messages.
                params=copy.deepcopy(params),
                headers=headers_without_auth(request),
                content_type=request.headers.get("Content-Type", ""),
                token_valid=token_error is None,
                at=time.monotonic(),
                latency=self._draw_latency(method),
                token=token,
            )
            self._calls.append(call)
            self._changed.notify_all()
            fault = self._faults.take(method)
        if method in _BY_WORKSPACE:
            params["_token"] = token  # after recording: which workspace is asking
        status, answer, headers = self._answer(method, params, fault, token_error)
        call = self._amend(call, answer=answer)
        if call.latency:
            # Cancelled (handler_cancellation) if the client goes away meanwhile: then
            # answered_at stays None, and whatever the call did is done all the same.
            await asyncio.sleep(call.latency)
        self._amend(call, answered_at=time.monotonic())
        return web.json_response(answer, status=status, headers=headers)

    def _answer(
        self, method: str, params: Params, fault: str | None, token_error: str | None
    ) -> tuple[int, Result, dict[str, str]]:
        """Status, JSON body and headers of the answer; runs the method if nothing fails."""
        if fault == "429":
            retry_after = {"Retry-After": str(self.retry_after)}
            return 429, {"ok": False, "error": "ratelimited"}, retry_after
        if fault == "500":
            return 500, {"ok": False, "error": "internal_error"}, {}
        # Slack reports method-level failures with HTTP 200 and ok=false.
        if fault is not None:
            return 200, {"ok": False, "error": fault}, {}
        handler = self._methods.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        if token_error is not None:
            return 200, {"ok": False, "error": token_error}, {}
        with self._lock:
            # A copy: the answer may wait, and must not show a later chat.update.
            return 200, copy.deepcopy(handler(params)), {}

    def _draw_latency(self, method: str) -> float:
        """Called with the lock held, so draws follow the order calls arrive in."""
        bounds = self._latencies.get(method)
        return self._latency_rng.uniform(*bounds) if bounds is not None else 0.0

    def _amend(self, call: SlackCall, **changes: Any) -> SlackCall:
        """Replace a recorded call with an updated copy (unless clear() dropped it)."""
        amended = replace(call, **changes)
        with self._lock:
            for index in range(len(self._calls) - 1, -1, -1):
                if self._calls[index] is call:
                    self._calls[index] = amended
                    self._changed.notify_all()
                    break
        return amended

    async def _response_url(self, request: web.Request) -> web.Response:
        text = await request.text()
        try:
            payload: Any = json.loads(text)
            valid = True
        except json.JSONDecodeError:
            payload, valid = text, False
        with self._lock:
            self._responses.append(
                ResponseUrlPost(
                    key=request.match_info["key"],
                    payload=payload,
                    headers=headers_without_auth(request),
                    at=time.monotonic(),
                )
            )
            self._changed.notify_all()
            fault = self._faults.take(RESPONSE_URL)
        if fault == "429":
            return web.Response(
                status=429, text="rate_limited", headers={"Retry-After": str(self.retry_after)}
            )
        if fault == "500":
            return web.Response(status=500, text="rollup_error")
        if fault is not None:
            return web.Response(status=_WEBHOOK_STATUS.get(fault, 400), text=fault)
        if not valid:
            return web.Response(status=400, text="invalid_payload")
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        """POST to an upload URL: files_upload_v2's second step. No token: the URL is one."""
        file_id = request.match_info["file_id"]
        data = await _read_upload(request)
        with self._lock:
            fault = self._faults.take(UPLOAD)
            latency = self._draw_latency(UPLOAD)
            if fault == "429":
                response = web.Response(
                    status=429, text="ratelimited", headers={"Retry-After": str(self.retry_after)}
                )
            elif fault == "500":
                response = web.Response(status=500, text="internal_error")
            elif fault is not None:
                response = web.Response(status=400, text=fault)
            elif self._files.receive(file_id, data):
                response = web.Response(text=f"OK - {len(data)}")
            else:
                response = web.Response(status=404, text="file_not_found")
            self._files.uploads.append(
                FileUpload(
                    file_id=file_id,
                    size=len(data),
                    content_type=request.headers.get("Content-Type", ""),
                    headers=headers_without_auth(request),
                    status=response.status,
                    at=time.monotonic(),
                )
            )
            self._changed.notify_all()
        if latency:
            await asyncio.sleep(latency)
        return response

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            # Any ticket apps.connections.open issued; reuse is allowed, as slack_sdk
            # retries a failed connect with the URL it already has.
            known = request.query.get("ticket", "") in self._tickets
        if not known:
            return web.Response(status=401, text="invalid_ticket")
        socket = web.WebSocketResponse(
            # aiohttp answers the client's pings with pongs carrying the same payload; the
            # slack_sdk client times them to tell a stale socket, so they must echo.
            autoping=True,
            timeout=_SOCKET_CLOSE_TIMEOUT,
        )
        await socket.prepare(request)
        with self._lock:
            self._open_sockets.add(socket)
            connection = next(self._connection_ids)
            others = len(self._live)
        try:
            # hello goes out before the socket is live, so it is always the first frame.
            await socket.send_json(self._hello(others + 1))
            with self._lock:
                self._live[connection] = socket
                self._changed.notify_all()
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    self._record_socket_message(connection, message.data)
        finally:
            with self._lock:
                self._live.pop(connection, None)
                self._open_sockets.discard(socket)
                self._changed.notify_all()
        return socket

    def _hello(self, num_connections: int) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": num_connections,
            "debug_info": {
                "host": "fake-slack",
                "build_number": 1,
                # Seconds until Slack would refresh this connection (about 5 hours).
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": APP_ID},
        }

    def _record_socket_message(self, connection: int, text: str) -> None:
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError:
            data = text
        with self._lock:
            self._socket_messages.append(SocketMessage(connection, data, time.monotonic()))
            self._changed.notify_all()

    async def _disconnect(
        self, sockets: list[web.WebSocketResponse], reason: str, grace: float
    ) -> None:
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-slack"}}
        for socket in sockets:
            # A client may be closing this socket already; it is going away either way.
            with contextlib.suppress(ConnectionError):
                await socket.send_json(message)
            closer = asyncio.create_task(self._close_later(socket, grace))
            self._closers.add(closer)
            closer.add_done_callback(self._closers.discard)

    @staticmethod
    async def _close_later(socket: web.WebSocketResponse, delay: float) -> None:
        await asyncio.sleep(delay)
        await socket.close(code=WSCloseCode.GOING_AWAY, message=b"refresh")

    async def _close_sockets(self, _app: web.Application) -> None:
        for closer in list(self._closers):
            closer.cancel()
        with self._lock:
            sockets = list(self._open_sockets)
        await asyncio.gather(
            *(s.close(code=WSCloseCode.GOING_AWAY, message=b"shutdown") for s in sockets),
            return_exceptions=True,
        )

    def _on_loop(self, make: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        """Run a coroutine on the fake's loop from another thread and wait for its result."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() first")
        if threading.current_thread() is thread:
            # Waiting on our own loop from inside it would deadlock.
            raise RuntimeError("call this from a test thread, not from the fake's loop")
        return asyncio.run_coroutine_threadsafe(make(), loop).result(_SEND_TIMEOUT)

    def _live_ids(self) -> list[int]:
        with self._lock:
            return list(self._live)

    def _acks_for(self, envelope_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                m.data
                for m in self._socket_messages
                if isinstance(m.data, dict) and m.data.get("envelope_id") == envelope_id
            ]

    def _token_error(self, method: str, token: str | None) -> str | None:
        if method == "oauth.v2.access":
            return None  # the app's client id and secret, checked by the method
        if token in self._revoked:
            return "token_revoked"
        if not token:
            return "not_authed"
        bot_token = token == self._token or token in self._installed
        # Socket Mode connections take the app-level token and nothing else.
        if method == "apps.connections.open":
            if token == self._app_token:
                return None
            return "not_allowed_token_type" if bot_token else "invalid_auth"
        return None if bot_token else "invalid_auth"

    # ----- methods; called with the lock held ---------------------------------------------

    def _auth_test(self, params: Params) -> Result:
        installed = self._installed.get(str(params.get("_token")))
        if installed is not None:
            answer: Result = {
                "ok": True,
                "url": f"https://{installed.team_id.lower()}.slack.com/",
                "team": installed.team_name,
                "user": "backup-bot",
                "team_id": installed.team_id,
                "user_id": installed.bot_user_id,
                "bot_id": installed.bot_id,
                "is_enterprise_install": False,
            }
            if installed.enterprise_id is not None:
                answer["enterprise_id"] = installed.enterprise_id
            return answer
        return {
            "ok": True,
            "url": "https://fake-team.slack.com/",
            "team": self._team,
            "user": "backup-bot",
            "team_id": self._team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, params: Params) -> Result:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not any(params.get(field) for field in ("text", "blocks", "attachments")):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": params.get("text", ""),
            "ts": ts,
        }
        for field in ("blocks", "attachments", "thread_ts"):
            if params.get(field):
                message[field] = params[field]
        self._messages[(str(channel), ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _update(self, params: Params) -> Result:
        channel, ts = str(params.get("channel", "")), str(params.get("ts", ""))
        message = self._messages.get((channel, ts))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        for field in ("text", "blocks", "attachments"):
            if field in params:
                message[field] = params[field]
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": message,
        }

    def _post_ephemeral(self, params: Params) -> Result:
        if not params.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _join(self, params: Params) -> Result:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        self._members.add(str(channel))
        return {"ok": True, "channel": {"id": channel, "is_channel": True, "is_member": True}}

    def _conversations_open(self, params: Params) -> Result:
        users, channel = params.get("users"), params.get("channel")
        if isinstance(users, str) and users:
            ids = [user.strip() for user in users.split(",") if user.strip()]
            if len(ids) != 1:
                # Slack would open a group DM; the fake has none.
                return {
                    "ok": False,
                    "error": "invalid_arguments",
                    "response_metadata": {"messages": ["FakeSlack opens one-user DMs only"]},
                }
            [user] = ids
        elif isinstance(channel, str) and channel:
            # Resuming a DM by its id.
            found = [u for u, dm in self._dms.items() if dm == channel]
            if not found:
                return {"ok": False, "error": "channel_not_found"}
            [user] = found
        else:
            return {"ok": False, "error": "users_list_not_supplied"}
        already_open = user in self._dms
        # Stable per user, as Slack's DM ids are.
        dm = self._dms.setdefault(user, f"D{user}")
        self._members.add(dm)
        opened: dict[str, Any] = {"id": dm}
        if str(params.get("return_im", "")).lower() in ("true", "1"):
            opened.update({"is_im": True, "user": user, "is_open": True})
        result: Result = {"ok": True, "channel": opened}
        if already_open:
            result.update({"no_op": True, "already_open": True})
        return result

    def _get_upload_url(self, params: Params) -> Result:
        return self._files.get_upload_url(params, self.url)

    def _complete_upload(self, params: Params) -> Result:
        return self._files.complete(params, self._members.__contains__, self._share)

    def _share(self, channel: str, fields: Params) -> str:
        """Post the message a file share shows in ``channel``; return its ts."""
        ts = self._next_ts()
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, **fields, "ts": ts}
        self._messages[(channel, ts)] = message
        return ts

    def _views_publish(self, params: Params) -> Result:
        user_id, view = params.get("user_id"), params.get("view")
        if not isinstance(user_id, str) or not user_id or not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        blocks = view.get("blocks")
        if view.get("type") != "home" or not isinstance(blocks, list):
            return {"ok": False, "error": "invalid_arguments"}
        if len(blocks) > _MAX_VIEW_BLOCKS:
            message = "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"
            return {
                "ok": False,
                "error": "invalid_arguments",
                "response_metadata": {"messages": [message]},
            }
        history = self._home_views.setdefault(user_id, [])
        expected = params.get("hash")
        if expected and history and expected != history[-1]["hash"]:
            # Someone published in between: the caller's view is stale.
            return {"ok": False, "error": "hash_conflict"}
        # A user's Home tab keeps its id across publishes.
        view_id = self._view_ids.setdefault(user_id, f"V{len(self._view_ids) + 1:08d}")
        published = {
            "id": view_id,
            "team_id": self._team_id,
            "type": "home",
            "blocks": blocks,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "app_installed_team_id": self._team_id,
            "bot_id": BOT_ID,
        }
        history.append(published)
        self._changed.notify_all()
        return {"ok": True, "view": published}

    def _oauth_v2_access(self, params: Params) -> Result:
        client_id, client_secret = self.oauth_client
        if params.get("client_id") != client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if params.get("client_secret") != client_secret:
            return {"ok": False, "error": "bad_client_secret"}
        grant_type = params.get("grant_type") or "authorization_code"
        if grant_type == "refresh_token":
            return self._refresh_token(params)
        if grant_type != "authorization_code":
            return {"ok": False, "error": "invalid_grant_type"}
        code = str(params.get("code"))
        installed = self._codes.get(code)
        if installed is None:
            return {"ok": False, "error": "invalid_code"}
        if installed.redirect_uri is not None and params.get("redirect_uri") != (
            installed.redirect_uri
        ):
            return {"ok": False, "error": "bad_redirect_uri"}
        del self._codes[code]  # a code is good for one exchange
        self._installed[installed.bot_token] = installed
        if installed.refresh_token is not None:
            self._refresh[installed.refresh_token] = installed
        return installed.access()

    def _refresh_token(self, params: Params) -> Result:
        """Token rotation: a refresh token (once) for a new bot token and refresh token.

        The old bot token stays valid until it expires, as on Slack.
        """
        old = self._refresh.pop(str(params.get("refresh_token")), None)
        if old is None:
            return {"ok": False, "error": "invalid_refresh_token"}
        n = next(self._rotations)
        rotated = replace(
            old,
            bot_token=f"xoxe.xoxb-rotated-{n}-{old.team_id}",
            refresh_token=f"xoxe-1-refresh-{n}-{old.team_id}",
        )
        self._installed[rotated.bot_token] = rotated
        self._refresh[str(rotated.refresh_token)] = rotated
        self._rotated.append(rotated.bot_token)
        return rotated.access()

    def _views_open(self, params: Params) -> Result:
        result = self._modals.open(params, self._team_of(params.get("_token")))
        self._changed.notify_all()
        return result

    def _views_update(self, params: Params) -> Result:
        result = self._modals.update(params, self._team_of(params.get("_token")))
        self._changed.notify_all()
        return result

    def _team_of(self, token: Any) -> str:
        """The workspace a bot token belongs to: its install's, else the fake's own."""
        installed = self._installed.get(str(token))
        return installed.team_id if installed is not None else self._team_id

    def _connections_open(self, params: Params) -> Result:
        # A fresh ticket per call, like Slack; the socket endpoint accepts only these.
        ticket = secrets.token_urlsafe(16)
        self._tickets.add(ticket)
        host = self.url.removeprefix("http://")
        return {"ok": True, "url": f"ws://{host}{SOCKET_PATH}?ticket={ticket}"}

    # ----- helpers -----------------------------------------------------------------------

    def _next_ts(self) -> str:
        """Unique, increasing message timestamps: 1700000000.000100, .000200, ..."""
        micros = _TS_BASE_MICROS + 100 * next(self._ts_counter)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _calls_to(self, method: str) -> list[SlackCall]:
        return [call for call in self._calls if call.method == method]

    def _home_views_of(self, user_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._home_views.get(user_id, []))

    @staticmethod
    def _shortfall(what: str, wanted: int, got: list[Any]) -> str:
        return f"expected {wanted} {what}(s), got {len(got)}: {got!r}"


async def _read_params(request: web.Request) -> Params:
    """Merge query string, form fields and a JSON object body, as Slack does."""
    params: Params = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError:
                raise _SlackError("invalid_json") from None
            if not isinstance(body, dict):
                raise _SlackError("invalid_json")
            params.update(body)
        elif request.content_type in _FORM_TYPES:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    for field, error in _JSON_FIELDS.items():
        if isinstance(params.get(field), str):
            try:
                params[field] = json.loads(params[field])
            except json.JSONDecodeError:
                raise _SlackError(error) from None
    return params


async def _read_upload(request: web.Request) -> bytes:
    """An upload's bytes: the raw body, or the first file field of a multipart body."""
    if request.content_type == "multipart/form-data":
        form = await request.post()
        for value in form.values():
            if isinstance(value, web.FileField):
                return value.file.read()
        return b""
    return await request.read()


def _basic(request: web.Request) -> dict[str, str]:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return {}
    client_id, _, secret = base64.b64decode(credentials).decode().partition(":")
    return {"client_id": client_id, "client_secret": secret}


def _bearer(request: web.Request) -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials if scheme.lower() == "bearer" and credentials else None


def _slack_error(error: str) -> web.Response:
    # Slack reports method-level failures with HTTP 200 and ok=false.
    return web.json_response({"ok": False, "error": error})


async def _poll(read: Callable[[], list[_T]], n: int, within: float, what: str) -> list[_T]:
    deadline = time.monotonic() + within
    while True:
        items = read()
        if len(items) >= n:
            return items
        if time.monotonic() >= deadline:
            raise TimeoutError(f"expected {n} {what}(s), got {len(items)}: {items!r}")
        await asyncio.sleep(_POLL_INTERVAL)
