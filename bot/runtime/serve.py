"""`backup-bot run`: the bot until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.runtime.server import BotServer
from bot.runtime.settings import BotSettings

log = logging.getLogger("bot.runtime.server")


async def serve(settings: BotSettings) -> None:
    """Run until SIGINT or SIGTERM."""
    server = BotServer(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        # Inside the try: a start that fails half-way (the port taken, say) must
        # still close what it opened.
        await server.start()
        await stop.wait()
    finally:
        log.info("shutting down")
        await server.stop()
