"""What one import batch does with each valid row, decided from what is stored. Pure: no I/O.

A row whose patient is new is created; a stored patient is updated when the row changes a
value the file has a column for, or moves the treatment time or zone, and is otherwise left
unchanged. Rows that cannot be imported now (an erased patient, an external id the file
gives twice with different data) are rejected here.

Each row's `action` says what happened to the treatment (see `treatment_action`): created,
new session, corrected, cancelled, unchanged or skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from clinic.csv_rows import RowError, ValidRow
from clinic.outcomes import RowOutcome, another_service, nothing_to_cancel
from storage.enrollment import ExistingPatient

COMPARED = ("first_name", "phone", "timezone", "language", "channel")


@dataclass(frozen=True)
class PatientUpdate:
    row: ValidRow
    known: ExistingPatient
    changes: dict[str, Any]  # column -> new value
    moved: bool  # the treatment time or the zone changed: its reminders move
    treatment_id: int | None = None  # the treatment moved (None: the current one)
    new_session: bool = False  # a new treatment with its own plan instead of a move

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
    cancels: list[int] = field(default_factory=list)  # treatment ids


def plan_batch(
    rows: Sequence[ValidRow],
    existing: dict[str, ExistingPatient],
    conflicted_first_rows: dict[int, list[int]],
    given: frozenset[str],
    *,
    reissue_invites: bool,
    session_gap: timedelta = timedelta(days=17),
    service_gaps: Mapping[str, timedelta] | None = None,
) -> BatchPlan:
    """`existing`: the stored patients among the rows' external ids; `given`: the file's
    columns; `conflicted_first_rows`: first row -> later rows with different data;
    `session_gap`: without appointment ids, a time at least this much later than the
    current treatment is a new session, a nearer one a correction (the protocol's length);
    `service_gaps`: the same for the services a clinic mapped to their own protocol."""
    batch = BatchPlan()
    default_gap = session_gap
    for r in rows:
        session_gap = default_gap
        if r.service is not None and service_gaps:
            session_gap = service_gaps.get(r.service, default_gap)
        if r.skipped:
            why = another_service(r.row, r.service_name or "")
            batch.outcomes[r.row] = skipped(r, why)
            continue
        if r.row in conflicted_first_rows:
            later = ", ".join(str(n) for n in conflicted_first_rows[r.row])
            batch.outcomes[r.row] = rejected(
                r,
                f"external_id {r.external_id!r} is also in row(s) {later} with different "
                "data; keep one row per patient",
            )
            continue
        known = existing.get(r.external_id)
        if known is None and r.cancelled:  # nothing was planned: nothing to cancel
            batch.outcomes[r.row] = skipped(r, nothing_to_cancel(r.row))
            continue
        if known is None:
            batch.creates.append(r)
            batch.outcomes[r.row] = RowOutcome(
                r.row,
                r.external_id,
                "created",
                action="created",
                needs_invite=r.channel == "telegram",
            )
            continue
        if known.erased_at is not None:
            batch.outcomes[r.row] = rejected(
                r,
                f"this patient was erased on {known.erased_at:%Y-%m-%d} and cannot be "
                "imported again under the same external_id",
            )
            continue
        changes = changed_values(r, known, given)
        action, target = treatment_action(r, known, session_gap)
        if action == "rejected":
            batch.outcomes[r.row] = rejected(
                r,
                f"is more than {session_gap.days} days before the patient's current treatment "
                f"({known.performed_at:%Y-%m-%d}): an earlier session without an "
                "appointment_id cannot be told from a mistake",
                column="treatment_at",
            )
            continue
        if action == "cancelled" and target is not None:
            batch.cancels.append(target)
        moved = action in ("corrected", "new session") or (
            "timezone" in changes and action == "unchanged"
        )
        if changes or moved:
            batch.updates.append(
                PatientUpdate(r, known, changes, moved, target, action == "new session")
            )
        if action == "skipped":  # a cancellation matching no stored session
            batch.outcomes[r.row] = skipped(r, nothing_to_cancel(r.row))
        else:
            status = "updated" if changes or action != "unchanged" else "unchanged"
            batch.outcomes[r.row] = RowOutcome(r.row, r.external_id, status, action=action)
        if reissue_invites and not known.telegram_linked:
            batch.reissues.append((r, known.id))
    return batch


def treatment_action(
    r: ValidRow, known: ExistingPatient, session_gap: timedelta
) -> tuple[str, int | None]:
    """What a row of a stored patient does to their treatments, and which treatment.

    With an appointment id: a new id is a new session, a known one moved in time is a
    correction. Without: a time within `session_gap` of the current treatment is a
    correction, a later one a new session. A cancelled or missed booking cancels its
    treatment; one that matches nothing stored is skipped (nothing was planned for it).
    """
    if r.appointment_id is not None:
        booked = known.appointments.get(r.appointment_id)
        if booked is None:
            return ("skipped", None) if r.cancelled else ("new session", None)
        tid, performed, was_cancelled = booked
        if was_cancelled:
            return "unchanged", tid  # a cancelled booking stays cancelled
        if r.cancelled:
            return "cancelled", tid
        return ("unchanged" if performed == r.treated_at else "corrected"), tid
    current: datetime | None = known.performed_at
    if known.treatment_id is None or current is None:  # every earlier one was cancelled
        return ("unchanged", None) if r.cancelled else ("new session", None)
    if r.treated_at - current >= session_gap:
        return ("skipped", None) if r.cancelled else ("new session", None)
    if current - r.treated_at >= session_gap:
        return ("unchanged", None) if r.cancelled else ("rejected", None)
    if r.cancelled:
        return "cancelled", known.treatment_id
    return ("unchanged" if current == r.treated_at else "corrected"), known.treatment_id


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


def rejected(r: ValidRow, message: str, column: str = "external_id") -> RowOutcome:
    return RowOutcome(r.row, r.external_id, "rejected", [RowError(r.row, column, message)])


def skipped(r: ValidRow, reason: RowError) -> RowOutcome:
    return RowOutcome(r.row, r.external_id, "skipped", action="skipped", reason=reason)
