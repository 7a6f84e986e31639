"""Run an aiohttp application on 127.0.0.1 in a background thread.

Each fake owns a private event loop in a daemon thread. That keeps the fake independent of
whoever talks to it: sync tests, async tests on any pytest-asyncio loop, and subprocesses can
all reach it over real TCP, and a test that blocks its own loop cannot stall the server.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

from aiohttp import web

# Generous enough for a loaded CI machine; starting or stopping never legitimately takes long.
_CONTROL_TIMEOUT = 10.0


class BackgroundServer(ABC):
    """Base class: subclasses provide the routes, this class provides the lifecycle."""

    def __init__(self, *, host: str = "127.0.0.1", shutdown_timeout: float = 0.5) -> None:
        self._host = host
        # Short on purpose: a handler parked in a "timeout" fault must not hold up stop().
        self._shutdown_timeout = shutdown_timeout
        # One lock guards all mutable state of a fake; the loop thread and the test thread
        # both take it. Subclasses build their Conditions on top of it.
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    @abstractmethod
    def build_app(self) -> web.Application:
        """Return the application to serve; called once per start()."""

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:54321``."""
        if self._url is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() first")
        return self._url

    @property
    def running(self) -> bool:
        return self._url is not None

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=self._run_loop, args=(loop,), name=f"{type(self).__name__}-loop", daemon=True
        )
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            port = asyncio.run_coroutine_threadsafe(self._open(), loop).result(_CONTROL_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        self._url = f"http://{self._host}:{port}"
        return self

    def stop(self) -> None:
        """Close the listener, cancel in-flight handlers and join the thread. Idempotent."""
        loop, thread, runner = self._loop, self._thread, self._runner
        self._loop = self._thread = self._runner = None
        self._url = None
        if loop is None or thread is None:
            return
        if runner is not None:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(_CONTROL_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_CONTROL_TIMEOUT)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _open(self) -> int:
        runner = web.AppRunner(
            self.build_app(),
            access_log=None,
            # Cancel a handler when its client goes away, so a client that timed out on a
            # "timeout" fault does not leave a sleeping handler behind.
            handler_cancellation=True,
            shutdown_timeout=self._shutdown_timeout,
        )
        await runner.setup()
        self._runner = runner
        # Port 0: the OS picks a free port, so parallel test runs never collide.
        await web.TCPSite(runner, self._host, 0).start()
        port: int = runner.addresses[0][1]
        return port

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            # Anything still pending (a sleeping fault, say) is cancelled and awaited so the
            # loop closes without "Task was destroyed but it is pending" noise.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


def headers_without_auth(request: web.Request) -> dict[str, str]:
    """Request headers for recording: credentials must never end up in test output."""
    return {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
