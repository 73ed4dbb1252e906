"""Upserting into real databases (SQLite and PostgreSQL): idempotent re-import, rescheduling,
dry runs that write nothing, and batches that survive a crash whole or not at all."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from aftercare.wiring import Core
from clinic.importer import Importer
from clinic.report import summary_lines
from scheduler.clock import FakeClock
from storage.enrollment import ClinicProfile, EnrollmentStore, UnitOfWork
from storage.invites import InviteRepository
from storage.models import Clinic, Invite, Patient, Reminder, ReminderStatus, Treatment
from tests.clinic.conftest import HEADER, Run, errors_of, make_importer

FILE = HEADER + (
    "P1,2026-03-01 10:30,Ana,(212) 555-0101,,,\n"
    "P2,2026-03-01 16:30,Bo,,Europe/Madrid,es,telegram\n"
    "P3,2026-03-02T08:00:00-05:00,Cy,+1 212 555 0103,,en,sms\n"
)


def counts(core: Core) -> dict[str, int]:
    with core.db.session() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Patient, Treatment, Reminder, Invite)
        }


def reminders_of(core: Core, external_id: str) -> dict[str, tuple[datetime, str]]:
    with core.db.session() as session:
        rows = session.execute(
            select(Reminder.milestone, Reminder.due_at, Reminder.status)
            .join(Patient, Patient.id == Reminder.patient_id)
            .where(Patient.external_id == external_id)
        )
        return {milestone: (due, status) for milestone, due, status in rows}


def test_a_new_patient_gets_treatment_reminders_and_a_working_invite(run: Run, core: Core) -> None:
    result, outcomes = run(FILE)
    assert (result.created, result.rejected) == (3, 0)
    assert counts(core) == {"patient": 3, "treatment": 3, "reminder": 21, "invite": 3}
    # Ana, treated Sunday 10:30 in New York: each milestone at its offset, the welcome now.
    assert reminders_of(core, "P1") == {
        "welcome": (datetime(2026, 3, 2, 15, 0, tzinfo=UTC), "pending"),
        "makeup": (datetime(2026, 3, 2, 15, 30, tzinfo=UTC), "pending"),
        "checkin_24h": (datetime(2026, 3, 2, 15, 30, tzinfo=UTC), "pending"),
        "sweat": (datetime(2026, 3, 3, 15, 30, tzinfo=UTC), "pending"),
        "cleanser": (datetime(2026, 3, 4, 15, 30, tzinfo=UTC), "pending"),
        "checkin_72h": (datetime(2026, 3, 4, 15, 30, tzinfo=UTC), "pending"),
        "sunscreen": (datetime(2026, 3, 15, 14, 30, tzinfo=UTC), "pending"),  # after DST
    }
    link = outcomes[0].invite_url
    assert link is not None and link.startswith("https://t.me/GlowClinicBot?start=")
    token = link.rsplit("=", 1)[1]
    with core.db.session() as session:
        p1 = session.scalar(select(Patient.id).where(Patient.external_id == "P1"))
    assert InviteRepository(core.db).redeem(token, core.clock.now()) == p1


def test_importing_the_same_file_again_changes_nothing(run: Run, core: Core) -> None:
    run(FILE)
    before = counts(core)
    with core.db.session() as session:
        snapshot = [
            (r.id, r.due_at, r.status)
            for r in session.scalars(select(Reminder).order_by(Reminder.id))
        ]
    result, outcomes = run(FILE)
    assert (result.created, result.updated, result.unchanged, result.rejected) == (0, 0, 3, 0)
    assert [o.invite_url for o in outcomes] == [None, None, None]
    assert counts(core) == before
    with core.db.session() as session:
        assert snapshot == [
            (r.id, r.due_at, r.status)
            for r in session.scalars(select(Reminder).order_by(Reminder.id))
        ]


def test_a_corrected_treatment_time_reschedules_pending_reminders(
    run: Run, core: Core, clock: FakeClock
) -> None:
    run(FILE)
    clock.advance(timedelta(hours=1))
    corrected = FILE.replace("P1,2026-03-01 10:30,Ana", "P1,2026-03-01 12:00,Ana")
    result, _ = run(corrected)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    p1 = reminders_of(core, "P1")
    assert p1["sweat"] == (datetime(2026, 3, 3, 17, 0, tzinfo=UTC), "pending")
    assert p1["sunscreen"] == (datetime(2026, 3, 15, 16, 0, tzinfo=UTC), "pending")
    assert p1["welcome"] == (datetime(2026, 3, 2, 15, 0, tzinfo=UTC), "pending")  # not repeated
    with core.db.session() as session:
        performed = session.scalar(
            select(Treatment.performed_at).join(Patient).where(Patient.external_id == "P1")
        )
    assert performed == datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
    assert counts(core)["reminder"] == 21


def test_a_changed_channel_moves_pending_reminders(run: Run, core: Core) -> None:
    run(FILE)
    result, _ = run(FILE.replace("Cy,+1 212 555 0103,,en,sms", "Cy,+1 212 555 0103,,en,telegram"))
    assert result.updated == 1
    assert {status for _, status in reminders_of(core, "P3").values()} == {"pending"}
    with core.db.session() as session:
        channels = set(
            session.scalars(
                select(Reminder.channel).join(Patient).where(Patient.external_id == "P3")
            )
        )
    assert channels == {"telegram"}


def test_dry_run_reports_the_same_counts_and_writes_nothing(run: Run, core: Core) -> None:
    result, outcomes = run(FILE, dry_run=True)
    assert (result.created, result.rejected, result.dry_run) == (3, 0, True)
    assert all(o.invite_url is None for o in outcomes)
    assert counts(core) == {"patient": 0, "treatment": 0, "reminder": 0, "invite": 0}


def test_a_dry_run_reads_without_blocking_writers_and_cannot_write(
    run: Run, core: Core, profile: ClinicProfile
) -> None:
    """What a dry run uses: a read-only unit of work. While one is open (and has read),
    a writer commits without waiting for it, and a write inside it fails at once."""
    store = EnrollmentStore(core.db)
    with store.reading() as reading:
        assert store.existing(reading, profile.id, ["P1"]) == {}
        finished = threading.Event()

        def write() -> None:
            run(FILE)  # BEGIN IMMEDIATE on SQLite: would wait for a reader holding the lock
            finished.set()

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(timeout=20)
        assert finished.is_set()
        with pytest.raises(DBAPIError):
            reading.execute(update(Patient).values(first_name="x"))
    assert counts(core)["patient"] == 3


def test_a_crash_mid_import_leaves_whole_patients_and_a_rerun_finishes(
    core: Core, profile: ClinicProfile, run: Run
) -> None:
    rows = "".join(f"K{i:03d},2026-03-01 10:30,,,,,telegram\n" for i in range(25))

    def crash_in_third_batch(batch: int) -> None:
        if batch == 3:
            raise RuntimeError("power cut")

    crashing: Importer = make_importer(core, batch_size=10, before_commit=crash_in_third_batch)
    with pytest.raises(RuntimeError, match="power cut"):
        run(HEADER + rows, using=crashing)
    # Two whole batches: every stored patient has its treatment, reminders and invite.
    assert counts(core) == {"patient": 20, "treatment": 20, "reminder": 140, "invite": 20}

    result, _ = run(HEADER + rows, using=make_importer(core, batch_size=10))
    assert (result.created, result.unchanged, result.rejected) == (5, 20, 0)
    assert counts(core) == {"patient": 25, "treatment": 25, "reminder": 175, "invite": 25}


def test_a_running_engine_hears_of_each_committed_batch_and_of_nothing_else(
    core: Core, clock: FakeClock, run: Run
) -> None:
    heard: list[datetime] = []
    core.planner.subscribe(heard.append)
    rows = "".join(f"K{i:03d},2026-03-01 10:30,,,,,telegram\n" for i in range(25))

    def crash_in_third_batch(batch: int) -> None:
        if batch == 3:
            raise RuntimeError("power cut")

    run(HEADER + rows, dry_run=True)
    assert heard == []  # nothing stored
    crashing: Importer = make_importer(core, batch_size=10, before_commit=crash_in_third_batch)
    with pytest.raises(RuntimeError, match="power cut"):
        run(HEADER + rows, using=crashing)
    assert heard == [clock.now()] * 2  # the welcomes are due now; the third batch rolled back
    run(HEADER + rows, using=make_importer(core, batch_size=10))
    assert heard == [clock.now()] * 3  # two batches of unchanged rows plan nothing


def test_reissue_invites_gives_new_links_to_patients_not_yet_on_telegram(run: Run) -> None:
    run(FILE)
    result, outcomes = run(FILE, reissue_invites=True)
    assert result.unchanged == 3
    assert all(o.invite_url and "start=" in o.invite_url for o in outcomes)


def test_without_a_bot_username_no_invites_are_made(core: Core, run: Run) -> None:
    result, outcomes = run(FILE, using=make_importer(core, bot_username=None))
    assert result.created == 3
    assert [o.invite_url for o in outcomes] == [None, None, None]
    assert result.as_dict()["invite_links"] is False
    assert counts(core)["invite"] == 0


def test_without_a_bot_username_the_summary_asks_for_one_only_for_patients_on_telegram(
    core: Core, run: Run
) -> None:
    without_bot = make_importer(core, bot_username=None)
    on_sms = "\n".join(line for line in FILE.splitlines() if "telegram" not in line) + "\n"
    result, _ = run(on_sms, using=without_bot)
    assert (result.created, result.telegram_created) == (2, 0)
    assert not any("TELEGRAM_BOT_USERNAME" in line for line in summary_lines(result))
    result, _ = run(FILE, using=without_bot)  # P2, on Telegram, is new
    assert (result.created, result.telegram_created) == (1, 1)
    assert summary_lines(result)[-1] == (
        "no Telegram invite links were made for the 1 new patient(s) on Telegram: set "
        "TELEGRAM_BOT_USERNAME to have them"
    )


def test_an_erased_patient_is_not_brought_back_by_a_re_import(
    run: Run, store: EnrollmentStore, profile: ClinicProfile, core: Core
) -> None:
    run(FILE)
    erased = store.erase(profile.id, "P1", core.clock.now())
    assert erased is not None and erased[1] == 7
    result, _ = run(FILE)
    assert (result.unchanged, result.rejected) == (2, 1)
    assert errors_of(result) == [
        (
            2,
            "external_id",
            "this patient was erased on 2026-03-02 and cannot be imported again under the "
            "same external_id",
        )
    ]
    detail = store.patient_detail(profile.id, "P1")
    assert detail is not None
    assert (detail.first_name, detail.phone, detail.erased_at) == (None, None, core.clock.now())
    assert {r.status for r in detail.reminders} == {ReminderStatus.CANCELLED}


def test_patients_of_another_clinic_with_the_same_ids_are_separate(
    run: Run, core: Core, store: EnrollmentStore
) -> None:
    run(FILE)
    core.patients.add_clinic("other", "Other", "+12125550199", "America/Chicago")
    other = store.profile("other")
    result = make_importer(core).run(other, io.BytesIO(FILE.encode()))
    assert result.created == 3
    assert counts(core)["patient"] == 6
    assert store.patient_detail(other.id, "P1") is not None
    assert store.erase(other.id, "P1", core.clock.now()) is not None
    detail = store.patient_detail(store.profile("glow").id, "P1")
    assert detail is not None and detail.erased_at is None


def _clinic(slug: str) -> Clinic:
    return Clinic(slug=slug, name=slug, phone="+12125550199", timezone="UTC")


def test_an_import_s_batches_commit_one_by_one_on_one_connection_left_as_it_was(
    core: Core, store: EnrollmentStore
) -> None:
    """Each batch commits on its own (a failed one rolls back alone). On SQLite the commits
    leave the write-ahead log to the import's end, which checkpoints it and gives the
    connection back checkpointing automatically, also after a failure (which is the error
    the import raises)."""
    sqlite = core.db.dialect == "sqlite"
    used: list[Any] = []  # the driver connections of the batches
    reading: list[Any] = []  # results left unread

    def batch(unit: UnitOfWork, slug: str, *, fail: bool = False) -> None:
        with unit() as session:
            session.add(_clinic(slug))
            session.flush()
            driver: Any = session.connection().connection.driver_connection
            used.append(driver)
            if sqlite:
                assert driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
            if fail:  # with a statement left open, as an error in the middle of a read
                reading.append(session.connection().exec_driver_sql("SELECT slug FROM clinic"))
                raise RuntimeError("power cut")

    def import_failing_at_its_end() -> None:
        with store.import_batches() as unit:
            batch(unit, "one")
            with pytest.raises(RuntimeError, match="power cut"):
                batch(unit, "two", fail=True)
            batch(unit, "three")
            batch(unit, "four", fail=True)  # the import ends with this failure, not another

    with pytest.raises(RuntimeError, match="power cut"):
        import_failing_at_its_end()
    with core.db.session() as session:
        assert set(session.scalars(select(Clinic.slug))) == {"one", "three"}
    assert len(set(map(id, used))) == 1
    if sqlite:
        assert used[0].execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
