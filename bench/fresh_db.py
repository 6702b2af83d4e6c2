"""Each benchmark's own PostgreSQL database on 127.0.0.1:5432, created empty (never the test one)."""
from __future__ import annotations

import sqlalchemy as sa

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def fresh_postgres(name: str) -> str:
    """Drop and create database `name`; its URL. Raises sqlalchemy's OperationalError without a server."""
    admin = sa.create_engine(PG_SERVER + "postgres", isolation_level="AUTOCOMMIT",
                             connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return PG_SERVER + name
