"""`python -m bot` / `backup-bot`: run the bot, query Northflank, check a poll, report, migrate."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from dotenv import dotenv_values
from sqlalchemy.engine import make_url

from bot.charts.report_chart import render_report_png
from bot.core.commands import CommandError, parse_addon, parse_statuses
from bot.core.listing import MAX_SCAN_PAGES, BackupFilter
from bot.core.report_summary import summary_lines
from bot.core.reports import DEFAULT_DAYS, MAX_DAYS, MIN_DAYS, HealthReport
from bot.northflank.client import MAX_PER_PAGE
from bot.northflank.errors import NorthflankError, NotFoundError
from bot.runtime import logs, terminal
from bot.runtime.settings import (
    ConfigurationError,
    DatabaseSettings,
    LoggingSettings,
    NorthflankSettings,
    PollSettings,
    bot_settings_class,
    load,
)
from bot.services.connections import NorthflankConnections
from bot.services.listing import BackupLister
from bot.services.poller import Poller
from bot.services.reports import ReportService
from bot.store import SchemaNotReadyError, Store, check_schema, upgrade
from bot.store.encryption import EncryptionKeyError, TokenVault, generate_key

EXIT_CONFIG = 2
EXIT_API = 1

log = logging.getLogger("bot")
ConfiguredT = TypeVar("ConfiguredT", bound=LoggingSettings)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command or "run"
    try:
        if command == "run":
            return _run()
        if command == "db":
            return _db(args)
        if command == "keys":
            return _keys(args)
        if command == "check":
            return asyncio.run(_check(_configured(PollSettings), args))
        if command == "report":
            return _report(_configured(PollSettings), args)
        settings = _configured(NorthflankSettings)
        if command == "list":
            return asyncio.run(_list(settings, args))
        return asyncio.run(_destinations(settings, args))
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except NotFoundError as exc:
        print(f"error: {exc}\n`python -m bot destinations` lists them.", file=sys.stderr)
        return EXIT_API
    except NorthflankError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_API
    except SchemaNotReadyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except EncryptionKeyError as exc:
        # One line that names ENCRYPTION_KEY; no key and no token is in it.
        print(f"backup-bot cannot start: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    except Exception:
        # Through logging, not Python's own traceback print: redacted, and one JSON
        # object when LOG_FORMAT=json, like every other line.
        if not logging.getLogger().handlers:
            logs.configure()  # it failed before its settings were read; redact shapes at least
        log.critical("backup-bot stopped on an unexpected error", exc_info=True)
        return 1  # what Python itself returns for an uncaught exception


def _configured(cls: type[ConfiguredT]) -> ConfiguredT:
    """Load a subcommand's settings and set up logging from them, secrets and all."""
    settings = load(cls)
    logs.configure(secrets=settings.secrets(), level=settings.log_level, format=settings.log_format)
    return settings


def _run() -> int:
    # One workspace, or a distributable app (SLACK_CLIENT_ID without SLACK_BOT_TOKEN).
    dotenv = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    settings = _configured(bot_settings_class({**dotenv, **os.environ}))
    from bot.runtime.serve import serve  # the Slack stack is only loaded when it is needed

    asyncio.run(serve(settings))
    return 0


async def _list(settings: NorthflankSettings, args: argparse.Namespace) -> int:
    # The same validation as the slash command's status= and addon=.
    statuses = parse_statuses(",".join(args.status)) if args.status else set()
    addon = parse_addon(args.addon) if args.addon is not None else None
    backup_filter = BackupFilter(frozenset(statuses), addon)
    async with settings.northflank_client() as client:
        lister = BackupLister(client)
        destination = await lister.resolve(args.destination)
        page = await lister.page(
            destination,
            backup_filter=backup_filter,
            limit=args.limit,
            per_page=MAX_PER_PAGE,
            max_pages=args.limit // MAX_PER_PAGE + MAX_SCAN_PAGES,
        )
    now = datetime.now(UTC)
    if args.json:
        print(terminal.dumps([terminal.backup_json(b) for b in page.backups]))
    else:
        print(f"Backups in {destination.name} ({destination.id}), newest first")
        print(terminal.backups_table(page.backups, now))
        if page.next_position is not None:
            print(f"(more backups exist; raise --limit, now {args.limit}, to see them)")
    for reason in page.skipped:
        print(f"warning: skipped an unreadable backup: {reason}", file=sys.stderr)
    return 0


async def _destinations(settings: NorthflankSettings, args: argparse.Namespace) -> int:
    async with settings.northflank_client() as client:
        destinations = await BackupLister(client).destinations()
    if args.json:
        print(terminal.dumps([terminal.destination_json(d) for d in destinations]))
    else:
        print(terminal.destinations_table(destinations))
    return 0


def _db(args: argparse.Namespace) -> int:
    settings = _configured(DatabaseSettings)
    asyncio.run(upgrade(settings.database_url))
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    print(f"the database schema is up to date ({shown})")
    return 0


def _keys(args: argparse.Namespace) -> int:
    if args.keys_command == "generate":
        # Needs no configuration at all: it is how the configuration gets its key.
        print(generate_key())
        print(
            "Set ENCRYPTION_KEY to it. To rotate, put the new key first and keep the old one "
            "after it (ENCRYPTION_KEY=new,old), run `keys rotate`, then drop the old one.",
            file=sys.stderr,
        )
        return 0
    settings = _configured(DatabaseSettings)
    vault = settings.token_vault()
    if vault is None:
        raise ConfigurationError(
            "backup-bot cannot rotate keys: ENCRYPTION_KEY is not set. Set it to the new key "
            "followed by the old one(s), comma-separated (ENCRYPTION_KEY=new,old)."
        )
    rotated = asyncio.run(_rotate(settings.database_url, vault))
    print(
        f"re-encrypted {rotated} stored Northflank token{'s' if rotated != 1 else ''} with the "
        "newest key; the older keys may now be removed from ENCRYPTION_KEY"
    )
    return 0


