"""The audit trail, on SQLite and PostgreSQL: recorded, filtered, and never changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from aftercare.wiring import Core
from storage.audit import AuditAction, AuditLog, AuditQuery
from storage.patients import ClinicView
from tests.conftest import T0


@pytest.fixture
def audit(core: Core) -> AuditLog:
    return AuditLog(core.db)


def test_an_entry_keeps_who_when_what_and_which_record(audit: AuditLog, clinic: ClinicView) -> None:
    audit.record(
        T0,
        clinic.id,
        7,
        AuditAction.PATIENT_VIEW,
        "patient",
        42,
        actor="nurse@glow.example",
        address="203.0.113.7",
    )

    (entry,) = audit.entries(clinic.id, AuditQuery(), 10)
    assert (entry.at, entry.clinic_id, entry.staff_id, entry.actor) == (
        T0,
        clinic.id,
        7,
        "nurse@glow.example",
    )
    assert (entry.action, entry.target_kind, entry.target_id, entry.address) == (
        "patient.view",
        "patient",
        "42",
        "203.0.113.7",
    )


def test_an_unknown_action_is_refused(audit: AuditLog, clinic: ClinicView) -> None:
    with pytest.raises(ValueError, match=r"patient\.veiw"):
        audit.record(T0, clinic.id, 1, "patient.veiw")


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"]
)
def test_the_database_refuses_to_change_or_delete_an_entry(
    audit: AuditLog, core: Core, clinic: ClinicView, statement: str
) -> None:
    audit.record(T0, clinic.id, 1, AuditAction.SIGN_IN, actor="a@glow.example")

    with pytest.raises(DBAPIError, match="append-only"), core.db.session() as session:
        session.execute(text(statement))

    (entry,) = audit.entries(clinic.id, AuditQuery(), 10)
    assert entry.action == "signin"


def test_the_repository_offers_no_way_to_change_an_entry() -> None:
    public = {name for name in dir(AuditLog) if not name.startswith("_")}

    assert public == {"add", "record", "entries", "all_entries", "actors"}


def test_entries_are_filtered_by_who_what_and_when_within_one_clinic(
    audit: AuditLog, core: Core, clinic: ClinicView
) -> None:
    other = core.patients.add_clinic("other", "Other", "+12125550199", "America/Chicago")
    for hours, actor, action in [
        (0, "ana@glow.example", AuditAction.SIGN_IN),
        (1, "bo@glow.example", AuditAction.SIGN_IN),
        (2, "ana@glow.example", AuditAction.PATIENT_VIEW),
        (30, "ana@glow.example", AuditAction.SIGN_IN),
    ]:
        audit.record(T0 + timedelta(hours=hours), clinic.id, 1, action, actor=actor)
    audit.record(T0, other.id, 2, AuditAction.SIGN_IN, actor="zed@other.example")

    def actions(query: AuditQuery) -> list[tuple[int, str | None, str]]:
        return [
            (int((e.at - T0) / timedelta(hours=1)), e.actor, e.action)
            for e in audit.entries(clinic.id, query, 10)
        ]

    assert [hours for hours, _, _ in actions(AuditQuery())] == [30, 2, 1, 0]  # newest first
    assert actions(AuditQuery(actor="bo@glow.example")) == [(1, "bo@glow.example", "signin")]
    assert [h for h, _, _ in actions(AuditQuery(action="signin"))] == [30, 1, 0]
    assert [h for h, _, _ in actions(AuditQuery(since=T0 + timedelta(hours=1)))] == [30, 2, 1]
    assert [h for h, _, _ in actions(AuditQuery(until=T0 + timedelta(hours=2)))] == [1, 0]
    assert audit.actors(clinic.id) == ["ana@glow.example", "bo@glow.example"]


def test_all_entries_reads_in_batches_newest_first(audit: AuditLog, clinic: ClinicView) -> None:
    for minute in range(7):
        audit.record(T0 + timedelta(minutes=minute), clinic.id, 1, AuditAction.SIGN_IN)

    read = list(audit.all_entries(clinic.id, AuditQuery(), batch=3))

    assert [int((e.at - T0).total_seconds() // 60) for e in read] == [6, 5, 4, 3, 2, 1, 0]


def test_an_entry_written_with_a_change_is_rolled_back_with_it(
    core: Core, audit: AuditLog, clinic: ClinicView
) -> None:
    def erase_that_fails() -> None:
        with core.db.session() as session:
            AuditLog.add(session, T0, clinic.id, 1, AuditAction.PATIENT_ERASE, "patient", 5)
            raise RuntimeError("the erasure failed")

    with pytest.raises(RuntimeError):
        erase_that_fails()

    assert audit.entries(clinic.id, AuditQuery(), 10) == []
