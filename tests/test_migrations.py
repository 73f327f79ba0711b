"""Alembic owns the schema: upgrade and downgrade work on SQLite and PostgreSQL, and the models match."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from store.db import get_engine
from store.models import Base
from tests.conftest import downgrade, migrate

TABLES = {"tenants", "api_keys", "jobs", "items", "models"}


def test_upgrade_creates_every_table(database_url: str) -> None:
    tables = set(inspect(get_engine(database_url)).get_table_names())
    assert TABLES <= tables


def test_models_match_the_migrated_schema(database_url: str) -> None:
    with get_engine(database_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_downgrade_then_upgrade_round_trips(database_url: str) -> None:
    get_engine(database_url).dispose()
    downgrade(database_url, "base")
    assert not TABLES & set(inspect(get_engine(database_url)).get_table_names())
    migrate(database_url)
    assert TABLES <= set(inspect(get_engine(database_url)).get_table_names())