async def _rotate(database_url: str, vault: TokenVault) -> int:
    await check_schema(database_url)
    store = Store.connect(database_url, vault=vault)
    try:
        return await store.rotate_stored_tokens()
    finally:
        await store.close()


async def _check(settings: PollSettings, args: argparse.Namespace) -> int:
    """One poll against the store, inside a transaction that is rolled back."""
    await check_schema(settings.database_url)
    store = Store.connect(settings.database_url, vault=settings.token_vault())
    try:
        async with settings.northflank_client() as client, store.dry_run() as scratch:
            now = datetime.now(UTC)
            # Every connection's watches, each through its own token, as `run` polls them.
            connections = NorthflankConnections(
                scratch, environment=client, client_for_token=settings.northflank_client_for
            )
            poller = Poller(
                scratch, connections, clock=lambda: now, poll_interval=settings.poll_interval
            )
            try:
                only = await _watched_destination(scratch, args.dest) if args.dest else None
                if args.dest and only is None:
                    print(f"error: no channel watches {args.dest!r}", file=sys.stderr)
                    return EXIT_CONFIG
                report = await poller.poll_all(only=only, force=True)
            finally:
                await connections.aclose(include_environment=False)
    finally:
        await store.close()
    failures = [(d.destination_id, d.error) for d in report.destinations if d.error]
    print(
        terminal.check_report(
            report.alerts,
            failures,
            destinations=len(report.destinations),
            requests=report.requests,
            left_for_later=len(report.skipped),
            budget=report.plan.reason if report.plan is not None else None,
        )
    )
    return 0


def _report(settings: PollSettings, args: argparse.Namespace) -> int:
    """The report `/backups report` posts: its summary printed, its chart written to --out."""
    report = asyncio.run(_read_report(settings, args))
    print(terminal.plain_lines(summary_lines(report)))
    if report.is_empty:
        print(f"no chart written: there is nothing to draw ({args.out} left as it was)")
        return 0
    png = render_report_png(report)
    Path(args.out).write_bytes(png)
    print(f"chart written to {args.out} ({len(png) / 1024:.0f} KiB)")
    return 0


async def _read_report(settings: PollSettings, args: argparse.Namespace) -> HealthReport:
    """A destination the bot watches is reported from the store (no Northflank request);
    any other, or any when the database is not set up, from the API."""
    store = await _store_if_ready(settings.database_url)
    try:
        async with settings.northflank_client() as client:
            connections = NorthflankConnections(None, environment=client)
            service = ReportService(store, connections, clock=lambda: datetime.now(UTC))
            report = await service.report(args.destination, args.days)
    finally:
        if store is not None:
            await store.close()
    assert isinstance(report, HealthReport)  # a named destination is found or raises
    return report


async def _store_if_ready(database_url: str) -> Store | None:
    try:
        await check_schema(database_url)
    except SchemaNotReadyError:
        return None
    return Store.connect(database_url)


def _days(value: str) -> int:
    if not value.isdigit() or not MIN_DAYS <= int(value) <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"must be a whole number from {MIN_DAYS} to {MAX_DAYS}")
    return int(value)


async def _watched_destination(store: Store, reference: str) -> str | None:
    watches = await store.pollable_watches()
    for watch in watches:
        if reference == watch.destination_id or reference.casefold() == (
            watch.destination_name.casefold()
        ):
            return watch.destination_id
    return None


def _limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 10_000:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 10000")
    return int(value)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backup-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the Slack bot (the default)")
    list_parser = sub.add_parser("list", help="list a destination's backups, newest first")
    list_parser.add_argument("destination", help="destination id or name")
    list_parser.add_argument(
        "--status", action="append", help="only these statuses, e.g. failed,aborted (repeatable)"
    )
    list_parser.add_argument("--addon", help="only this addon (name or id)")
    list_parser.add_argument("--limit", type=_limit, default=20, help="how many (default 20)")
    list_parser.add_argument("--json", action="store_true", help="JSON for scripts")
    dest_parser = sub.add_parser("destinations", help="the destinations the token can see")
    dest_parser.add_argument("--json", action="store_true", help="JSON for scripts")
    check_parser = sub.add_parser(
        "check", help="run one poll and print the alerts it would post (posts and changes nothing)"
    )
    check_parser.add_argument("--dest", help="only this watched destination (id or name)")
    report_parser = sub.add_parser(
        "report", help="a destination's backup health: print the summary, write the chart"
    )
    report_parser.add_argument("destination", help="destination id or name")
    report_parser.add_argument(
        "--days", type=_days, default=DEFAULT_DAYS, help=f"the last N days (default {DEFAULT_DAYS})"
    )
    report_parser.add_argument(
        "--out", default="report.png", help="where to write the PNG chart (default report.png)"
    )
    db_parser = sub.add_parser("db", help="database maintenance")
    db_sub = db_parser.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply database migrations (run also does this at start)")
    keys_parser = sub.add_parser("keys", help="ENCRYPTION_KEY: the key to stored tokens")
    keys_sub = keys_parser.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser("generate", help="print a new key")
    keys_sub.add_parser(
        "rotate", help="re-encrypt every stored token with the newest key in ENCRYPTION_KEY"
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
