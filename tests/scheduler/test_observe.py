"""The dispatch engine tells its observer what became of each reminder, and the sweep what
it expired or found in doubt, by channel and milestone (real storage, injected clock)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from aftercare.wiring import Core
from scheduler.clock import FakeClock
from scheduler.observe import Settled, Swept
from scheduler.ports import SendResult
from scheduler.service import DispatchService
from storage.models import Patient, ReminderStatus
from storage.patients import ClinicView
from tests.scheduler.engine_kit import make_engine, register, reminders

S = ReminderStatus


class Recorder:
    """A DispatchObserver that keeps what it is told."""

    def __init__(self) -> None:
        self.events: list[Settled] = []
        self.sweeps: list[Swept] = []

    def settled(self, event: Settled) -> None:
        self.events.append(event)

    def swept(self, event: Swept) -> None:
        self.sweeps.append(event)


def observed_engine(core: Core, clock: FakeClock) -> tuple[Recorder, DispatchService]:
    engine = make_engine(core, clock)
    recorder = Recorder()
    engine.dispatcher.observer = recorder
    return recorder, DispatchService(engine.dispatcher, sweep_interval=15)


async def test_a_sent_reminder_is_reported_with_how_late_it_went(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    recorder, service = observed_engine(core, clock)
    register(core, clinic, "P1", clock.now())
    clock.advance(2.5)
    await service.dispatcher.dispatch_due()
    assert recorder.events == [
        Settled("sms", "welcome", S.SENT, True, lateness=timedelta(seconds=2.5))
    ]


async def test_provider_failures_are_reported_with_their_code_and_kind(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    recorder = Recorder()
    engine.dispatcher.observer = recorder
    register(core, clinic, "P1", clock.now())
    register(core, clinic, "P2", clock.now(), phone="+15550002222")
    engine.sms.script(
        SendResult.transient("Twilio server error", error_code="20500"),
        SendResult.permanent("invalid number", error_code="21211", unreachable=True),
    )
    await engine.run()
    by_kind = sorted((e.status, e.error_code, e.transient_error) for e in recorder.events)
    # The permanent refusal leaves the reminder with no other channel: failed.
    assert by_kind == [(S.FAILED, "21211", False), (S.PENDING, "20500", True)]
    assert all(e.attempted and e.lateness is None for e in recorder.events)


async def test_a_reminder_decided_without_a_send_is_reported_as_not_attempted(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    recorder, service = observed_engine(core, clock)
    paused = register(core, clinic, "P1", clock.now())
    with core.db.session() as session:
        session.execute(update(Patient).where(Patient.id == paused.patient_id).values(paused=True))
    await service.dispatcher.dispatch_due()
    assert recorder.events == [Settled("sms", "welcome", S.SKIPPED, False)]


async def test_the_sweep_reports_what_it_expired_and_found_in_doubt(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    recorder, service = observed_engine(core, clock)
    register(core, clinic, "P1", clock.now())
    register(core, clinic, "P2", clock.now(), phone="+15550002222")
    # An engine that died during its provider call, on P1's welcome.
    lease = clock.now() + timedelta(seconds=60)
    claimed = core.reminders.claim_due("sms", clock.now(), 1, "dead-engine", lease)
    core.reminders.mark_sending([claimed[0].id], "dead-engine")
    # P2's welcome is left unsent until its window has closed.
    welcome = reminders(core)["welcome"]
    clock.set(welcome.expires_at + timedelta(seconds=1))
    await service.sweep()
    assert recorder.sweeps[0].in_doubt == {("sms", "welcome"): 1}
    assert recorder.sweeps[0].expired == {("sms", "welcome"): 1}


async def test_an_observer_that_raises_does_not_stop_a_send(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    class Broken:
        def settled(self, event: Settled) -> None:
            raise RuntimeError("observer bug")

        def swept(self, event: Swept) -> None:
            raise RuntimeError("observer bug")

    engine = make_engine(core, clock)
    engine.dispatcher.observer = Broken()
    register(core, clinic, "P1", clock.now())
    assert await engine.run() == 1
    assert reminders(core)["welcome"].status == S.SENT
