from __future__ import annotations

from datetime import UTC, datetime

from bot.slack.render import mrkdwn


def test_escape_only_the_three_control_characters() -> None:
    assert mrkdwn.escape("a & b <!channel> *bold*") == "a &amp; b &lt;!channel&gt; *bold*"


def test_code_span_cannot_be_broken_out_of() -> None:
    assert mrkdwn.code("a`b<c>\n") == "`a'b&lt;c&gt;`"
    assert mrkdwn.code("x" * 100, limit=10) == "`xxxxxxxxx…`"


def test_date_token_has_a_utc_fallback() -> None:
    moment = datetime(2024, 10, 18, 6, 20, tzinfo=UTC)
    assert mrkdwn.date(moment) == (
        "<!date^1729232400^{date_short_pretty} {time}|2024-10-18 06:20 UTC>"
    )
    assert mrkdwn.date(None) == "-"


def test_only_a_well_formed_user_id_becomes_a_mention() -> None:
    assert mrkdwn.mention("U012ABCDEF") == "<@U012ABCDEF>"
    assert mrkdwn.mention("W0ENTERPRISE") == "<@W0ENTERPRISE>"
    for disguised in ("!channel", "U1|x", "u012abc", "U012ABC> <!here", "", "C0CHANNEL"):
        assert mrkdwn.mention(disguised) is None, disguised
