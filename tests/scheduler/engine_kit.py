"""Builders for dispatch tests: a real dispatcher over real storage and in-memory channels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from aftercare.wiring import Core
from bot.memory import MemoryChannel
from scheduler.clock import FakeClock
from scheduler.decisions import RetryPolicy
from scheduler.dispatcher import ChannelLane, DispatchConfig, Dispatcher
from scheduler.planning import NewPatient, Registration
from scheduler.quiet_hours import QuietHours
from scheduler.rate_limit import RateLimiter
from storage.models import Patient, Reminder
from storage.patients import ClinicView


@dataclass
class Engine:
    dispatcher: Dispatcher
    sms: MemoryChannel
    telegram: MemoryChannel

    async def run(self) -> int:
        return await self.dispatcher.dispatch_due()


def make_engine(
    core: Core,
    clock: FakeClock,
    *,
    quiet: QuietHours | None = None,
    sms_rate: float | None = None,
    lanes: tuple[str, ...] = ("sms", "telegram"),
    owner: str | None = None,
    lease: timedelta = timedelta(seconds=60),
    batch_size: int = 200,
    emergency_number: str = "911",
) -> Engine:
    sms = MemoryChannel("sms", now=clock.now)
    telegram = MemoryChannel("telegram", now=clock.now)
    channels = {"sms": sms, "telegram": telegram}
    built = [
        ChannelLane(name, channels[name], RateLimiter(sms_rate if name == "sms" else None, clock))
        for name in lanes
    ]
    config = DispatchConfig(
        batch_size=batch_size,
        lease=lease,
        retry=RetryPolicy(),
        quiet=quiet,
        emergency_number=emergency_number,
    )
    dispatcher = Dispatcher(
        core.reminders,
        core.patients,
        built,
        core.protocols,
        core.protocol,
        clock,
        config,
        owner=owner,
    )
    return Engine(dispatcher, sms, telegram)


def register(
    core: Core,
    clinic: ClinicView,
    external_id: str,
    treated_at: datetime,
    *,
    timezone: str = "America/New_York",
    phone: str | None = "+15550001111",
    chat_id: int | None = None,
    channel: str | None = None,
    language: str = "en",
) -> Registration:
    return core.planner.register(
        clinic.id,
        NewPatient(external_id, timezone, language, "Ana", phone, chat_id, channel),
        treated_at,
    )


def reminders(core: Core, treatment_id: int | None = None) -> dict[str, Reminder]:
    with core.db.session() as session:
        query = select(Reminder).order_by(Reminder.id)
        if treatment_id is not None:
            query = query.where(Reminder.treatment_id == treatment_id)
        return {r.milestone: r for r in session.scalars(query)}


def patient(core: Core, patient_id: int) -> Patient:
    with core.db.session() as session:
        row = session.get(Patient, patient_id)
        assert row is not None
        return row
