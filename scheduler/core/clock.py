"""The one clock. Edges (views, commands, jobs) read it; domain functions are given `now`.

Nothing else in scheduler/ calls datetime.now() (the console SMS backend's own bookkeeping
aside: it stands in for Twilio's clock). Tests pin time with the `frozen_clock` fixture
(tests/conftest.py, time-machine), which every caller of now() sees.

Workers on several machines must agree on time (claims, leases, heartbeats): they read the
database server's clock instead (database_clock), so no worker's own clock matters.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from scheduler.core.db import database_now


def now() -> datetime:
    """The current instant, aware UTC."""
    return datetime.now(UTC)


def database_clock(engine: Engine) -> Callable[[], datetime]:
    """A clock that reads the database server's time once, then runs on this machine's monotonic clock.

    The monotonic clock measures elapsed time only, so a wrong wall clock here cannot move it.
    """
    with Session(engine) as session:
        base = database_now(session)
    started = time.monotonic()
    return lambda: base + timedelta(seconds=time.monotonic() - started)
