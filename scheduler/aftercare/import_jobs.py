"""A discharge file's import as a whole: the command's one transaction, and the page's background run.

The command reads the file, runs every row and commits once, with one audit row and the
import's record (who, the file's SHA-256, the counts). The page keeps the upload in
`discharge_imports` and runs it outside the request (web/imports.py starts a thread), in two steps:
1. check every row without writing, in chunks, committing the progress after each (the bar);
2. for an import, run the rows again in ONE transaction that also stores the report and the audit
   row: good rows commit together, refused rows are reported, and a database error rolls back
   everything (the record then says so). Step 2 decides again on the data as it is then, so a
   patient added meanwhile is seen.
A run whose thread died (its process stopped) is marked failed when the page next looks at it.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from scheduler.aftercare import import_files, imports
from scheduler.aftercare.imports import Outcome
from scheduler.core import audit
from scheduler.core.settings import Settings
from scheduler.errors import Invalid, NotFound
from scheduler.models import DischargeImport
from scheduler.models.enums import ImportStatus

log = logging.getLogger(__name__)
# A run that has not reported for this long stopped with its process (step 2 of 50,000 rows
# takes well under this).
SILENT = timedelta(minutes=10)
DB_FAILED = "A database error stopped the import; it was rolled back and nothing was saved."
STOPPED = "The import stopped before it finished (the server restarted); nothing was saved."


def source_of(digest: str) -> str:
    """Where consent came from, as the patient's record keeps it: this import's file."""
    return f"import sha256:{digest[:16]}"


def _report(outcomes: list[Outcome]) -> str:
    return json.dumps([[o.row, o.result, o.column, o.rule] for o in outcomes], separators=(",", ":"))


def report_of(record: DischargeImport) -> list[Outcome]:
    """The stored per-row report."""
    return [Outcome(*item) for item in json.loads(record.report or "[]")]


def _finish(record: DischargeImport, outcomes: list[Outcome], status: str, now: datetime) -> None:
    for name, count in imports.counts(outcomes).items():
        setattr(record, name, count)
    record.report, record.status, record.finished_at = _report(outcomes), status, now
    record.rows_done = record.rows_total


# --- the command ---------------------------------------------------------------------------


def import_file(session: Session, data: bytes, now: datetime, *, settings: Settings, user_id: int | None = None,
                route: str | None = None, dry_run: bool = False) -> list[Outcome]:
    """Import a whole file in one transaction (committed here), or only decide it (dry run: nothing written).

    FileRefused when the file cannot be read; a database error propagates after the rollback.
    """
    rows = import_files.read(data)
    digest = import_files.file_hash(data)
    try:
        outcomes = imports.run(session, rows, now, settings=settings, source=source_of(digest),
                               user_id=user_id, write=not dry_run)
        if dry_run:
            session.rollback()
            return outcomes
        record = DischargeImport(user_id=user_id, created_at=now, file_hash=digest, check_only=False,
                                 rows_total=len(rows))
        _finish(record, outcomes, ImportStatus.DONE, now)
        session.add(record)
        session.flush()
        audit.commit(session, "import", "discharge_import", record.id, now, user_id, route=route)
    except BaseException:
        session.rollback()
        raise
    return outcomes


# --- the page ------------------------------------------------------------------------------


def upload(session: Session, data: bytes, now: datetime, user_id: int, *, check_only: bool) -> DischargeImport:
    """Keep an uploaded file to run in the background; Invalid naming `file` if it cannot be read."""
    rows = import_files.read(data)
    if not rows:
        raise Invalid({"file": "has a header but no rows to import"})
    record = DischargeImport(user_id=user_id, created_at=now, file_hash=import_files.file_hash(data),
                             content=data, check_only=check_only, status=ImportStatus.PENDING,
                             rows_total=len(rows), rows_done=0, created=0, updated=0, unchanged=0, refused=0)
    session.add(record)
    session.flush()
    return record


def of_user(session: Session, import_id: int | None, user_id: int) -> DischargeImport | None:
    """The user's own import with this id (another's, or none: None)."""
    if import_id is None:
        return None
    return session.scalar(select(DischargeImport).where(DischargeImport.id == import_id,
                                                        DischargeImport.user_id == user_id))


def again(session: Session, import_id: int | None, user_id: int, *, check_only: bool) -> DischargeImport:
    """Run a checked file again (Import after Check only) without a second upload."""
    record = of_user(session, import_id, user_id)
    if record is None or record.status != ImportStatus.CHECKED or record.content is None:
        raise Invalid({"file": "choose a CSV file"})
    record.check_only, record.status, record.rows_done, record.finished_at = check_only, ImportStatus.PENDING, 0, None
    return record


def notice_stopped(session: Session, record: DischargeImport, now: datetime) -> bool:
    """Mark a run whose thread went silent as failed (its transaction died with it); True if so."""
    if record.status != ImportStatus.RUNNING or (record.beat_at and now - record.beat_at < SILENT):
        return False
    record.status, record.error, record.content, record.finished_at = ImportStatus.FAILED, STOPPED, None, now
    return True


def _claim(session: Session, import_id: int, now: datetime) -> bool:
    """Take a pending run; False when another thread took it first."""
    taken = session.execute(update(DischargeImport).where(DischargeImport.id == import_id,
                                                          DischargeImport.status == ImportStatus.PENDING)
                            .values(status=ImportStatus.RUNNING, beat_at=now)).rowcount
    session.commit()
    return taken == 1


def process(session: Session, import_id: int, *, clock: Callable[[], datetime], settings: Settings,
            route: str = "POST /imports") -> str | None:
    """Run a pending upload to its end (the background thread's work); its final status, or None if taken."""
    if not _claim(session, import_id, clock()):
        return None
    record = session.get(DischargeImport, import_id)
    if record is None:
        raise NotFound("import not found")
    data, user_id, check_only = record.content, record.user_id, record.check_only
    rows = import_files.read(data)
    source = source_of(record.file_hash)

    def beat(done: int) -> None:
        session.execute(update(DischargeImport).where(DischargeImport.id == import_id)
                        .values(rows_done=done, beat_at=clock()))
        session.commit()

    try:
        outcomes = imports.run(session, rows, clock(), settings=settings, source=source, user_id=user_id,
                               write=False, progress=beat)
        if not check_only:
            outcomes = imports.run(session, rows, clock(), settings=settings, source=source, user_id=user_id)
        record = session.get(DischargeImport, import_id)
        _finish(record, outcomes, ImportStatus.CHECKED if check_only else ImportStatus.DONE, clock())
        if not check_only:
            record.content = None  # imported: the file is not kept
            audit.record(session, "import", "discharge_import", import_id, clock(), user_id, route=route)
        session.commit()
        return record.status
    except SQLAlchemyError:
        log.exception("discharge import %s failed in the database", import_id)
        return _failed(session, import_id, clock(), DB_FAILED)
    except Exception:
        log.exception("discharge import %s failed", import_id)
        return _failed(session, import_id, clock(), "The import failed; nothing was saved.")


def _failed(session: Session, import_id: int, now: datetime, why: str) -> str:
    session.rollback()
    session.execute(update(DischargeImport).where(DischargeImport.id == import_id)
                    .values(status=ImportStatus.FAILED, error=why, content=None, finished_at=now))
    session.commit()
    return ImportStatus.FAILED
