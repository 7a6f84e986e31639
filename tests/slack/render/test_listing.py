"""Rendering: Block Kit shape, limits and escaping. Pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.backups import Backup, BackupStatus, Destination, Ref
from bot.core.listing import MAX_LIMIT, NO_FILTER, BackupFilter, ListingPage, Position
from bot.slack.render import listing

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DEST = Destination(id="dest-1", name="Primary")


def make_backup(index: int, **overrides: Any) -> Backup:
    fields: dict[str, Any] = {
        "id": f"b{index}",
        "name": f"backup-{index}",
        "status": BackupStatus.COMPLETED,
        "status_text": "completed",
        "created_at": NOW - timedelta(hours=index),
        "completed_at": NOW - timedelta(hours=index) + timedelta(minutes=3, seconds=20),
        "expires_at": NOW + timedelta(days=3, hours=4),
        "size_bytes": 5 * 1024**3,
        "project": Ref("p1", "shop"),
        "addon": Ref("a1", "orders-db"),
        "addon_type": "postgresql",
        "addon_version": "16.2",
    }
    fields.update(overrides)
    return Backup(**fields)


def render(page: ListingPage, backup_filter: BackupFilter = NO_FILTER) -> dict[str, Any]:
    return listing.listing(page, backup_filter=backup_filter, limit=10, now=NOW)


def all_text(reply: dict[str, Any]) -> str:
    return json.dumps(reply["blocks"], ensure_ascii=False)


def test_listing_row_has_every_part() -> None:
    page = ListingPage(DEST, (make_backup(1),), Position("cur", 0), scanned=1)
    reply = render(page)
    header, row, context, actions = reply["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Backups in Primary"},
    }
    text = row["text"]["text"]
    assert ":white_check_mark: *completed*" in text
    assert "backup-1" in text
    assert "addon *orders-db* (postgresql 16.2)" in text
    assert "project *shop*" in text
    assert "5.0 GiB" in text
    created = int((NOW - timedelta(hours=1)).timestamp())
    assert f"<!date^{created}^{{date_short_pretty}} {{time}}|2026-01-01 11:00 UTC>" in text
    assert "took 3m 20s" in text
    assert "expires in 3d 4h" in text
    assert "newest first" in context["elements"][0]["text"]
    (button,) = actions["elements"]
    assert button["action_id"] == listing.NEXT_PAGE_ACTION
    assert json.loads(button["value"]) == {
        "d": "dest-1",
        "c": "cur",
        "k": 0,
        "s": [],
        "a": None,
        "l": 10,
    }


def test_unfinished_unknown_and_expired() -> None:
    backup = make_backup(
        1,
        status=BackupStatus.UNKNOWN,
        status_text="verifying",
        completed_at=None,
        expires_at=NOW - timedelta(hours=2),
        size_bytes=None,
    )
    text = render(ListingPage(DEST, (backup,), None, 1))["blocks"][1]["text"]["text"]
    assert ":grey_question: *verifying*" in text
    assert "not finished" in text
    assert "expired 2h ago" in text
    assert "?" in text


def test_last_page_has_no_button() -> None:
    reply = render(ListingPage(DEST, (make_backup(1),), None, 1))
    assert [b["type"] for b in reply["blocks"]] == ["header", "section", "context"]


def test_empty_destination_and_empty_filter() -> None:
    empty = render(ListingPage(DEST, (), None, 0))
    assert "no backups yet" in empty["blocks"][1]["text"]["text"]
    failed_only = BackupFilter(frozenset({"failed"}))
    capped = render(ListingPage(DEST, (), Position("c"), 2000, scan_capped=True), failed_only)
    text = all_text(capped)
    assert "No backups match status=failed in the newest 2,000 backups" in text
    assert "Next page" in text


def test_api_text_is_escaped_everywhere() -> None:
    hostile = "<!channel> <@U123> <https://evil|click> & co"
    backup = make_backup(
        1,
        name=hostile,
        status=BackupStatus.UNKNOWN,
        status_text="<!here>",
        addon=Ref("a", hostile),
        project=Ref("p", hostile),
        addon_type="<!everyone>",
    )
    reply = render(ListingPage(Destination("d", hostile), (backup,), None, 1))
    mrkdwn = [reply["blocks"][1]["text"]["text"], reply["text"]]
    for text in mrkdwn:
        assert "<!" not in text.replace("<!date^", "")
        assert "<@" not in text and "<https" not in text
    assert "&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil|click&gt; &amp; co" in mrkdwn[0]


def test_a_full_page_of_long_names_stays_within_block_kit_limits() -> None:
    backups = tuple(
        make_backup(i, name="n" * 5000, addon=Ref("a", "a" * 500), project=Ref("p", "p" * 500))
        for i in range(MAX_LIMIT)
    )
    page = ListingPage(Destination("d", "D" * 400), backups, Position("c" * 1500, 3), MAX_LIMIT)
    reply = listing.listing(page, backup_filter=BackupFilter(), limit=MAX_LIMIT, now=NOW)
    assert len(reply["blocks"]) <= 50
    assert len(reply["blocks"][0]["text"]["text"]) <= 150
    for block in reply["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
    assert len(all_text(reply)) < 12_000


def test_an_oversized_cursor_drops_the_button_rather_than_break_the_message() -> None:
    assert listing.next_page_value("d", Position("c" * 3000), BackupFilter(), 10) is None
    reply = render(ListingPage(DEST, (make_backup(1),), Position("c" * 3000), 1))
    assert all(b["type"] != "actions" for b in reply["blocks"])
    assert "more backups exist; narrow the list" in all_text(reply)


def test_destinations_listing() -> None:
    reply = listing.destinations([Destination("d1", "Primary", "s3"), Destination("d2", "<!here>")])
    text = all_text(reply)
    assert "*Primary*  `d1`  _s3_" in text
    assert "&lt;!here&gt;" in text and "<!here>" not in text


def test_many_destinations_are_chunked_within_section_limits() -> None:
    reply = listing.destinations([Destination(f"d{i}", "x" * 150) for i in range(100)])
    assert len(reply["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in reply["blocks"] if b["type"] == "section")
    assert "…and 60 more." in all_text(reply)


def test_no_destinations_explains_what_to_do() -> None:
    assert "can't see any backup destinations" in listing.destinations([])["text"]
