"""Alembic environment: migrates the database named by the `sqlalchemy.url` option or DATABASE_URL.

Imports the store's metadata only. Without DATABASE_URL it migrates the embedded SQLite default
(`./var/jobs.db`), the same file the API and workers use.
"""

import os
from pathlib import Path

from alembic import context

from store.db import make_engine
from store.models import Base

target_metadata = Base.metadata


def database_url() -> str:
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL", "")
    if url:
        return url
    var_dir = Path(os.environ.get("VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
    return f"sqlite:///{var_dir / 'jobs.db'}"


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, render_as_batch=True,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = database_url()
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
