"""How one poll's alerts for one channel are grouped into messages. Pure.

Alerts that arrive together are read together: one message per group, not
one per alert, and not one message for two hundred either. A group holds at
most MAX_ALERTS_PER_MESSAGE alerts because each alert shown in Slack carries
its buttons, and the write buttons their confirm dialogs: about 2,250
characters of JSON for a worst-case alert (300-character names of `&`,
every field filled, acknowledged and snoozed lines, every button it can
show). Four of them, with the header and context, measure about 9,600
characters; five would be about 11,800, too close to the ~13k at which Slack
refuses a message. Four ordinary alerts with buttons measure about 6,200.
tests/slack/test_alert_message.py holds the Slack renderer to that bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

MAX_ALERTS_PER_MESSAGE = 4

ItemT = TypeVar("ItemT")


def group_for_digest(alerts: Sequence[ItemT]) -> list[list[ItemT]]:
    """One poll's alerts for one channel, as messages of at most MAX_ALERTS_PER_MESSAGE.

    The groups are as even as they can be (with at most 4 a message, 9 alerts
    make 3, 3 and 3, not 4, 4 and 1), so no message is a lone straggler; the
    order is kept.
    """
    if not alerts:
        return []
    count = -(-len(alerts) // MAX_ALERTS_PER_MESSAGE)
    size, extra = divmod(len(alerts), count)
    groups: list[list[ItemT]] = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        groups.append(list(alerts[start:end]))
        start = end
    return groups
