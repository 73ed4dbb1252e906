"""What one import batch does with each valid row, decided from what is stored. Pure: no I/O.

A row whose patient is new is created; a stored patient is updated when the row changes a
value the file has a column for, or moves the treatment time or zone, and is otherwise left
unchanged. Rows that cannot be imported now (an erased patient, an external id the file
gives twice with different data) are rejected here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from clinic.csv_rows import RowError, ValidRow
from clinic.outcomes import RowOutcome
from storage.enrollment import ExistingPatient

COMPARED = ("first_name", "phone", "timezone", "language", "channel")


@dataclass(frozen=True)
class PatientUpdate:
    row: ValidRow
    known: ExistingPatient
    changes: dict[str, Any]  # column -> new value
    moved: bool  # the treatment time or the zone changed: its reminders move

    @property
    def zone(self) -> str:
        return str(self.changes.get("timezone", self.known.timezone))

    @property
    def channel(self) -> str:
        return str(self.changes.get("channel", self.known.channel))


@dataclass
class BatchPlan:
    outcomes: dict[int, RowOutcome] = field(default_factory=dict)  # row -> outcome
    creates: list[ValidRow] = field(default_factory=list)
    updates: list[PatientUpdate] = field(default_factory=list)
    reissues: list[tuple[ValidRow, int]] = field(default_factory=list)  # (row, patient id)


def plan_batch(
    rows: Sequence[ValidRow],
    existing: dict[str, ExistingPatient],
    conflicted_first_rows: dict[int, list[int]],
    given: frozenset[str],
    *,
    reissue_invites: bool,
) -> BatchPlan:
    """`existing`: the stored patients among the rows' external ids; `given`: the file's
    columns; `conflicted_first_rows`: first row -> later rows with different data."""
    batch = BatchPlan()
    for r in rows:
        if r.row in conflicted_first_rows:
            later = ", ".join(str(n) for n in conflicted_first_rows[r.row])
            batch.outcomes[r.row] = rejected(
                r,
                f"external_id {r.external_id!r} is also in row(s) {later} with different "
                "data; keep one row per patient",
            )
            continue
        known = existing.get(r.external_id)
        if known is None:
            batch.creates.append(r)
            batch.outcomes[r.row] = RowOutcome(r.row, r.external_id, "created")
            continue
        if known.erased_at is not None:
            batch.outcomes[r.row] = rejected(
                r,
                f"this patient was erased on {known.erased_at:%Y-%m-%d} and cannot be "
                "imported again under the same external_id",
            )
            continue
        changes = changed_values(r, known, given)
        moved = known.performed_at != r.treated_at or "timezone" in changes
        if changes or moved:
            batch.updates.append(PatientUpdate(r, known, changes, moved))
            batch.outcomes[r.row] = RowOutcome(r.row, r.external_id, "updated")
        else:
            batch.outcomes[r.row] = RowOutcome(r.row, r.external_id, "unchanged")
        if reissue_invites and not known.telegram_linked:
            batch.reissues.append((r, known.id))
    return batch


def changed_values(r: ValidRow, known: ExistingPatient, given: frozenset[str]) -> dict[str, Any]:
    """Stored values a row changes. A column the file does not have leaves its value alone."""
    changes: dict[str, Any] = {}
    for column in COMPARED:
        if column not in given:
            continue
        new, old = getattr(r, column), getattr(known, column)
        if new != old:
            changes[column] = new
    return changes


def rejected(r: ValidRow, message: str) -> RowOutcome:
    return RowOutcome(r.row, r.external_id, "rejected", [RowError(r.row, "external_id", message)])
