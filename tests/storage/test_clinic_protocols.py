"""A clinic's protocol versions: append-only rows, the latest per scope is active, a reset
is recorded like an upload (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from aftercare.wiring import Core
from scheduler.clock import FakeClock
from storage.clinic_protocols import (
    ClinicProtocols,
    service_key,
    version_id,
    version_key,
)
from storage.models import Base
from storage.patients import ClinicView, NotFoundError

TOML = 'name = "glow"\n'  # storage keeps the text as given; checking it is not its job


def upload(
    core: Core,
    clinic: ClinicView,
    clock: FakeClock,
    source: str | None = TOML,
    service: str | None = None,
) -> int:
    with core.db.session() as session:
        version = ClinicProtocols(core.db).record(
            session,
            clinic.id,
            source=source,
            file_name="glow.toml",
            service=service,
            now=clock.now(),
        )
    return version.version


def test_each_upload_and_reset_is_a_new_version_and_the_latest_per_scope_is_active(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    protocols = ClinicProtocols(core.db)
    assert protocols.active("glow").default is None

    assert upload(core, clinic, clock) == 1
    assert upload(core, clinic, clock, service="Microneedling with PRP") == 2
    assert upload(core, clinic, clock, source=TOML + "# v3\n") == 3
    active = protocols.active("glow")
    assert active.default is not None
    assert (active.default.version, active.default.source) == (3, TOML + "# v3\n")
    assert list(active.services) == ["microneedling with prp"]

    assert upload(core, clinic, clock, source=None, service="MICRONEEDLING  with prp") == 4
    assert upload(core, clinic, clock, source=None) == 5
    assert protocols.active("glow").default is None
    assert protocols.active("glow").services == {}
    history = protocols.history("glow")
    assert [(v.version, v.source is None, v.service) for v in history] == [
        (1, False, None),
        (2, False, "Microneedling with PRP"),
        (3, False, None),
        (4, True, "MICRONEEDLING with prp"),
        (5, True, None),
    ]
    assert protocols.version(history[0].id) == history[0]


def test_versions_are_numbered_per_clinic(core: Core, clinic: ClinicView, clock: FakeClock) -> None:
    other = core.patients.add_clinic(
        "calm", "Calm Clinic", "+15551234568", "Europe/Madrid", "ES", "es"
    )
    upload(core, clinic, clock)
    assert upload(core, other, clock) == 1
    assert upload(core, clinic, clock) == 2


def test_a_stored_version_cannot_be_changed_or_removed(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    upload(core, clinic, clock)
    for statement in (
        "UPDATE clinic_protocol SET source = 'changed'",
        "DELETE FROM clinic_protocol",
    ):
        with pytest.raises(DBAPIError, match="append-only"), core.db.session() as session:
            session.execute(text(statement))
    assert ClinicProtocols(core.db).history("glow")[0].source == TOML


def test_an_unknown_clinic_is_named(core: Core) -> None:
    with pytest.raises(NotFoundError, match="nowhere"):
        ClinicProtocols(core.db).active("nowhere")


def test_keys_name_a_version_and_services_compare_by_their_whole_folded_name() -> None:
    assert version_key(12) == "clinic:12"
    assert version_id("clinic:12") == 12
    assert version_id("microneedling") is None
    assert version_id("clinic:x") is None
    assert service_key("  Microneedling   with PRP ") == service_key("microneedling with prp")
    assert service_key("Microagujas faciales") == service_key("MICROÁGUJAS  Faciales")
    assert service_key("Microneedling") != service_key("Microneedling with PRP")


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")
def test_the_migration_matches_the_model(database_url: str) -> None:
    from storage.db import Database

    db = Database(database_url)
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        differences = [
            d for d in compare_metadata(context, Base.metadata) if "clinic_protocol" in repr(d)
        ]
    db.dispose()
    assert differences == []
