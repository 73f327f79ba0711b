"""Revision 0002 (datasets): upgrade, downgrade to 0001 and back, on SQLite and PostgreSQL."""

from sqlalchemy import inspect

from store.db import get_engine
from tests.conftest import downgrade, migrate

DATASET_TABLES = {"datasets", "dataset_files"}
BASE_TABLES = {"tenants", "api_keys", "jobs", "items", "models"}


def tables(url: str) -> set[str]:
    return set(inspect(get_engine(url)).get_table_names())


def test_0002_adds_the_dataset_tables(database_url: str) -> None:
    assert DATASET_TABLES | BASE_TABLES <= tables(database_url)


def test_0002_downgrades_to_0001_keeping_the_rest_and_upgrades_again(database_url: str) -> None:
    get_engine(database_url).dispose()
    downgrade(database_url, "0001")
    assert not DATASET_TABLES & tables(database_url)
    assert BASE_TABLES <= tables(database_url)
    get_engine(database_url).dispose()
    migrate(database_url)
    assert DATASET_TABLES | BASE_TABLES <= tables(database_url)
