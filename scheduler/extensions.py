"""Flask extensions, created unbound and initialised in create_app."""
import select
import time

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()  # staff pages: session sign-in (the API uses bearer tokens)
csrf = CSRFProtect()  # every form post; the token-auth API and the signed webhooks are exempt
# Counts live in process memory unless RATELIMIT_STORAGE_URI names a shared store; with several
# gunicorn workers each counts on its own, so the effective limit is per worker.
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_conn, _record):
    """SQLite: WAL, foreign keys, a busy timeout, and transactions we begin ourselves."""
    if type(dbapi_conn).__module__.split(".")[0] not in ("sqlite3", "pysqlite2"):
        return
    # pysqlite would otherwise not BEGIN before a SELECT; we emit BEGIN IMMEDIATE below.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
    from scheduler.core.sqltime import register_sqlite  # local calendar days for the reports

    register_sqlite(dbapi_conn)


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    """SQLite: every transaction takes the write lock up front, so check-then-write is atomic."""
    if conn.dialect.name == "sqlite":
        # Straight to the driver: every transaction runs this, and nothing reads its result.
        conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")


# A restarted PostgreSQL must not cost a failed request, nor should every request pay a round
# trip (a "pre-ping") to learn that. A server that ends a connection (restart, crash, an admin's
# pg_terminate_backend, an idle timeout) says so and closes it: the idle socket turns readable,
# which one poll sees with no round trip. A connection idle longer than PING_IDLE_SECONDS, whose
# server may have gone without a word (a machine rebooted), is pinged as before.
PING_IDLE_SECONDS = 30.0


@event.listens_for(Pool, "checkin")
def _idle_from(_dbapi_conn, record):
    if record is not None:
        record.info["idle_from"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _still_open(dbapi_conn, record, _proxy):
    """Replace a pooled PostgreSQL connection its server has closed (the pool retries with a new one)."""
    pgconn = getattr(dbapi_conn, "pgconn", None)  # psycopg's; SQLite files are never closed on us
    if pgconn is None:
        return
    if _said_goodbye(pgconn.socket):
        raise DisconnectionError("the server closed this connection")
    if time.monotonic() - record.info.get("idle_from", time.monotonic()) > PING_IDLE_SECONDS:
        from psycopg import pq

        # An empty query: no transaction begins, and a dead server answers with an error.
        if pgconn.exec_(b";").status != pq.ExecStatus.EMPTY_QUERY:
            raise DisconnectionError("the server did not answer a ping")


def _said_goodbye(fd: int) -> bool:
    """Idle in the pool nothing is expected from the server: anything readable is its goodbye.
    (poll, not select: a busy process's descriptors may be numbered past select's limit.)"""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))
