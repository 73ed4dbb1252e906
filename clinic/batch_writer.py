"""Writing one planned import batch inside the caller's transaction.

New patients, their treatments and reminders go through the planner's one write path;
stored patients get their changed values, their pending reminders follow a new channel, and
a moved treatment time moves its reminders. Invite tokens are made only when the caller can
turn them into links: a token nobody can use is no invite.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from clinic.batch_plan import BatchPlan, PatientUpdate
from clinic.csv_rows import ValidRow
from scheduler.planning import NewTreatment, Planner
from scheduler.protocol_catalog import ClinicPlanning, ClinicPlans
from storage.appointments import cancel_treatments, one_plan_at_a_time, set_appointment_ids
from storage.bulk import PatientInsert
from storage.enrollment import EnrollmentStore
from storage.invites import TOKEN_BYTES, token_hash


class BatchWriter:
    def __init__(
        self,
        store: EnrollmentStore,
        planner: Planner,
        *,
        invite_ttl: timedelta,
        make_invites: bool,
    ) -> None:
        self.store = store
        self.planner = planner
        self.invite_ttl = invite_ttl
        self.make_invites = make_invites

    def write(
        self, session: Session, clinic_id: int, plans: ClinicPlans, batch: BatchPlan, now: datetime
    ) -> dict[int, str]:
        """Store the batch; returns row -> invite token for the rows given a new invite.
        New treatments are planned with `plans` (a mapped service's protocol, else the
        clinic's default)."""
        tokens: dict[int, str] = {}
        for service, creates in _by_service(batch.creates).items():
            tokens.update(
                self._create(session, clinic_id, plans.for_service(service), creates, now)
            )
        cancel_treatments(session, batch.cancels, now)
        for update in batch.updates:
            self._update(session, plans, update, now)
        tokens.update(self._invites(session, batch.reissues, now))
        return tokens

    def _create(
        self,
        session: Session,
        clinic_id: int,
        planning: ClinicPlanning,
        creates: list[ValidRow],
        now: datetime,
    ) -> dict[int, str]:
        if not creates:
            return {}
        registrations = self.planner.enroll(
            session,
            clinic_id,
            [
                (
                    PatientInsert(
                        r.external_id,
                        r.first_name,
                        r.phone,
                        None,  # a chat id comes later, with the invite
                        r.timezone,
                        r.language,
                        r.channel,
                    ),
                    r.treated_at,
                )
                for r in creates
            ],
            now,
            planning=planning,
            services=[r.service_name for r in creates],
        )
        patient_ids = [registration.patient_id for registration in registrations]
        set_appointment_ids(
            session,
            [
                (registration.treatment_id, r.appointment_id)
                for r, registration in zip(creates, registrations, strict=True)
                if r.appointment_id is not None
            ],
        )
        return self._invites(session, list(zip(creates, patient_ids, strict=True)), now)

    def _invites(
        self, session: Session, patients: list[tuple[ValidRow, int]], now: datetime
    ) -> dict[int, str]:
        if not self.make_invites or not patients:
            return {}
        tokens: dict[int, str] = {}
        rows = []
        for r, pid in patients:
            token = secrets.token_urlsafe(TOKEN_BYTES)
            tokens[r.row] = token
            rows.append((pid, token_hash(token)))
        self.store.insert_invites(session, rows, now, now + self.invite_ttl)
        return tokens

    def _update(
        self, session: Session, plans: ClinicPlans, update: PatientUpdate, now: datetime
    ) -> None:
        known, changes = update.known, update.changes
        if changes:
            row = {"b_id": known.id, "b_updated_at": now}
            row.update({f"b_{k}": v for k, v in changes.items()})
            self.store.update_patients(session, [row], changes)
        if "channel" in changes:
            self.store.reroute_pending(session, known.id, update.channel)
        if update.moved:
            self._reschedule(session, plans, update, now)

    def _reschedule(
        self, session: Session, plans: ClinicPlans, update: PatientUpdate, now: datetime
    ) -> None:
        """A changed treatment time or zone, inside this batch's transaction."""
        known, treated_at = update.known, update.row.treated_at
        target = update.treatment_id or known.treatment_id
        if update.new_session or target is None:  # a new session, or every earlier one
            [registration] = self.planner.add_treatments(  # was cancelled: start anew
                session,
                [
                    NewTreatment(
                        known.id, update.zone, update.channel, treated_at, update.row.service_name
                    )
                ],
                now,
                plans.for_service(update.row.service),
            )
            if update.row.appointment_id is not None:
                set_appointment_ids(
                    session, [(registration.treatment_id, update.row.appointment_id)]
                )
            one_plan_at_a_time(session, known.id, registration.treatment_id, treated_at, now)
            return
        self.planner.reschedule_in(
            session,
            target,
            known.id,
            ZoneInfo(update.zone),
            update.channel,
            treated_at,
            now,
            before=plans.default.before,  # the clinic's day-before switch, read once
        )


def _by_service(rows: list[ValidRow]) -> dict[str | None, list[ValidRow]]:
    """Rows by the mapped service they are planned for (None: the clinic's default)."""
    if all(r.service is None for r in rows):
        return {None: rows} if rows else {}
    groups: dict[str | None, list[ValidRow]] = {}
    for r in rows:
        groups.setdefault(r.service, []).append(r)
    return groups
