from __future__ import annotations

from sqlalchemy import inspect

from storage.db import Database, normalise_url
from storage.migrate import Upgraded, current_heads, upgrade, upgrade_telling
from storage.models import Base
from tests.storage.test_staff_reply_migration import empty_database

__all__ = ["empty_database"]  # the fixture, used by name


def test_there_is_one_migration_head() -> None:
    assert len(current_heads("sqlite://")) == 1


def test_migrations_build_the_models_schema_and_can_run_twice(database_url: str) -> None:
    upgrade(database_url)
    db = Database(database_url)
    tables = set(inspect(db.engine).get_table_names())
    db.dispose()
    assert set(Base.metadata.tables) <= tables


def test_an_upgrade_of_a_new_database_says_it_created_it(empty_database: str) -> None:
    heads = current_heads(empty_database)
    created = upgrade_telling(empty_database)
    assert created == Upgraded([], heads) and created.created and created.changed
    again = upgrade_telling(empty_database)
    assert again == Upgraded(heads, heads) and not again.created and not again.changed


def test_an_upgrade_of_an_older_database_says_from_which_revision(empty_database: str) -> None:
    upgrade(empty_database, "0014")
    migrated = upgrade_telling(empty_database)
    assert migrated == Upgraded(["0014"], current_heads(empty_database))
    assert migrated.changed and not migrated.created


def test_postgresql_urls_mean_psycopg_3() -> None:
    assert normalise_url("postgresql://u@h/db").startswith("postgresql+psycopg://")
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
