"""backup-bot: a Slack app that lists and watches Northflank backup destinations.

The packages are layers, from the inside out; each may import only those
below it (pyproject.toml's import-linter contracts hold this in `make test`):

    core/         pure: the domain model, rules, schedules, durations, quiet hours,
                  reminders, budget and paging decisions, messages as data. No I/O.
    northflank/   adapter: the official SDK over a retrying httpx transport.
    store/        adapter: SQLAlchemy tables and queries, Alembic migrations.
    services/     use cases: listing, watching, polling, delivery, alert actions,
                  follow-ups. They take and return domain objects.
    slack/        adapter: the Bolt app, listeners, every Block Kit renderer, the
                  sender that posts to channels. The only package that knows Slack.
    runtime/      the composition root: settings, logging, metrics, the scheduler,
                  the server and the command line wire one process together.
"""
