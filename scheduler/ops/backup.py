"""Backups a clinic can restore: a consistent copy while the app runs, and a restore that never
texts a patient about the past or twice.

SQLite: the online backup API copies a consistent snapshot page by page while writers go on.
PostgreSQL: `pg_dump` in custom format (one snapshot), restored with `pg_restore`. A backup is
written readable by its owner alone (it holds names, phones and texts). A restore goes into an
empty database only; then every text that was still to go before the restore moment is marked
skipped (`stale`): it was either sent by the lost system after the backup was taken, or its
moment has passed, and either way sending it now would be wrong.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scheduler.errors import Conflict, Invalid
from scheduler.models import Message, MessageStatus, SkipReason

OWNER_ONLY = 0o600
# The tables that hold the clinic's data; a database with a row in any of them is not empty.
_SCHEMA_ONLY = {"alembic_version"}


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise Invalid({"database": "an in-memory SQLite database cannot be backed up"})
    return Path(database)


def _libpq_url(engine: Engine) -> str:
    """The database URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise Invalid({"backup": f"{name} is not installed (PostgreSQL's client tools)"})
    return found


def _owner_only_file(path: Path) -> None:
    """Create (or truncate) `path` readable and writable by its owner alone before data goes in."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
    os.close(fd)
    os.chmod(path, OWNER_ONLY)  # an existing file keeps its old mode through O_CREAT


def backup(engine: Engine, target: Path) -> None:
    """Write a consistent copy of the database to `target` (owner-only), while the app runs."""
    target = Path(target)
    if target.is_dir():
        raise Invalid({"file": "is a directory"})
    _owner_only_file(target)
    if engine.dialect.name == "sqlite":
        source = sqlite3.connect(_sqlite_path(engine))
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)
        finally:
            copy.close()
            source.close()
    else:
        done = subprocess.run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target),
                               "--dbname", _libpq_url(engine)], capture_output=True, text=True)
        if done.returncode != 0:
            raise Conflict(f"pg_dump failed: {done.stderr.strip()[:300]}")
    os.chmod(target, OWNER_ONLY)


def non_empty_tables(engine: Engine) -> list[str]:
    """The tables of this database that hold at least one row (schema bookkeeping aside)."""
    names = [n for n in sa.inspect(engine).get_table_names() if n not in _SCHEMA_ONLY]
    preparer = engine.dialect.identifier_preparer
    with engine.connect() as conn:
        return [n for n in names
                if conn.execute(sa.text(f"SELECT 1 FROM {preparer.quote(n)} LIMIT 1")).first() is not None]


def restore(engine: Engine, source: Path, now: datetime) -> int:
    """Restore `source` into this EMPTY database; returns how many texts were marked stale.

    An empty schema (made by `db upgrade` or by a start on SQLite) counts as empty and is replaced.
    """
    source = Path(source)
    if not source.is_file():
        raise Invalid({"file": "no such backup file"})
    full = non_empty_tables(engine)
    if full:
        raise Conflict(f"the database is not empty ({len(full)} tables hold rows, e.g. {full[0]}); "
                       "restore only into an empty database")
    engine.dispose()
    if engine.dialect.name == "sqlite":
        _restore_sqlite(_sqlite_path(engine), source)
    else:
        _restore_postgres(engine, source)
    return mark_stale(engine, now)


def _restore_sqlite(path: Path, source: Path) -> None:
    try:
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        backup_db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise Invalid({"file": "is not a SQLite backup of this app"}) from exc
    target = sqlite3.connect(path)
    try:
        with target:
            backup_db.backup(target)
    finally:
        target.close()
        backup_db.close()


def _restore_postgres(engine: Engine, source: Path) -> None:
    # An empty schema made by `db upgrade` is dropped first, so the dump's own tables go in whole.
    with engine.begin() as conn:
        tables = sa.inspect(conn).get_table_names()
        if tables:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    done = subprocess.run([_pg_tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction",
                           "--dbname", _libpq_url(engine), str(source)], capture_output=True, text=True)
    if done.returncode != 0:
        raise Conflict(f"pg_restore failed: {done.stderr.strip()[:300]}")


def mark_stale(engine: Engine, now: datetime) -> int:
    """Texts still to go whose moment is before `now` are skipped as stale; returns how many."""
    stmt = (sa.update(Message)
            .where(Message.status.in_((MessageStatus.PENDING, MessageStatus.SENDING)),
                   sa.or_(Message.due_at.is_(None), Message.due_at <= now))
            .values(status=MessageStatus.SKIPPED, skip_reason=SkipReason.STALE, claimed_by=None,
                    lease_until=None)
            .execution_options(synchronize_session=False))
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount
