"""The one way a listener acks: queue the reply first, then ack.

Queueing first means a full (or stopping) queue is known before the ack, so
the ack itself can say "busy"; and a request that was acked always has its
reply queued, never dropped between the two steps.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck
from slack_bolt.response import BoltResponse

from bot.slack.after_ack import AfterAck, Job
from bot.slack.render.kit import BUSY_TEXT


async def queue_reply_then_ack(ack: AsyncAck, after_ack: AfterAck, reply: Job) -> BoltResponse:
    """Returns the ack's response, which a middleware (unlike a listener) must hand back."""
    if not after_ack.submit(reply):
        return await ack(text=BUSY_TEXT, response_type="ephemeral")
    # The queued reply holds back until the ack has gone (see AfterAck).
    return await ack()
