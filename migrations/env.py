"""Alembic environment: runs against the app's own engine (SQLite or PostgreSQL)."""
from alembic import context
from flask import current_app

config = context.config
target_db = current_app.extensions["migrate"].db


def engine():
    # db.engine, not the deprecated get_engine(): tests run with -W error.
    return current_app.extensions["migrate"].db.engine


def run_migrations_offline():
    """Emit SQL for the configured URL without connecting."""
    context.configure(url=engine().url, target_metadata=target_db.metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Connect and migrate in one transaction."""
    conf_args = current_app.extensions["migrate"].configure_args
    with engine().connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode changes a SQLite table by copying it and dropping the old one, which SQLite
            # refuses while other rows refer to it (messages <- tasks). The pragma only takes effect
            # outside a transaction, so it is set before ours begins and the references checked at its end.
            _foreign_keys(connection, "OFF")
        try:
            context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
            with context.begin_transaction():
                context.run_migrations()
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").all()):
                    raise RuntimeError(f"the migration left rows referring to nothing: {broken[:5]}")
        finally:
            if sqlite:
                _foreign_keys(connection, "ON")  # the pooled connection goes back as the app expects it


def _foreign_keys(connection, state: str) -> None:
    """SQLite's foreign-key enforcement, set on the driver's connection outside any transaction."""
    connection.connection.dbapi_connection.execute(f"PRAGMA foreign_keys={state}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
