"""Reminders by treatment alone (rescheduling, cancelling a plan, Telegram's /plan) are read
along an index on both databases (migration 0012): the unique (treatment_id, milestone)
index is partial since migration 0010, so it cannot serve them."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Select, inspect, select, text

from aftercare.wiring import Core
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from storage.models import Base, Reminder, ReminderStatus
from storage.patients import ClinicView

BY_TREATMENT = select(Reminder.id).where(Reminder.treatment_id == 7)
PENDING_BY_TREATMENT = BY_TREATMENT.where(Reminder.status == ReminderStatus.PENDING)


def query_plan(core: Core, query: Select[int]) -> str:
    """The database's plan for `query`, as one line of text."""
    dialect = core.db.engine.dialect
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    with core.db.engine.connect() as conn:
        rows = conn.execute(text(explain + sql)).all()
    return " | ".join(str(row[-1]) for row in rows)


# SQLite's reflection skips the patient list's expression index (migration 0011): not this.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")
def test_the_index_exists_as_the_models_declare_it(core: Core) -> None:
    indexes = inspect(core.db.engine).get_indexes("reminder")
    assert {"name": "ix_reminder_treatment", "columns": ["treatment_id"]} in [
        {"name": i["name"], "columns": i["column_names"]} for i in indexes
    ]
    with core.db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in differences if "ix_reminder_treatment" in repr(d)] == []


def test_reminders_of_one_treatment_are_found_along_the_index(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    patients = [(NewPatient(f"P{n}", "America/New_York"), clock.now()) for n in range(300)]
    core.planner.register_batch(clinic.id, patients)
    with core.db.engine.begin() as conn:  # statistics, as after autovacuum or `ANALYZE`
        conn.execute(text("ANALYZE"))

    for query in (BY_TREATMENT, PENDING_BY_TREATMENT):
        plan = query_plan(core, query)
        assert "ix_reminder_treatment" in plan, plan
