"""The one way a listener acks: queue the reply first, then ack.

Queueing first means a full (or stopping) queue is known before the ack, so
the ack itself can say "busy"; and a request that was acked always has its
reply queued, never dropped between the two steps.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck

from bot.slack.after_ack import AfterAck, Job
from bot.slack.blocks import BUSY_TEXT


async def queue_reply_then_ack(ack: AsyncAck, after_ack: AfterAck, reply: Job) -> None:
    if not after_ack.submit(reply):
        await ack(text=BUSY_TEXT, response_type="ephemeral")
        return
    # The queued reply holds back until the ack has gone (see AfterAck).
    await ack()
