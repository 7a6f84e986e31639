"""The declarative base and the metadata every table of the bot is declared on."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import MetaData, Table, Text
from sqlalchemy.orm import DeclarativeBase

from bot.store.database import JSONText, UTCDateTime

# Deterministic constraint names, the same on both databases, so that a
# later migration can name what it alters.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Declared as a FromClause by SQLAlchemy; these are all plain tables, for Core statements.
    __table__: ClassVar[Table]
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        str: Text,
        Any: JSONText,
    }


metadata = Base.metadata
