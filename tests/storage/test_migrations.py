from __future__ import annotations

from sqlalchemy import inspect

from storage.db import Database, normalise_url
from storage.migrate import current_heads, upgrade
from storage.models import Base


def test_there_is_one_migration_head() -> None:
    assert len(current_heads("sqlite://")) == 1


def test_migrations_build_the_models_schema_and_can_run_twice(database_url: str) -> None:
    upgrade(database_url)
    db = Database(database_url)
    tables = set(inspect(db.engine).get_table_names())
    db.dispose()
    assert set(Base.metadata.tables) <= tables


def test_postgresql_urls_mean_psycopg_3() -> None:
    assert normalise_url("postgresql://u@h/db").startswith("postgresql+psycopg://")
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
