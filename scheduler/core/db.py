"""Small database helpers that hide the differences between SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum
from functools import lru_cache

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload

from scheduler.errors import NotFound


def lock(session: Session, model, ident: int, what: str | None = None, load: str | None = None):
    """Load a row and hold it for this transaction (FOR UPDATE on PostgreSQL).

    On SQLite every transaction already began with BEGIN IMMEDIATE, which serialises writers.
    Callers lock in one global order, therapist -> patient -> group (several groups: by id), so
    they cannot deadlock; a row wanted out of that order is taken with SKIP LOCKED, never waited for.
    `load` names a collection to fetch in the same statement (a join), e.g. a therapist's rules.
    """
    row = session.execute(_lock_statement(model, load), {"ident": ident}).unique().scalar_one_or_none()
    if row is None:
        raise NotFound(f"{what or model.__tablename__} not found", field=what)
    return row


@lru_cache(maxsize=32)
def _lock_statement(model, load: str | None):
    """Built once per (model, collection); FOR UPDATE OF the row alone, not the joined ones."""
    stmt = select(model).where(model.id == bindparam("ident")).with_for_update(of=model)
    return stmt.options(joinedload(getattr(model, load))) if load else stmt


def insert_ignore(session: Session, model, rows: list[dict], key: str | tuple[str, ...]) -> int:
    """INSERT rows, silently skipping any whose unique `key` (a column, or several) already exists;
    returns rows added. A concurrent insert of the same key is skipped too, not an error."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    mod = postgresql if dialect == "postgresql" else sqlite
    # Rows as parameters (not .values(rows)) keep one cached compiled statement per model.
    stmt = mod.insert(model).on_conflict_do_nothing(index_elements=[key] if isinstance(key, str) else list(key))
    session.flush()  # rows may point at objects this session has not written yet
    result = session.connection().execute(stmt, rows)
    return result.rowcount if result.rowcount and result.rowcount > 0 else 0


def is_postgres(session: Session) -> bool:
    """True on PostgreSQL."""
    return session.get_bind().dialect.name == "postgresql"


class AdvisoryLock(IntEnum):
    """Every PostgreSQL advisory lock id the app takes, in one table so no two jobs share one."""

    PLAN = 7_301_001  # dispatch's planner: one at a time (planning is idempotent anyway)
    FOLLOW_UP = 7_301_002  # the worker's no-show follow-ups
    HORIZON = 7_301_003  # the worker's group horizon


def take_turn(session: Session, lock_id: AdvisoryLock) -> bool:
    """True when this transaction may run the job `lock_id` guards; another holder means skip.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: the transaction began with BEGIN
    IMMEDIATE once it runs a statement, so writers already take turns; always True there.
    """
    if not is_postgres(session):
        session.execute(select(1))  # begins the transaction: BEGIN IMMEDIATE serialises SQLite
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": int(lock_id)}))


# The database's own clock: clock_timestamp() is the moment of the call (now() would be the
# transaction's start); SQLite's 'now' reads the machine's clock through the C library.
_DB_NOW = {
    "postgresql": text("SELECT clock_timestamp()"),
    "sqlite": text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"),
}


def database_now(session: Session) -> datetime:
    """The current instant by the database server's clock, aware UTC (one small query)."""
    value = session.scalar(_DB_NOW[session.get_bind().dialect.name])
    if isinstance(value, str):  # SQLite answers text, in UTC
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
