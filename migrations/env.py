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
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
