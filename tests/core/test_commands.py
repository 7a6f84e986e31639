"""Slash-command text: every form, and every way it can be wrong."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest

from bot.core.command_parser import parse
from bot.core.commands import (
    AUDIT_USAGE,
    LIST_USAGE,
    MUTE_USAGE,
    UNMUTE_USAGE,
    UNWATCH_USAGE,
    VERBS,
    WATCH_USAGE,
    WATCH_VERBS,
    WATCHING_USAGE,
    AuditCommand,
    CommandError,
    DestinationsCommand,
    HelpCommand,
    ListCommand,
    MuteCommand,
    ReportCommand,
    UnmuteCommand,
    UnwatchCommand,
    WatchCommand,
    WatchingCommand,
)
from bot.core.durations import (
    EXPIRY_RANGE,
    MUTE_RANGE,
    REMIND_RANGE,
    STUCK_RANGE,
    DurationRange,
    format_duration,
)
from bot.core.listing import DEFAULT_LIMIT, BackupFilter
from bot.core.quiet_hours import QuietHours, QuietHoursError, parse_quiet_hours
from bot.core.watches import (
    DEFAULT_EXPIRY,
    DEFAULT_REMIND,
    DEFAULT_STUCK,
    WATCHABLE_EVENTS,
    Event,
    WatchSettings,
)
from bot.slack.render.help import HELP_TEXT
from tests.strings import shown_in_slack


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", "?", "--help"])
def test_help(text: str) -> None:
    assert parse(text) == HelpCommand()


def test_destinations() -> None:
    assert parse("destinations") == DestinationsCommand()


def test_list_with_everything() -> None:
    command = parse("list dest-1 status=failed,Aborted addon=orders-db limit=20")
    assert command == ListCommand(
        "dest-1", BackupFilter(frozenset({"failed", "aborted"}), "orders-db"), 20
    )


def test_list_defaults_and_no_destination() -> None:
    assert parse("list") == ListCommand(None, BackupFilter(), DEFAULT_LIMIT)


def test_repeated_status_options_add_up() -> None:
    command = parse("list d status=failed status=aborted")
    assert isinstance(command, ListCommand)
    assert command.backup_filter.statuses == {"failed", "aborted"}


def test_quoted_names_and_curly_quotes() -> None:
    command = parse("list “Nightly backups” addon='orders db'")
    assert isinstance(command, ListCommand)
    assert command.destination == "Nightly backups"
    assert command.backup_filter.addon == "orders db"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("frobnicate", "I don't know the command `frobnicate`"),
        ("frobnicate", "watch, unwatch, watching, mute, unmute, audit and report"),
        ("destinations extra", "takes no arguments"),
        ("list a b", "takes one destination"),
        ("list d colour=red", "has no option `colour`"),
        ("list d status=", "needs one or more of"),
        ("list d status=faild", "I don't know the status `faild`"),
        ("list d limit=0", "from 1 to 20"),
        ("list d limit=21", "from 1 to 20"),
        ("list d limit=ten", "from 1 to 20"),
        ("list d limit=-3", "from 1 to 20"),
        ('list "unclosed', "quote in that command is not closed"),
        ("list d addon=", "addon name or id"),
        ("list " + "x" * 101, "doesn't look like a destination"),
        ("list " + "x" * 101, LIST_USAGE),
        ("x" * 1001, "I read at most 1,000"),
    ],
)
def test_malformed_text_gets_a_specific_answer(text: str, fragment: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse(text)
    assert fragment in str(caught.value)


def test_echoed_text_cannot_inject_mentions_or_break_code_spans() -> None:
    with pytest.raises(CommandError) as caught:
        parse("list d <!channel>`x=1")
    message = shown_in_slack(str(caught.value))
    assert "<!channel>" not in message
    assert "&lt;!channel&gt;'x" in message


def _error(text: str) -> str:
    with pytest.raises(CommandError) as caught:
        parse(text)
    return str(caught.value)


ALL_WATCHABLE = frozenset(WATCHABLE_EVENTS)


# watch


def test_watch_with_no_options_takes_the_defaults() -> None:
    assert parse("watch dest-1") == WatchCommand("dest-1", WatchSettings(), given=frozenset())


def test_watch_defaults_are_every_watchable_event() -> None:
    command = parse("watch dest-1")
    assert isinstance(command, WatchCommand)
    assert command.settings.events == ALL_WATCHABLE
    assert command.settings.expiry == timedelta(hours=72)
    assert command.settings.stuck == timedelta(hours=6)
    assert command.settings.remind == timedelta(hours=24)
    assert command.settings.quiet is None


def test_watch_with_everything() -> None:
    command = parse("watch dest-1 events=failed,stuck expiry=1d12h stuck=90m")
    assert command == WatchCommand(
        "dest-1",
        WatchSettings(
            events=frozenset({Event.FAILED, Event.STUCK}),
            expiry=timedelta(hours=36),
            stuck=timedelta(minutes=90),
        ),
        given=frozenset({"events", "expiry", "stuck"}),
    )


def test_watch_an_events_subset_leaves_the_durations_at_their_defaults() -> None:
    command = parse("watch dest-1 events=expiring")
    assert command == WatchCommand(
        "dest-1", WatchSettings(events=frozenset({Event.EXPIRING})), given=frozenset({"events"})
    )


@pytest.mark.parametrize("value", ["all", "ALL", "failed,all", "all,aborted"])
def test_watch_events_all(value: str) -> None:
    command = parse(f"watch dest-1 events={value}")
    assert command == WatchCommand(
        "dest-1", WatchSettings(events=ALL_WATCHABLE), given=frozenset({"events"})
    )


def test_watch_events_given_even_when_they_match_the_default() -> None:
    command = parse("watch dest-1 events=failed,aborted,expiring,stuck,missed,anomaly")
    assert isinstance(command, WatchCommand)
    assert "events" in command.given
    assert command.settings.events == ALL_WATCHABLE


def test_watch_options_and_values_ignore_case() -> None:
    command = parse("WATCH dest-1 Events=Failed,ABORTED EXPIRY=2D Stuck=3H")
    assert command == WatchCommand(
        "dest-1",
        WatchSettings(
            events=frozenset({Event.FAILED, Event.ABORTED}),
            expiry=timedelta(days=2),
            stuck=timedelta(hours=3),
        ),
        given=frozenset({"events", "expiry", "stuck"}),
    )


def test_watch_keeps_the_case_of_the_destination() -> None:
    command = parse("watch Orders-Backups")
    assert isinstance(command, WatchCommand)
    assert command.destination == "Orders-Backups"


def test_watch_destination_may_come_after_the_options() -> None:
    command = parse("watch stuck=2h dest-1")
    assert isinstance(command, WatchCommand)
    assert command.destination == "dest-1"
    assert command.settings.stuck == timedelta(hours=2)


@pytest.mark.parametrize(
    "text",
    ['watch "Nightly backups" events=failed', "watch “Nightly backups” events=failed"],
)
def test_watch_quoted_names_with_spaces_and_curly_quotes(text: str) -> None:
    command = parse(text)
    assert isinstance(command, WatchCommand)
    assert command.destination == "Nightly backups"
    assert command.settings.events == {Event.FAILED}


def test_watch_durations_at_the_edges_of_their_ranges() -> None:
    shortest = parse("watch d expiry=1h stuck=10m")
    longest = parse("watch d expiry=90d stuck=30d")
    assert isinstance(shortest, WatchCommand) and isinstance(longest, WatchCommand)
    assert (shortest.settings.expiry, shortest.settings.stuck) == (
        timedelta(hours=1),
        timedelta(minutes=10),
    )
    assert (longest.settings.expiry, longest.settings.stuck) == (
        timedelta(days=90),
        timedelta(days=30),
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("watch", "`watch` needs a destination"),
        ("watch events=failed", "`watch` needs a destination"),
        ("watch a b", "`watch` takes one destination, and I got two: `a` and `b`"),
        ("watch Nightly backups", "Put names with spaces in quotes"),
        ("watch d colour=red", "`watch` has no option `colour`"),
        (
            "watch d colour=red",
            "It takes events=, expiry=, stuck=, remind=, quiet= (with tz=) and report=",
        ),
        ("watch d =red", "`watch` has no option `=red`"),
        ("watch d status=failed", "`watch` has no option `status`"),
        ("watch d events=failed events=aborted", "`events=` is there twice"),
        ("watch d expiry=1h EXPIRY=2h", "`expiry=` is there twice"),
        ("watch d stuck=1h stuck=1h", "`stuck=` is there twice"),
        ("watch d events=", "`events=` needs one or more of"),
        ("watch d events=,", "`events=` needs one or more of"),
        ("watch d events=faild", "I don't know the event `faild`"),
        ("watch d events=faild", "failed, aborted, expiring, stuck, missed, anomaly, or all"),
        ("watch d events=all,faild", "I don't know the event `faild`"),
        ("watch d events=recovered", "It can't be chosen"),
        ("watch d events=northflank-problem", "It can't be chosen"),
        ("watch d events=failed, aborted", "Write the events without spaces"),
        ("watch d expiry=", "`expiry=`: A duration is needed"),
        ("watch d expiry=72", "`expiry=`: `72` has no unit"),
        ("watch d expiry=3q", "I don't know the unit `q`"),
        ("watch d expiry=59m", "`expiry=` takes from 1h to 90d, and `59m` is too short"),
        ("watch d expiry=91d", "`expiry=` takes from 1h to 90d, and `91d` is too long"),
        ("watch d stuck=9m", "`stuck=` takes from 10m to 30d, and `9m` is too short"),
        ("watch d stuck=31d", "`stuck=` takes from 10m to 30d, and `31d` is too long"),
        ("watch d stuck=0m", "`stuck=`: A duration must be longer than zero"),
        ("watch d stuck=-1h", "`stuck=`: A duration can't be negative"),
        ("watch " + "x" * 101, "doesn't look like a destination"),
    ],
)
def test_watch_errors(text: str, fragment: str) -> None:
    message = _error(text)
    assert fragment in message
    assert WATCH_USAGE in message


def test_watch_usage_lists_every_watchable_event() -> None:
    assert ",".join(event.value for event in WATCHABLE_EVENTS) in WATCH_USAGE


def test_watch_errors_escape_what_was_typed() -> None:
    message = shown_in_slack(_error("watch d events=<!here>`"))
    assert "<!here>" not in message
    assert "`&lt;!here&gt;'`" in message


def test_watch_duration_errors_escape_what_was_typed() -> None:
    message = shown_in_slack(_error("watch d expiry=<!here>"))
    assert "<!here>" not in message
    message = _error("watch d stuck=1m<@U1>")
    assert "<@U1>" not in message


def test_watch_usage_forms_all_parse() -> None:
    # Each [option] of the usage, and each side of a `|`, is a form the parser takes.
    for group in re.findall(r"\[([^]]*)\]", WATCH_USAGE):
        key, _, values = group.partition("=")
        for value in values.split("|"):
            assert isinstance(parse(f"watch d {key}={value}"), WatchCommand), group


# watch: remind=


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("24h", timedelta(hours=24)),
        ("2D", timedelta(days=2)),
        ("1d12h", timedelta(hours=36)),
        ("1h", REMIND_RANGE.shortest),
        ("30d", REMIND_RANGE.longest),
    ],
)
def test_watch_remind(value: str, expected: timedelta) -> None:
    command = parse(f"watch dest-1 remind={value}")
    assert command == WatchCommand(
        "dest-1", WatchSettings(remind=expected), given=frozenset({"remind"})
    )


@pytest.mark.parametrize("value", ["off", "OFF", "Off", "never", "NEVER", "none", "None"])
def test_watch_remind_off_means_never(value: str) -> None:
    command = parse(f"watch dest-1 REMIND={value}")
    assert command == WatchCommand(
        "dest-1", WatchSettings(remind=None), given=frozenset({"remind"})
    )


def test_watch_remind_given_even_when_it_matches_the_default() -> None:
    command = parse(f"watch dest-1 remind={format_duration(DEFAULT_REMIND)}")
    assert isinstance(command, WatchCommand)
    assert command.given == {"remind"}
    assert command.settings.remind == DEFAULT_REMIND


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("watch d remind=10m", "`remind=` takes from 1h to 30d or `off` (never), and `10m` is"),
        ("watch d remind=10m", "too short"),
        ("watch d remind=59m", "and `59m` is too short"),
        ("watch d remind=31d", "`remind=` takes from 1h to 30d or `off` (never), and `31d` is"),
        ("watch d remind=31d", "too long"),
        ("watch d remind=99999999w", "and `99999999w` is too long"),
        ("watch d remind=", "`remind=`: A duration is needed"),
        ("watch d remind=", "It takes from 1h to 30d or `off` (never)"),
        ("watch d remind=24", "`remind=`: `24` has no unit"),
        ("watch d remind=daily", "`remind=`: I can't read that as a duration"),
        ("watch d remind=1.5h", "Use whole numbers"),
        ("watch d remind=0", "To never remind, write `remind=off`"),
        ("watch d remind=0h", "To never remind, write `remind=off`"),
        ("watch d remind=00m", "otherwise `remind=` takes from 1h to 30d"),
        ("watch d remind=1h remind=2h", "`remind=` is there twice"),
        ("watch d remind=off Remind=off", "`remind=` is there twice"),
    ],
)
def test_watch_remind_errors(text: str, fragment: str) -> None:
    message = _error(text)
    assert fragment in message
    assert WATCH_USAGE in message


# watch: quiet= and tz=


BERLIN_NIGHTS = QuietHours(start=time(22), end=time(7), timezone="Europe/Berlin")


@pytest.mark.parametrize(
    "text",
    [
        "watch dest-1 quiet=22:00-07:00 tz=Europe/Berlin",
        "watch dest-1 TZ=europe/berlin Quiet=22-07",
        "watch tz=Europe/Berlin dest-1 quiet=22.00–07.00",
        "watch dest-1 “quiet=22:00 - 07:00” tz=Europe/Berlin",
    ],
)
def test_watch_quiet_hours(text: str) -> None:
    assert parse(text) == WatchCommand(
        "dest-1", WatchSettings(quiet=BERLIN_NIGHTS), given=frozenset({"quiet"})
    )


def test_watch_quiet_hours_without_a_zone_are_utc() -> None:
    command = parse("watch dest-1 quiet=9:30-17:00")
    assert isinstance(command, WatchCommand)
    assert command.settings.quiet == QuietHours(start=time(9, 30), end=time(17), timezone="UTC")


@pytest.mark.parametrize("text", ["watch dest-1 quiet=off", "watch dest-1 QUIET=Off"])
def test_watch_quiet_off_removes_them(text: str) -> None:
    assert parse(text) == WatchCommand(
        "dest-1", WatchSettings(quiet=None), given=frozenset({"quiet"})
    )


def test_watch_given_records_remind_and_quiet_but_not_tz() -> None:
    command = parse("watch dest-1 remind=2h quiet=22-07 tz=UTC")
    assert isinstance(command, WatchCommand)
    assert command.given == {"remind", "quiet"}


@pytest.mark.parametrize(
    ("window", "timezone"),
    [
        ("", None),
        ("nonsense", None),
        ("22", None),
        ("25-07", None),
        ("22:61-07:00", None),
        ("10pm-7am", None),
        ("22-22", None),
        ("22-07", "Berlin"),
        ("22-07", "+02:00"),
        ("22-07", "Mars/Olympus_Mons"),
    ],
)
def test_watch_quiet_errors_are_the_quiet_hours_explanation_with_the_usage(
    window: str, timezone: str | None
) -> None:
    with pytest.raises(QuietHoursError) as explained:
        parse_quiet_hours(window, timezone)
    zone = "" if timezone is None else f" tz={timezone}"
    assert _error(f"watch d quiet={window}{zone}") == f"{explained.value} Usage: `{WATCH_USAGE}`"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("watch d tz=Europe/Berlin", "`tz=` sets the time zone of `quiet=`; give both, like "),
        ("watch d tz=Europe/Berlin", "`quiet=22:00-07:00 tz=Europe/Berlin`"),
        ("watch d remind=2h tz=UTC", "`tz=` sets the time zone of `quiet=`"),
        ("watch d tz=", "`tz=` sets the time zone of `quiet=`"),
        ("watch d quiet=22-07 tz=", "`tz=` needs a time zone"),
        ("watch d quiet=22-07 tz=' '", "`tz=` needs a time zone"),
        ("watch d quiet=22-07 quiet=23-06", "`quiet=` is there twice"),
        ("watch d quiet=22-07 tz=UTC TZ=UTC", "`tz=` is there twice"),
        ("watch d quiet=22:00 - 07:00", "Write quiet hours without spaces"),
        ("watch d quiet=22:00 -07:00", "Write quiet hours without spaces"),
        ("watch d quiet=22:00- 07:00", "Write quiet hours without spaces"),
        ("watch d quiet=22:00 – 07:00", "Write quiet hours without spaces"),
        ("watch quiet=22 - 7 d", "Write quiet hours without spaces"),
    ],
)
def test_watch_quiet_and_tz_errors(text: str, fragment: str) -> None:
    message = _error(text)
    assert fragment in message
    assert WATCH_USAGE in message


def test_watch_a_dashed_destination_after_quiet_hours_is_a_destination() -> None:
    command = parse("watch quiet=22-07 -nightly")
    assert isinstance(command, WatchCommand)
    assert command.destination == "-nightly"


@pytest.mark.parametrize(
    ("text", "hostile", "escaped"),
    [
        ("watch d remind=<!channel>", "<!channel>", None),
        ("watch d remind=1h<@U1>", "<@U1>", None),
        ("watch d quiet=<!here>", "<!here>", "`&lt;!here&gt;`"),
        ("watch d quiet=22-07 tz=<!channel>", "<!channel>", "`&lt;!channel&gt;`"),
        ("watch d quiet=22-07 tz=<@U1>`x", "<@U1>", "`&lt;@U1&gt;'x`"),
    ],
)
def test_remind_and_quiet_errors_escape_what_was_typed(
    text: str, hostile: str, escaped: str | None
) -> None:
    message = shown_in_slack(_error(text))
    assert hostile not in message
    if escaped is not None:
        assert escaped in message


# unwatch, unmute


@pytest.mark.parametrize(
    ("verb", "command_type"), [("unwatch", UnwatchCommand), ("unmute", UnmuteCommand)]
)
def test_unwatch_and_unmute(verb: str, command_type: type) -> None:
    assert parse(f"{verb} dest-1") == command_type("dest-1")
    assert parse(f"{verb.upper()} “Nightly backups”") == command_type("Nightly backups")


@pytest.mark.parametrize(
    ("text", "fragment", "usage"),
    [
        ("unwatch", "`unwatch` needs a destination", UNWATCH_USAGE),
        ("unwatch a b", "`unwatch` takes just one destination", UNWATCH_USAGE),
        ("unwatch Nightly backups", "put names with spaces in quotes", UNWATCH_USAGE),
        ("unwatch " + "x" * 101, "doesn't look like a destination", UNWATCH_USAGE),
        ("unmute", "`unmute` needs a destination", UNMUTE_USAGE),
        ("unmute a 8h", "`unmute` takes just one destination", UNMUTE_USAGE),
        ("unmute " + "x" * 101, "doesn't look like a destination", UNMUTE_USAGE),
    ],
)
def test_unwatch_and_unmute_errors(text: str, fragment: str, usage: str) -> None:
    message = _error(text)
    assert fragment in message
    assert usage in message


# watching


def test_watching() -> None:
    assert parse("watching") == WatchingCommand()
    assert parse("  Watching ") == WatchingCommand()


def test_watching_takes_no_arguments() -> None:
    message = _error("watching dest-1")
    assert "takes no arguments" in message
    assert WATCHING_USAGE in message


# audit


def test_audit() -> None:
    assert parse("audit") == AuditCommand()
    assert parse("  AUDIT ") == AuditCommand()


@pytest.mark.parametrize("text", ["audit extra", "audit dest-1", "audit limit=5"])
def test_audit_takes_no_arguments(text: str) -> None:
    message = _error(text)
    assert message == f"`{AUDIT_USAGE}` takes no arguments."


def test_audit_is_a_command_that_changes_nothing() -> None:
    assert "audit" in VERBS
    assert "audit" not in WATCH_VERBS


# mute


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mute dest-1 8h", MuteCommand("dest-1", timedelta(hours=8))),
        ("mute dest-1 1H30M", MuteCommand("dest-1", timedelta(minutes=90))),
        ("MUTE dest-1 1m", MuteCommand("dest-1", timedelta(minutes=1))),
        ("mute dest-1 30d", MuteCommand("dest-1", timedelta(days=30))),
        ('mute "Nightly backups" 2d', MuteCommand("Nightly backups", timedelta(days=2))),
        ("mute ‘Nightly backups’ 1w", MuteCommand("Nightly backups", timedelta(weeks=1))),
        ("mute dest-1 '1h 30m'", MuteCommand("dest-1", timedelta(minutes=90))),
    ],
)
def test_mute(text: str, expected: MuteCommand) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("mute", "`mute` needs a destination and how long"),
        ("mute 8h", "Which destination should be muted for `8h`?"),
        ("mute dest-1", "How long should `dest-1` be muted?"),
        ("mute dest-1", "(from 1m to 30d)"),
        ("mute 8h dest-1", "Put the destination first and the duration second"),
        ("mute dest-1 for 8h", "Leave out `for`"),
        ("mute Nightly backups 8h", "put names with spaces in quotes"),
        ("mute dest-1 8", "`mute`: `8` has no unit"),
        ("mute dest-1 30s", "The smallest unit is minutes"),
        ("mute dest-1 forever", "can't read that as a duration"),
        ("mute dest-1 31d", "`mute` takes from 1m to 30d, and `31d` is too long"),
        ("mute dest-1 0m", "longer than zero"),
        ("mute " + "x" * 101 + " 8h", "doesn't look like a destination"),
    ],
)
def test_mute_errors(text: str, fragment: str) -> None:
    message = _error(text)
    assert fragment in message
    assert MUTE_USAGE in message


def test_mute_errors_escape_what_was_typed() -> None:
    message = _error("mute <!channel> <@U123>")
    assert "<!channel>" not in message
    assert "<@U123>" not in message


# across the commands


def test_watch_verbs_are_the_commands_that_change_configuration() -> None:
    assert {"watch", "unwatch", "mute", "unmute"} == WATCH_VERBS
    assert set(VERBS) >= WATCH_VERBS


def test_help_text_documents_every_command() -> None:
    for verb in VERBS:
        assert f"`/backups {verb}" in HELP_TEXT


def test_every_example_in_the_help_text_parses() -> None:
    examples = re.findall(r"`/backups ([^`]*)`", HELP_TEXT)
    assert len(examples) >= len(VERBS)
    for example in examples:
        parse(example)  # raises CommandError if the help shows a form we refuse


def _span(bounds: DurationRange) -> str:
    return f"{format_duration(bounds.shortest)} to {format_duration(bounds.longest)}"


def test_help_text_states_the_ranges_and_defaults_the_parser_uses() -> None:
    assert f"({_span(EXPIRY_RANGE)}, default {format_duration(DEFAULT_EXPIRY)})" in HELP_TEXT
    assert f"({_span(STUCK_RANGE)}, default {format_duration(DEFAULT_STUCK)})" in HELP_TEXT
    assert f"({_span(MUTE_RANGE)})" in HELP_TEXT
    assert f"(default {format_duration(DEFAULT_REMIND)})" in HELP_TEXT


def test_rewatching_changes_only_the_options_typed() -> None:
    current = WatchSettings(
        events=frozenset({Event.FAILED}), expiry=timedelta(days=5), stuck=timedelta(hours=2)
    )
    command = parse("watch dest-1 stuck=4h")
    assert isinstance(command, WatchCommand)
    assert command.applied_to(current) == WatchSettings(
        events=frozenset({Event.FAILED}), expiry=timedelta(days=5), stuck=timedelta(hours=4)
    )
    bare = parse("watch dest-1")
    assert isinstance(bare, WatchCommand) and bare.applied_to(current) == current


CHOSEN = WatchSettings(
    events=frozenset({Event.FAILED}),
    expiry=timedelta(days=5),
    stuck=timedelta(hours=2),
    remind=timedelta(hours=8),
    quiet=BERLIN_NIGHTS,
)


def _rewatched(text: str) -> WatchSettings:
    command = parse(text)
    assert isinstance(command, WatchCommand)
    return command.applied_to(CHOSEN)


def test_rewatching_without_remind_or_quiet_keeps_the_channels() -> None:
    assert _rewatched("watch dest-1") == CHOSEN
    assert _rewatched("watch dest-1 stuck=4h events=all") == WatchSettings(
        events=ALL_WATCHABLE,
        expiry=CHOSEN.expiry,
        stuck=timedelta(hours=4),
        remind=CHOSEN.remind,
        quiet=CHOSEN.quiet,
    )


def test_rewatching_with_remind_changes_only_remind() -> None:
    assert _rewatched("watch dest-1 remind=2h") == WatchSettings(
        events=CHOSEN.events,
        expiry=CHOSEN.expiry,
        stuck=CHOSEN.stuck,
        remind=timedelta(hours=2),
        quiet=CHOSEN.quiet,
    )
    turned_off = _rewatched("watch dest-1 remind=off")
    assert turned_off.remind is None
    assert turned_off.quiet == CHOSEN.quiet


def test_rewatching_with_quiet_replaces_or_removes_the_window() -> None:
    moved = _rewatched("watch dest-1 quiet=23-06 tz=America/New_York")
    assert moved.quiet == QuietHours(start=time(23), end=time(6), timezone="America/New_York")
    assert moved.remind == CHOSEN.remind
    removed = _rewatched("watch dest-1 quiet=off")
    assert removed.quiet is None
    assert (removed.events, removed.remind) == (CHOSEN.events, CHOSEN.remind)


def test_rewatching_with_tz_alone_is_refused_not_applied_to_the_kept_window() -> None:
    # The channel has quiet hours, but `tz=` on its own still names no window.
    assert "`tz=` sets the time zone of `quiet=`" in _error("watch dest-1 tz=Asia/Tokyo")


# ----- report, and the weekly report setting -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "destination", "days"),
    [
        ("report", None, 30),
        ("report dest-1", "dest-1", 30),
        ("report dest-1 days=7", "dest-1", 7),
        ("REPORT days=90", None, 90),
        ('report "nightly backups" DAYS=1', "nightly backups", 1),
        ("report dest-1 days=14d", "dest-1", 14),
    ],
)
def test_report(text: str, destination: str | None, days: int) -> None:
    assert parse(text) == ReportCommand(destination, days)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("report dest-1 days=0", "from 1 to 90"),
        ("report dest-1 days=91", "from 1 to 90"),
        ("report dest-1 days=-3", "from 1 to 90"),
        ("report dest-1 days=week", "from 1 to 90"),
        ("report dest-1 days=", "from 1 to 90"),
        ("report a b", "takes one destination"),
        ("report dest-1 limit=5", "has no option"),
    ],
)
def test_report_errors_say_what_was_wrong_and_show_the_usage(text: str, fragment: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse(text)
    assert fragment in str(caught.value)
    assert "/backups report [DEST] [days=30]" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "weekly"), [("weekly", True), ("WEEKLY", True), ("off", False), ("never", False)]
)
def test_watch_report_setting(value: str, weekly: bool) -> None:
    command = parse(f"watch dest-1 report={value}")
    assert isinstance(command, WatchCommand)
    assert command.settings.weekly_report is weekly
    assert "report" in command.given
    # Re-watching with other options keeps the channel's choice.
    again = parse("watch dest-1 remind=2h")
    assert isinstance(again, WatchCommand)
    assert again.applied_to(command.settings).weekly_report is weekly


def test_watch_report_setting_errors() -> None:
    with pytest.raises(CommandError, match="takes `weekly`"):
        parse("watch dest-1 report=daily")
    assert WatchSettings().weekly_report is True
