"""Fixtures: the app on SQLite and on PostgreSQL, clients, and callable factories."""
from __future__ import annotations

import os
import shutil
from datetime import time

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from scheduler import create_app
from scheduler.core import auth, clock
from scheduler.extensions import db
from scheduler.models import AvailabilityRule, Patient, Therapist
from tests.support import BASE_CONFIG, NOW, Api
from tests.support.twilio_standin import TwilioStandin

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_report_header(config):
    """Say at the start which PostgreSQL server the suite uses (it makes a database of its own there)."""
    shown = sa.make_url(PG_URL).render_as_string(hide_password=True)
    return [f"PostgreSQL: {shown} (the suite creates scheduler_test_<pid> there and drops it at the end)"]


def _postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means: skip, with the reason
        return f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A SQLite file migrated once to head; each test copies it."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL database of this run's own (runs in parallel never meet), built by migrations."""
    why = _postgres_available()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"{why} (CI must run the PostgreSQL tests)")
        pytest.skip(f"{why}; PostgreSQL tests skipped")
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"scheduler_test_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _truncate_postgres(app) -> None:
    with app.app_context():
        names = ", ".join(t.name for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            # The product refuses TRUNCATE of the audit trail (a trigger); test cleanup alone
            # skips triggers for its own transaction (replica role: user triggers do not fire).
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_name(request):
    return request.param


@pytest.fixture
def database_url(engine_name, request, tmp_path):
    """A fresh, migrated database on the engine under test."""
    if engine_name == "sqlite":
        path = tmp_path / "scheduler.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def make_app(database_url):
    """Build an app on the test database with extra settings; the default `app` uses none."""
    apps = []

    def build(**config):
        app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, **config})
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if database_url.startswith("postgresql") and apps:
        _truncate_postgres(apps[0])


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def frozen_clock(time_machine):
    """Pin the clock at NOW for everything that reads it (scheduler.core.clock.now, datetime.now).

    The one way tests fix time: `frozen_clock.move_to(later)` jumps; time does not tick.
    """
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def standin():
    """A local HTTP stand-in for Twilio's API (tests/support/twilio_standin.py)."""
    with TwilioStandin() as server:
        yield server


@pytest.fixture
def ctx(app):
    """An app context for calling domain functions directly."""
    with app.app_context():
        yield db.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_therapist(app):
    """Create a therapist; by default Mon-Fri 09:00-17:00 in America/New_York."""
    def make(name="Dana Reyes", tz="America/New_York", email=None,
             hours=((0, 1, 2, 3, 4), "09:00", "17:00")) -> int:
        with app.app_context():
            t = Therapist(name=name, email=email, timezone=tz, created_at=NOW)
            days, start, end = hours if hours else ((), None, None)
            for day in days:
                t.rules.append(AvailabilityRule(weekday=day, start_time=time.fromisoformat(start),
                                                end_time=time.fromisoformat(end)))
            db.session.add(t)
            db.session.commit()
            return t.id
    return make


@pytest.fixture
def make_patient(app):
    """Create a consenting patient with a unique US mobile number."""
    counter = iter(range(1000, 10000))

    def make(name="Sam Patient", tz="America/New_York", phone=None, consent=True, language="en") -> int:
        with app.app_context():
            p = Patient(name=name, phone=phone or f"+1201555{next(counter):04d}", timezone=tz,
                        language=language, sms_consent=consent,
                        consent_at=NOW if consent else None,
                        consent_source="test" if consent else None, created_at=NOW)
            db.session.add(p)
            db.session.commit()
            return p.id
    return make


@pytest.fixture
def make_api(app, client):
    """Make an Api for a new user of `role` (a therapist user needs `therapist_id`)."""
    counter = iter(range(1, 10000))

    def make(role="admin", therapist_id=None) -> Api:
        with app.app_context():
            user = auth.create_user(db.session, f"{role}{next(counter)}@clinic.test", role, NOW,
                                    therapist_id=therapist_id)
            token = auth.issue_token(db.session, user, clock.now())  # valid by the real clock the API reads
            db.session.commit()
            return Api(client, token, user.id)
    return make


@pytest.fixture
def api(make_api):
    """An admin's API client."""
    return make_api("admin")
