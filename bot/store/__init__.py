"""The storage layer: SQLAlchemy (async) on SQLite or PostgreSQL, migrated by Alembic.

Everything else talks to one `Store`; tables and SQL stay in this package.
"""

from bot.store.database import engine_for
from bot.store.migrate import SchemaNotReadyError, check_schema, upgrade
from bot.store.records import (
    ChannelAlerts,
    Claim,
    OutboxItem,
    OutboxKind,
    OutboxState,
    RecordResult,
    SaveResult,
    ScanState,
    StoredAlert,
)
from bot.store.replicas import ReplicaInfo
from bot.store.store import Store

__all__ = [
    "ChannelAlerts",
    "Claim",
    "OutboxItem",
    "OutboxKind",
    "OutboxState",
    "RecordResult",
    "ReplicaInfo",
    "SaveResult",
    "ScanState",
    "SchemaNotReadyError",
    "Store",
    "StoredAlert",
    "check_schema",
    "engine_for",
    "upgrade",
]
