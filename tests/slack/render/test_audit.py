"""The reply to `/backups audit`: lines, order, escaping and limits. Pure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.core.audit import AUDIT_SHOWN, AuditAction, AuditEntry, AuditOutcome
from bot.slack.render.audit import audit_list
from bot.slack.render.mrkdwn import date
from tests.slack.render.examples import (
    HOSTILE,
    HOSTILE_ESCAPED,
    NOW,
    assert_inert,
    assert_within_limits,
    everything,
    header_text,
    section_texts,
)

Reply = dict[str, Any]


def entry(minutes_ago: int = 5, **overrides: Any) -> AuditEntry:
    fields: dict[str, Any] = {
        "channel": "C1",
        "user_id": "U123ABC",
        "action": AuditAction.WATCH,
        "target": "dest-1",
        "at": NOW - timedelta(minutes=minutes_ago),
        "detail": "events failed, stuck · remind 1d",
    }
    fields.update(overrides)
    return AuditEntry(**fields)


def lines(reply: Reply) -> list[str]:
    return "\n".join(section_texts(reply)).split("\n")


def test_a_configuration_change_in_one_line() -> None:
    reply = audit_list([entry(120)], NOW)
    assert header_text(reply) == "Audit: this channel"
    (line,) = lines(reply)
    assert line == (
        f"{date(NOW - timedelta(hours=2))} (2h ago) · <@U123ABC> · *watch* `dest-1`"
        " · events failed, stuck · remind 1d"
    )
    assert reply["text"] == "The last 1 recorded action in this channel"
    assert_inert(reply, allowed_mentions=("<@U123ABC>",))


def test_newest_first_whatever_order_they_come_in() -> None:
    entries = [
        entry(30, action=AuditAction.MUTE),
        entry(10, action=AuditAction.START_BACKUP, target="addon orders-db"),
        entry(20, action=AuditAction.ACKNOWLEDGE),
    ]
    shown = lines(audit_list(entries, NOW))
    assert [line.split(" · ")[2].split()[0] for line in shown] == [
        "*start-backup*",
        "*acknowledge*",
        "*mute*",
    ]
    assert "*start-backup* `addon orders-db`" in shown[0]


def test_entries_at_the_same_moment_keep_the_order_given() -> None:
    entries = [entry(0, action=AuditAction.ABORT), entry(0, action=AuditAction.SNOOZE)]
    shown = lines(audit_list(entries, NOW))
    assert "*abort*" in shown[0] and "*snooze*" in shown[1]


def reply_count(reply: Reply) -> int:
    return sum(1 for line in lines(reply) if " · " in line)


def test_a_refused_action_is_marked() -> None:
    refused = entry(action=AuditAction.RETAIN, outcome=AuditOutcome.REFUSED, detail=None)
    (line,) = lines(audit_list([refused], NOW))
    assert line.endswith("· *retain* `dest-1` · :no_entry: refused")


def test_a_failed_action_says_why() -> None:
    failed = entry(
        action=AuditAction.ABORT,
        target="backup nightly",
        outcome=AuditOutcome.FAILED,
        detail="Northflank API error 409: backup already completed",
    )
    (line,) = lines(audit_list([failed], NOW))
    assert line.endswith(
        "· *abort* `backup nightly` · :warning: failed: Northflank API error 409: "
        "backup already completed"
    )
    (bare,) = lines(audit_list([entry(outcome=AuditOutcome.FAILED, detail=None)], NOW))
    assert bare.endswith("`dest-1` · :warning: failed")


def test_an_entry_without_detail_ends_at_its_target() -> None:
    (line,) = lines(audit_list([entry(action=AuditAction.UNMUTE, detail=None)], NOW))
    assert line.endswith("· <@U123ABC> · *unmute* `dest-1`")


@pytest.mark.parametrize("user_id", ["<!channel>", "", "U1", "c0channel"])
def test_a_malformed_user_is_someone(user_id: str) -> None:
    reply = audit_list([entry(user_id=user_id)], NOW)
    assert " · someone · *watch*" in lines(reply)[0]
    assert "<@" not in everything(reply)
    assert_inert(reply)


def test_outside_text_is_escaped_and_cannot_leave_its_code_span() -> None:
    hostile = entry(
        target=f"{HOSTILE} `x` \n\t\x00y",
        detail=HOSTILE,
        outcome=AuditOutcome.FAILED,
    )
    reply = audit_list([hostile, entry(detail=HOSTILE)], NOW)
    assert_inert(reply, allowed_mentions=("<@U123ABC>",))
    text = everything(reply)
    assert f"`{HOSTILE_ESCAPED} 'x' y`" in text
    assert f":warning: failed: {HOSTILE_ESCAPED}" in text


def test_an_empty_target_is_a_dash() -> None:
    (line,) = lines(audit_list([entry(target=" \n", detail=None)], NOW))
    assert line.endswith("*watch* -")


def test_nothing_recorded_says_what_would_be() -> None:
    reply = audit_list([], NOW)
    (section,) = section_texts(reply)
    assert section.startswith("Nothing has been recorded in this channel yet.")
    for recorded in ("watches", "mutes", "acknowledges", "*Retain*", "*Start backup*", "*Abort*"):
        assert recorded in section
    assert "refused ones included" in section
    assert reply["text"] == "Nothing has been recorded in this channel yet."


def test_the_most_shown_of_the_longest_entries_fit_slack() -> None:
    longest = [
        entry(
            i,
            user_id="U" + "A" * 20,
            action=AuditAction.START_BACKUP,
            target="&" * 1000,
            detail="<" * 1000,
            outcome=AuditOutcome.FAILED if i % 2 else AuditOutcome.REFUSED,
        )
        for i in range(AUDIT_SHOWN + 5)
    ]
    reply = audit_list(longest, NOW)
    assert reply_count(reply) == AUDIT_SHOWN
    assert len(section_texts(reply)) > 1  # too long for one section: packed into several
    assert_within_limits(reply, total=12_000)
    assert_inert(reply, allowed_mentions=("<@U" + "A" * 20 + ">",))
    # The newest AUDIT_SHOWN are the ones kept.
    assert f"{date(NOW)} (now)" in lines(reply)[0]
    assert date(NOW - timedelta(minutes=AUDIT_SHOWN)) not in everything(reply)
