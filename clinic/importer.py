"""The one importer behind `aftercare enroll` and `POST /api/v1/enrollments`.

Two passes. The first reads and validates the whole file, streaming, and spools the rows
with data (valid ones, and rejected ones with their errors) to a temporary file: a file that
turns out unreadable halfway writes nothing. The second upserts the valid rows in batches;
each batch (patients, treatments, reminders, invites) is one transaction, so a crash leaves
whole patients or none, and running the same file again creates only what is missing (rows
already stored come back as unchanged).

Memory is bounded by the batch size, not by the file: blank rows are only counted, the
second pass holds at most one batch of spooled rows, and the error list is capped. What
grows with the file is small and bounded by the row limit (the duplicate check's digests;
the API's list of patients, which carries invite links shown only once).

A dry run only reads: on SQLite through a read-only connection that never takes the write
lock, so reminders keep going out while a clinic checks a file.

The parts: `clinic.checking` (pass 1), `clinic.batch_plan` (what each row of a batch does),
`clinic.batch_writer` (writing a batch), `clinic.outcomes` (what is reported).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import BinaryIO

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic.batch_plan import plan_batch
from clinic.batch_writer import BatchWriter
from clinic.checking import (
    REJECTED,
    Checked,
    Item,
    Progress,
    check_file,
    read_spool,
    rejected_outcome,
)
from clinic.csv_rows import ClinicContext, ValidRow
from clinic.dates import import_window
from clinic.outcomes import ImportResult, RowOutcome
from clinic.reader import CsvSource, Limits
from scheduler.planning import MAX_AHEAD, Planner
from scheduler.protocol_catalog import ClinicPlans
from storage.enrollment import ClinicProfile, EnrollmentStore, UnitOfWork

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5000

InviteLink = Callable[[str], str]  # invite token -> the link a patient taps


def clinic_context(clinic: ClinicProfile, plans: ClinicPlans, now: datetime) -> ClinicContext:
    """What the row checks know of the clinic at `now`: its protocols (by service too) and
    how far ahead it takes appointments."""
    ahead = MAX_AHEAD if clinic.days_ahead is None else timedelta(days=clinic.days_ahead)
    return ClinicContext(
        clinic.country,
        clinic.timezone,
        clinic.language,
        clinic.date_format,
        now,
        plans.default.protocol,
        ahead,
        {service: planning.protocol for service, planning in plans.services.items()},
    )


class Importer:
    def __init__(
        self,
        store: EnrollmentStore,
        planner: Planner,
        *,
        invite_ttl: timedelta,
        invite_link: InviteLink | None,
        limits: Limits | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        before_commit: Callable[[int], None] | None = None,
    ) -> None:
        """`invite_link` None: no invites are made (there is no bot to open them)."""
        self.store = store
        self.planner = planner
        self.invite_link = invite_link
        self.writer = BatchWriter(
            store, planner, invite_ttl=invite_ttl, make_invites=invite_link is not None
        )
        self.limits = limits or Limits()
        self.batch_size = batch_size
        # Called inside each batch's transaction, after its writes: a failure here (or a
        # crash) rolls the whole batch back. Tests use it to inject a crash.
        self.before_commit = before_commit

    def context(self, clinic: ClinicProfile) -> ClinicContext:
        """The row checks' view of the clinic now, as `run` takes it (for a preview that
        reads the file again)."""
        with self.store.reading() as session:
            plans = self.planner.protocols.plans(session, clinic.id)
        return clinic_context(clinic, plans, self.planner.clock.now())

    def run(
        self,
        clinic: ClinicProfile,
        stream: BinaryIO,
        *,
        dry_run: bool = False,
        reissue_invites: bool = False,
        collect_patients: bool = False,
        on_row: Callable[[RowOutcome], None] | None = None,
        progress: Progress | None = None,
        total_bytes: int = 0,
    ) -> ImportResult:
        """Validate then import `stream`. Raises `FileProblem` when nothing can be read."""
        now = self.planner.clock.now()
        # The clinic's protocols as they stand when the import starts, for every batch.
        with self.store.reading() as session:
            plans = self.planner.protocols.plans(session, clinic.id)
        context = clinic_context(clinic, plans, now)
        result = ImportResult(dry_run=dry_run, invites_enabled=self.invite_link is not None)
        if collect_patients:
            result.patients = []
        with tempfile.TemporaryFile() as spool:
            source = CsvSource(stream, self.limits, clinic.column_map)
            checked = check_file(source, context, spool, result, progress, total_bytes)
            spool.seek(0)
            self._import(
                clinic,
                plans,
                checked,
                read_spool(spool),
                now,
                result,
                dry_run=dry_run,
                reissue_invites=reissue_invites,
                on_row=on_row,
                progress=progress,
            )
        log.info(
            "enrollment clinic=%s dry_run=%s created=%d updated=%d unchanged=%d rejected=%d "
            "blank=%d",
            clinic.id,
            dry_run,
            result.created,
            result.updated,
            result.unchanged,
            result.rejected,
            result.blank_rows,
        )
        return result

    # -- pass 2: import -----------------------------------------------------------------------

    def _import(
        self,
        clinic: ClinicProfile,
        plans: ClinicPlans,
        checked: Checked,
        items: Iterator[Item],
        now: datetime,
        result: ImportResult,
        *,
        dry_run: bool,
        reissue_invites: bool,
        on_row: Callable[[RowOutcome], None] | None,
        progress: Progress | None,
    ) -> None:
        batch_number = 0
        done = 0
        pending: list[Item] = []
        valid_in_pending = 0

        def flush() -> None:
            nonlocal batch_number, done, pending, valid_in_pending
            batch_number += 1
            outcomes = self._batch(
                clinic, plans, pending, checked, now, batch_number, unit, dry_run, reissue_invites
            )
            for outcome, item in zip(outcomes, pending, strict=True):
                result.record(outcome, errors_listed=item[0] == REJECTED)
                if on_row is not None:
                    on_row(outcome)
            done += valid_in_pending
            pending, valid_in_pending = [], 0
            if progress is not None:
                progress("importing", done, checked.valid)

        # Every batch's transaction on one connection (a dry run only reads). A batch ends
        # at `batch_size` items of either kind, so a run of rejected rows is never held in
        # memory whole either.
        units = nullcontext(self.store.reading) if dry_run else self.store.import_batches()
        with units as unit:
            for item in items:
                pending.append(item)
                if item[0] != REJECTED:
                    valid_in_pending += 1
                if len(pending) >= self.batch_size:
                    flush()
            if pending:
                flush()

    def _batch(
        self,
        clinic: ClinicProfile,
        plans: ClinicPlans,
        items: list[Item],
        checked: Checked,
        now: datetime,
        number: int,
        unit: UnitOfWork,
        dry_run: bool,
        reissue_invites: bool,
    ) -> list[RowOutcome]:
        if all(item[0] == REJECTED for item in items):
            return [rejected_outcome(item) for item in items]  # nothing to look up or write
        if dry_run:
            with unit() as session:
                return self._write(
                    session, clinic, plans, items, checked, now, dry_run, reissue_invites
                )
        attempts = 3  # a concurrent import of the same patients may win the unique key race
        for attempt in range(1, attempts + 1):
            try:
                # Running engines hear of the new reminders when this commits (the planner's
                # "planned" notification): the welcomes are due now.
                with unit() as session:
                    outcomes = self._write(
                        session, clinic, plans, items, checked, now, dry_run, reissue_invites
                    )
                    if self.before_commit is not None:
                        self.before_commit(number)
            except IntegrityError:
                if attempt == attempts:
                    raise
                log.warning("enrollment batch %d collided with another writer; retrying", number)
            else:
                break
        return outcomes

    def _write(
        self,
        session: Session,
        clinic: ClinicProfile,
        plans: ClinicPlans,
        items: list[Item],
        checked: Checked,
        now: datetime,
        dry_run: bool,
        reissue_invites: bool,
    ) -> list[RowOutcome]:
        """Plan the batch from what is stored, write it (unless a dry run), report each row."""
        rows = [ValidRow(*item) for item in items if item[0] != REJECTED]
        if not dry_run:
            self.store.prepare_bulk(session)
        existing = self.store.existing(session, clinic.id, [r.external_id for r in rows])
        batch = plan_batch(
            rows,
            existing,
            checked.conflicted_first_rows,
            frozenset(checked.header.positions),
            reissue_invites=reissue_invites,
            session_gap=import_window(plans.default.protocol),
            service_gaps={s: import_window(p.protocol) for s, p in plans.services.items()},
        )
        tokens = {} if dry_run else self.writer.write(session, clinic.id, plans, batch, now)
        outcomes: list[RowOutcome] = []
        for item in items:
            if item[0] == REJECTED:
                outcomes.append(rejected_outcome(item))
                continue
            outcome = batch.outcomes[item[0]]
            token = tokens.get(outcome.row)
            if token is not None and self.invite_link is not None:
                outcome = RowOutcome(
                    outcome.row,
                    outcome.external_id,
                    outcome.status,
                    outcome.errors,
                    self.invite_link(token),
                    outcome.action,
                    outcome.reason,
                    outcome.needs_invite,
                )
            outcomes.append(outcome)
        return outcomes
