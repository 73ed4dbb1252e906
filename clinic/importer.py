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
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.telegram.invites import invite_url
from clinic.checking import (
    REJECTED,
    Checked,
    Item,
    Progress,
    check_file,
    read_spool,
    rejected_outcome,
)
from clinic.csv_rows import ClinicContext, RowError, ValidRow
from clinic.outcomes import ImportResult, RowOutcome
from clinic.reader import CsvSource, Limits
from scheduler.planning import Planner, reminder_insert
from scheduler.timeline import PlannedReminder, plan
from storage.bulk import ReminderInsert, insert_reminders
from storage.enrollment import ClinicProfile, EnrollmentStore, ExistingPatient
from storage.invites import TOKEN_BYTES, token_hash

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5000
_PLAN_MEMO = 8192  # entries (a few MB); bounded whatever the file
_COMPARED = ("first_name", "phone", "timezone", "language", "channel")


class Importer:
    def __init__(
        self,
        store: EnrollmentStore,
        planner: Planner,
        *,
        invite_ttl: timedelta,
        bot_username: str | None,
        limits: Limits | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        before_commit: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.planner = planner
        self.invite_ttl = invite_ttl
        if bot_username:
            invite_url(bot_username, "check")  # a bad username fails here, not mid-import
        self.bot_username = bot_username
        self.limits = limits or Limits()
        self.batch_size = batch_size
        # Called inside each batch's transaction, after its writes: a failure here (or a
        # crash) rolls the whole batch back. Tests use it to inject a crash.
        self.before_commit = before_commit
        self._plans: dict[tuple[datetime, str, datetime], list[PlannedReminder]] = {}

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
        protocol = self.planner.default_protocol
        context = ClinicContext(
            clinic.country, clinic.timezone, clinic.language, clinic.date_format, now, protocol
        )
        result = ImportResult(dry_run=dry_run, invites_enabled=self.bot_username is not None)
        if collect_patients:
            result.patients = []
        with tempfile.TemporaryFile() as spool:
            source = CsvSource(stream, self.limits)
            checked = check_file(source, context, spool, result, progress, total_bytes)
            spool.seek(0)
            self._import(
                clinic,
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
        given = frozenset(checked.header.positions)
        batch_number = 0
        done = 0
        pending: list[Item] = []
        valid_in_pending = 0

        def flush() -> None:
            nonlocal batch_number, done, pending, valid_in_pending
            batch_number += 1
            outcomes = self._batch(
                clinic, pending, checked, given, now, batch_number, dry_run, reissue_invites
            )
            for outcome, item in zip(outcomes, pending, strict=True):
                result.count(outcome.status)
                if outcome.status == "rejected" and item[0] != REJECTED:
                    result.errors.extend(outcome.errors)  # found by this pass, not the first
                if result.patients is not None and outcome.status in (
                    "created",
                    "updated",
                    "unchanged",
                ):
                    result.patients.append(
                        {
                            "row": outcome.row,
                            "external_id": outcome.external_id,
                            "status": outcome.status,
                            "invite_url": outcome.invite_url,
                        }
                    )
                if on_row is not None:
                    on_row(outcome)
            done += valid_in_pending
            pending, valid_in_pending = [], 0
            if progress is not None:
                progress("importing", done, checked.valid)

        # A batch ends at `batch_size` items of either kind, so a run of rejected rows is
        # never held in memory whole either.
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
        items: list[Item],
        checked: Checked,
        given: frozenset[str],
        now: datetime,
        number: int,
        dry_run: bool,
        reissue_invites: bool,
    ) -> list[RowOutcome]:
        if all(item[0] == REJECTED for item in items):
            return [rejected_outcome(item) for item in items]  # nothing to look up or write
        if dry_run:
            with self.store.reading() as session:
                return self._write(
                    session, clinic, items, checked, given, now, dry_run, reissue_invites
                )
        attempts = 3  # a concurrent import of the same patients may win the unique key race
        for attempt in range(1, attempts + 1):
            try:
                with self.store.db.session() as session:
                    outcomes = self._write(
                        session, clinic, items, checked, given, now, dry_run, reissue_invites
                    )
                    if self.before_commit is not None:
                        self.before_commit(number)
            except IntegrityError:
                if attempt == attempts:
                    raise
                log.warning("enrollment batch %d collided with another writer; retrying", number)
            else:
                break
        self._wake(outcomes)
        return outcomes

    def _wake(self, outcomes: list[RowOutcome]) -> None:
        """A running engine sleeps until its next known reminder: the welcomes are due now."""
        notify = self.planner.on_planned
        if notify is not None and any(o.status != "rejected" for o in outcomes):
            notify(self.planner.clock.now())

    def _write(
        self,
        session: Session,
        clinic: ClinicProfile,
        items: list[Item],
        checked: Checked,
        given: frozenset[str],
        now: datetime,
        dry_run: bool,
        reissue_invites: bool,
    ) -> list[RowOutcome]:
        rows = [ValidRow(*item) for item in items if item[0] != REJECTED]
        if not dry_run:
            self.store.prepare_bulk(session)
        existing = self.store.existing(session, clinic.id, [r.external_id for r in rows])
        decided: dict[int, RowOutcome] = {}
        creates: list[ValidRow] = []
        invites_for: list[tuple[ValidRow, int]] = []
        updates: list[tuple[ValidRow, ExistingPatient, dict[str, Any], bool]] = []
        for r in rows:
            if r.row in checked.conflicted_first_rows:
                later = ", ".join(str(n) for n in checked.conflicted_first_rows[r.row])
                decided[r.row] = _rejected(
                    r,
                    f"external_id {r.external_id!r} is also in row(s) {later} with different "
                    "data; keep one row per patient",
                )
                continue
            known = existing.get(r.external_id)
            if known is None:
                creates.append(r)
                continue
            if known.erased_at is not None:
                decided[r.row] = _rejected(
                    r,
                    f"this patient was erased on {known.erased_at:%Y-%m-%d} and cannot be "
                    "imported again under the same external_id",
                )
                continue
            changes = _changes(r, known, given)
            moved = known.performed_at != r.treated_at or "timezone" in changes
            if changes or moved:
                updates.append((r, known, changes, moved))
                decided[r.row] = RowOutcome(r.row, r.external_id, "updated")
            else:
                decided[r.row] = RowOutcome(r.row, r.external_id, "unchanged")
            if reissue_invites and not known.telegram_linked:
                invites_for.append((r, known.id))

        tokens: dict[int, str] = {}
        if not dry_run:
            tokens = self._create(session, clinic, creates, now)
            for r, known, changes, moved in updates:
                self._update(session, r, known, changes, moved, now)
            tokens.update(self._invites(session, invites_for, now))
        for r in creates:
            decided[r.row] = RowOutcome(r.row, r.external_id, "created")

        outcomes: list[RowOutcome] = []
        for item in items:
            if item[0] == REJECTED:
                outcomes.append(rejected_outcome(item))
                continue
            row = item[0]
            outcome = decided[row]
            token = tokens.get(row)
            if token is not None and self.bot_username:
                outcome = RowOutcome(
                    row,
                    outcome.external_id,
                    outcome.status,
                    outcome.errors,
                    invite_url(self.bot_username, token),
                )
            outcomes.append(outcome)
        return outcomes

    def _create(
        self, session: Session, clinic: ClinicProfile, creates: list[ValidRow], now: datetime
    ) -> dict[int, str]:
        """Batched inserts of patients, treatments, reminders and invites; row -> invite token."""
        if not creates:
            return {}
        patient_ids = self.store.insert_patients(
            session,
            clinic.id,
            [
                (r.external_id, r.first_name, r.phone, r.timezone, r.language, r.channel)
                for r in creates
            ],
            now,
        )
        pids = [patient_ids[r.external_id] for r in creates]
        protocol = self.planner.default_protocol
        treatment_ids = self.store.insert_treatments(
            session,
            [(pid, r.treated_at) for r, pid in zip(creates, pids, strict=True)],
            now,
            protocol.name,
        )
        reminders: list[ReminderInsert] = []
        for r, pid in zip(creates, pids, strict=True):
            tid = treatment_ids[pid]
            for p in self._plan(r, now):
                reminders.append(reminder_insert(tid, pid, r.channel, p))
        insert_reminders(session, reminders)
        return self._invites(session, list(zip(creates, pids, strict=True)), now)

    def _invites(
        self, session: Session, patients: list[tuple[ValidRow, int]], now: datetime
    ) -> dict[int, str]:
        """Only made when a bot username is configured: a token nobody can use is no invite."""
        if not self.bot_username or not patients:
            return {}
        tokens: dict[int, str] = {}
        rows = []
        for r, pid in patients:
            token = secrets.token_urlsafe(TOKEN_BYTES)
            tokens[r.row] = token
            rows.append((pid, token_hash(token)))
        self.store.insert_invites(session, rows, now, now + self.invite_ttl)
        return tokens

    def _plan(self, r: ValidRow, now: datetime) -> list[PlannedReminder]:
        # plan() is pure and one import registers everyone at the same `now`: patients
        # treated at the same time in the same zone (a clinic's booking slots) share a plan.
        key = (r.treated_at, r.timezone, now)
        planned = self._plans.get(key)
        if planned is None:
            if len(self._plans) >= _PLAN_MEMO:
                self._plans.clear()
            planned = self._plans[key] = plan(
                r.treated_at,
                self.planner.default_protocol,
                ZoneInfo(r.timezone),
                self.planner.quiet,
                now,
            )
        return planned

    def _update(
        self,
        session: Session,
        r: ValidRow,
        known: ExistingPatient,
        changes: dict[str, Any],
        moved: bool,
        now: datetime,
    ) -> None:
        if changes:
            row = {"b_id": known.id, "b_updated_at": now}
            row.update({f"b_{k}": v for k, v in changes.items()})
            self.store.update_patients(session, [row], changes)
        channel = changes.get("channel", known.channel)
        if "channel" in changes:
            self.store.reroute_pending(session, known.id, channel)
        if moved:
            zone = changes.get("timezone", known.timezone)
            self._reschedule(session, r, known, ZoneInfo(zone), channel, now)

    def _reschedule(
        self,
        session: Session,
        r: ValidRow,
        known: ExistingPatient,
        zone: ZoneInfo,
        channel: str,
        now: datetime,
    ) -> None:
        """A changed treatment time, inside this batch's transaction."""
        protocol = self.planner.default_protocol
        if known.treatment_id is None:  # every earlier treatment was cancelled: start anew
            tid = self.store.insert_treatments(
                session, [(known.id, r.treated_at)], now, protocol.name
            )[known.id]
            insert_reminders(
                session,
                [reminder_insert(tid, known.id, channel, p) for p in self._plan(r, now)],
            )
            return
        self.planner.reschedule_in(
            session, known.treatment_id, known.id, zone, channel, r.treated_at, now
        )


def _changes(r: ValidRow, known: ExistingPatient, given: frozenset[str]) -> dict[str, Any]:
    """Stored values a row changes. A column the file does not have leaves its value alone."""
    changes: dict[str, Any] = {}
    for column in _COMPARED:
        if column not in given:
            continue
        new, old = getattr(r, column), getattr(known, column)
        if new != old:
            changes[column] = new
    return changes


def _rejected(r: ValidRow, message: str) -> RowOutcome:
    return RowOutcome(r.row, r.external_id, "rejected", [RowError(r.row, "external_id", message)])
