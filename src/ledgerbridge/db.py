"""Engine, sessions and the declarative base.

One ``Database`` per process owns the engine and the session factory. Application code
never commits: the request dependency and the job wrapper own the unit of work
(``Database.session()``), so a failure anywhere rolls back everything it wrote.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

import uuid_utils
from sqlalchemy import (
    DateTime,
    MetaData,
    Numeric,
    String,
    Table,
    TypeDecorator,
    create_engine,
    event,
    inspect,
)
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A time-ordered UUID (version 7, RFC 9562): new rows land at the end of every index
    keyed by id instead of at random places in it, so a large write (a first import of
    tens of thousands of records) dirties and commits far fewer index pages, on SQLite and
    PostgreSQL alike. Ids are keys, never secrets (tokens come from ``secrets``)."""
    return str(uuid_utils.uuid7())


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def __repr__(self) -> str:
        return "UTCDateTime()"

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def column_values(obj: Base) -> dict[str, Any]:
    """The column values set on a transient object, by column name, for a Core INSERT.

    Bulk writes (a page of a first import: thousands of new records) check each record as
    an ORM object through the usual rules, then insert the rows together
    (``insert_rows``) instead of adding every object to the session: the unit of work's
    per-object bookkeeping costs more than the rules. Columns left unset get their
    defaults from the INSERT, as in a flush.
    """
    state = obj.__dict__
    return {column: state[key] for key, column in _columns(type(obj)) if key in state}


@cache
def _columns(model: type[Base]) -> tuple[tuple[str, str], ...]:
    """(attribute, column) names of a mapped class."""
    return tuple((prop.key, prop.columns[0].key) for prop in inspect(model).column_attrs)


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """One executemany per set of keys (rows that leave different columns to their
    defaults cannot share a statement), in the session's transaction."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(frozenset(row), []).append(row)
    for group in groups.values():
        session.execute(table.insert(), group)


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """``session.begin_nested()`` that really nests on SQLite too: what fails inside it is
    undone (and, on PostgreSQL, no longer aborts the transaction) while the rest of the
    unit of work stands. pysqlite opens its transaction only before its first INSERT,
    UPDATE or DELETE, so a SAVEPOINT issued before any of them would open the transaction
    itself and its RELEASE would commit everything so far; the transaction is begun first."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        if driver is not None and not driver.in_transaction:
            driver.execute("BEGIN")
    with session.begin_nested():
        yield


class IdMixin:
    """A UUID primary key as text: portable, and safe to expose in URLs."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # A 32 MiB page cache (the default is 2 MiB): inserts into the indexes of tables with
    # tens of thousands of rows (a first import) stop re-reading the same pages.
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the per-backend settings the rest of the code relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


class Database:
    """The engine and the one session factory of a process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(bind=engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits when the block succeeds, rolls back when it raises."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


class DecimalType(TypeDecorator[Decimal]):
    """Exact decimals on every backend.

    PostgreSQL gets NUMERIC; SQLite has no exact decimal storage (NUMERIC there is a float
    affinity), so the quantized value is kept as text and read back as ``Decimal``.
    """

    impl = String(40)
    cache_ok = True

    def __init__(self, places: int = 2) -> None:
        super().__init__()
        self.places = places
        self._quantum = Decimal(1).scaleb(-places)

    def __repr__(self) -> str:
        return f"DecimalType({self.places})"

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(20, self.places))
        return dialect.type_descriptor(String(40))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        quantized = Decimal(value).quantize(self._quantum, rounding=ROUND_HALF_UP)
        return quantized if dialect.name == "postgresql" else str(quantized)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(self._quantum)
