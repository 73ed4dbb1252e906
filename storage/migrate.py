"""`aftercare db upgrade`: Alembic, configured in code so no alembic.ini is needed."""

from __future__ import annotations

from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from storage.db import Database, normalise_url


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "storage:migrations")
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


@dataclass(frozen=True)
class Upgraded:
    """The revisions a database recorded before an upgrade (empty: it had no aftercare
    tables, a new database) and after it."""

    before: list[str]
    after: list[str]

    @property
    def created(self) -> bool:
        return not self.before

    @property
    def changed(self) -> bool:
        return self.before != self.after


def upgrade_telling(url: str) -> Upgraded:
    """`upgrade` to the head, saying from which revisions to which."""
    db = Database(url)
    try:
        before = applied_revisions(db) or []
        upgrade(url)
        after = applied_revisions(db) or []
    finally:
        db.dispose()
    return Upgraded(before, after)


def applied_revisions(db: Database) -> list[str] | None:
    """The revisions the database records (only reads); None without Alembic's table."""
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def current_heads(url: str) -> list[str]:
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config(url)).get_heads())
