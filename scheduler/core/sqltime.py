"""Local calendar days in SQL, on both engines: reports count days in the patient's zone.

PostgreSQL computes them itself (`timezone(zone, instant)::date`). SQLite has no time zones, so
`register_sqlite` gives each connection a deterministic `local_date(instant, zone)` function
(Python's zoneinfo, the same rules the rest of the app uses); instants are stored there as naive
UTC text (core.timeutil.UTCDateTime).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from scheduler.models.types import UTCDateTime


class local_date(FunctionElement):  # noqa: N801 (reads as the SQL function it compiles to)
    """The calendar date of an instant in a zone (a column or a bound value)."""

    type = Date()
    inherit_cache = True
    name = "local_date"


class day_start(FunctionElement):  # noqa: N801
    """The instant the local day `day + days` begins in a zone: `local_date(t, zone) >= day + days`
    exactly when `t >= day_start(day, zone, days)`, so a range of local days is a range of
    instants an index on the instant column can serve."""

    type = UTCDateTime()
    inherit_cache = True
    name = "day_start"


class days_between(FunctionElement):  # noqa: N801
    """Whole days from the second date to the first (later - earlier)."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


class month_of(FunctionElement):  # noqa: N801
    """'YYYY-MM' of a date."""

    type = String()
    inherit_cache = True
    name = "month_of"


@compiles(local_date, "postgresql")
def _local_date_pg(element, compiler, **kw):
    instant, zone = list(element.clauses)
    return f"CAST(timezone({compiler.process(zone, **kw)}, {compiler.process(instant, **kw)}) AS DATE)"


@compiles(local_date, "sqlite")
def _local_date_sqlite(element, compiler, **kw):
    instant, zone = list(element.clauses)
    return f"local_date({compiler.process(instant, **kw)}, {compiler.process(zone, **kw)})"


@compiles(day_start, "postgresql")
def _day_start_pg(element, compiler, **kw):
    day, zone, days = (compiler.process(c, **kw) for c in element.clauses)
    return f"timezone({zone}, CAST(CAST({day} AS DATE) + {days} AS TIMESTAMP))"


@compiles(day_start, "sqlite")
def _day_start_sqlite(element, compiler, **kw):
    day, zone, days = (compiler.process(c, **kw) for c in element.clauses)
    return f"day_start({day}, {zone}, {days})"


@compiles(days_between, "postgresql")
def _days_pg(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return f"(CAST({compiler.process(later, **kw)} AS DATE) - CAST({compiler.process(earlier, **kw)} AS DATE))"


@compiles(days_between, "sqlite")
def _days_sqlite(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return (f"CAST(round(julianday({compiler.process(later, **kw)}) - "
            f"julianday({compiler.process(earlier, **kw)})) AS INTEGER)")


@compiles(month_of, "postgresql")
def _month_pg(element, compiler, **kw):
    (day,) = list(element.clauses)
    return f"to_char({compiler.process(day, **kw)}, 'YYYY-MM')"


@compiles(month_of, "sqlite")
def _month_sqlite(element, compiler, **kw):
    (day,) = list(element.clauses)
    return f"strftime('%Y-%m', {compiler.process(day, **kw)})"


@lru_cache(maxsize=65536)
def _local_date(instant: str | None, zone: str | None) -> str | None:
    if instant is None or zone is None:
        return None
    moment = datetime.fromisoformat(instant)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    try:
        return moment.astimezone(ZoneInfo(zone)).date().isoformat()
    except (ValueError, KeyError):
        return moment.date().isoformat()


@lru_cache(maxsize=65536)
def _day_start(day: str | None, zone: str | None, days: int | None) -> str | None:
    if day is None or zone is None or days is None:
        return None
    local = datetime.combine(date.fromisoformat(str(day)[:10]) + timedelta(days=days), time())
    try:
        moment = local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    except (ValueError, KeyError):
        moment = local.replace(tzinfo=UTC)
    return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")  # as instants are stored


def register_sqlite(dbapi_conn) -> None:
    """Give a SQLite connection `local_date(instant, zone)` and `day_start(day, zone, days)`."""
    dbapi_conn.create_function("local_date", 2, _local_date, deterministic=True)
    dbapi_conn.create_function("day_start", 3, _day_start, deterministic=True)


def as_date(value) -> date | None:
    """A date read back from either engine (SQLite returns text from SQL functions)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
