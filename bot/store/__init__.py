"""The storage layer: SQLAlchemy (async) on SQLite or PostgreSQL, migrated by Alembic.

Everything else talks to one `Store`; tables and SQL stay in this package.
"""

# The domain types the store keeps, for callers that deal in them through the store.
from bot.core.handling import (
    Acknowledgement,
    ReminderCandidate,
    Snooze,
    SnoozeResult,
    StoredAlert,
    WriteClaim,
    WriteState,
)
from bot.store.database import engine_for
from bot.store.migrate import SchemaNotReadyError, check_schema, upgrade
from bot.store.poll_start import ClaimedUnreadError
from bot.store.records import (
    ChannelAlerts,
    Claim,
    OutboxItem,
    OutboxKind,
    OutboxState,
    PollPlan,
    PollPlans,
    PollStart,
    RecordResult,
    SaveResult,
    ScanState,
)
from bot.store.replicas import ReplicaInfo
from bot.store.store import Store
from bot.store.watches import TooManyWatchesError

__all__ = [
    "Acknowledgement",
    "ChannelAlerts",
    "Claim",
    "ClaimedUnreadError",
    "OutboxItem",
    "OutboxKind",
    "OutboxState",
    "PollPlan",
    "PollPlans",
    "PollStart",
    "RecordResult",
    "ReminderCandidate",
    "ReplicaInfo",
    "SaveResult",
    "ScanState",
    "SchemaNotReadyError",
    "Snooze",
    "SnoozeResult",
    "Store",
    "StoredAlert",
    "TooManyWatchesError",
    "WriteClaim",
    "WriteState",
    "check_schema",
    "engine_for",
    "upgrade",
]
