"""The invite SMS, on both databases: a patient enrolled for Telegram who has a phone gets one
text with their invite link (the number's first, so with the opt-out line), made when it is
sent and stored only as a hash; nobody else gets one, and nobody already on Telegram."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import select, update

from aftercare.settings import Settings
from aftercare.wiring import Core, build_core, build_planner, sms_invite_links
from bot.memory import MemoryChannel
from bot.telegram.invites import invite_url
from scheduler.clock import FakeClock
from scheduler.dispatcher import ChannelLane, DispatchConfig, Dispatcher
from scheduler.invites import InviteLinks
from scheduler.planning import NewPatient, Planner
from scheduler.quiet_hours import QuietHours
from scheduler.rate_limit import RateLimiter
from storage.invites import InviteRepository, token_hash
from storage.models import Invite, Patient, Reminder
from storage.patients import ClinicView
from tests.conftest import make_settings

PHONE = "+15550001111"
BOT = "GlowClinicBot"
LINK = re.compile(rf"https://t\.me/{BOT}\?start=([A-Za-z0-9_-]+)")
TTL = timedelta(days=14)


class Engine:
    def __init__(self, core: Core, clock: FakeClock, *, links: bool = True) -> None:
        self.sms = MemoryChannel("sms", now=clock.now)
        self.telegram = MemoryChannel("telegram", now=clock.now)
        self.dispatcher = Dispatcher(
            core.reminders,
            core.patients,
            [
                ChannelLane("sms", self.sms, RateLimiter(None, clock)),
                ChannelLane("telegram", self.telegram, RateLimiter(None, clock)),
            ],
            core.protocols,
            core.protocol,
            clock,
            DispatchConfig(),
            invite_links=InviteLinks(core.db, partial(invite_url, BOT), TTL) if links else None,
        )

    async def run(self) -> None:
        for _ in range(3):  # a reminder moved to another lane goes on that lane's next round
            await self.dispatcher.dispatch_due()


@pytest.fixture
def planner(core: Core, clock: FakeClock) -> Planner:
    return Planner(core.db, core.protocols, None, clock, sms_invites=True)


def enroll(
    planner: Planner,
    clinic: ClinicView,
    clock: FakeClock,
    external_id: str = "T1",
    *,
    phone: str | None = PHONE,
    channel: str = "telegram",
) -> int:
    patient = NewPatient(external_id, "America/New_York", "en", "Ana", phone=phone, channel=channel)
    return planner.register(clinic.id, patient, clock.now() - timedelta(hours=1)).patient_id


def milestones(core: Core, patient_id: int) -> dict[str, Reminder]:
    with core.db.session() as session:
        rows = session.scalars(select(Reminder).where(Reminder.patient_id == patient_id))
        return {r.milestone: r for r in rows}


async def test_a_telegram_patient_with_a_phone_gets_one_sms_with_the_invite_link(
    core: Core, planner: Planner, clinic: ClinicView, clock: FakeClock
) -> None:
    patient_id = enroll(planner, clinic, clock)
    invite = milestones(core, patient_id)["invite"]
    assert (invite.channel, invite.status) == ("sms", "pending")
    engine = Engine(core, clock)

    await engine.run()

    texts = [d.message.text for d in engine.sms.sent]
    with_link = [text for text in texts if LINK.search(text)]
    assert len(with_link) == 1
    # It is the number's first text: it greets, names the clinic and says how to opt out.
    first = texts[0]
    assert first == with_link[0]
    assert first.startswith("Glow Skin Clinic: Hi Ana! Your aftercare messages come on Telegram.")
    assert first.endswith("\nReply STOP to opt out, HELP for help.")
    # The welcome still comes (by SMS until they join), without the line.
    assert len(texts) == 2 and "Reply STOP" not in texts[1] and "Now: don't touch" in texts[1]
    assert engine.telegram.sent == []
    # The link opens the bot for this patient, once; only its hash was stored.
    match = LINK.search(first)
    assert match is not None
    token = match.group(1)
    with core.db.session() as session:
        stored = session.scalars(select(Invite).where(Invite.patient_id == patient_id)).all()
    assert [i.token_hash for i in stored] == [token_hash(token)]
    assert all(token not in (i.token_hash, str(i.id)) for i in stored)
    invites = InviteRepository(core.db)
    assert invites.redeem(token, clock.now()) == patient_id
    assert invites.redeem(token, clock.now()) is None
    assert milestones(core, patient_id)["invite"].status == "sent"


async def test_the_same_invite_sms_carries_the_same_link_and_one_stored_invite(
    core: Core, planner: Planner, clinic: ClinicView, clock: FakeClock
) -> None:
    patient_id = enroll(planner, clinic, clock)
    links = InviteLinks(core.db, partial(invite_url, BOT), TTL)
    reminder_id = milestones(core, patient_id)["invite"].id

    first = links.for_reminder(reminder_id, patient_id, clock.now())
    again = InviteLinks(core.db, partial(invite_url, BOT), TTL).for_reminder(
        reminder_id, patient_id, clock.now() + timedelta(minutes=5)
    )

    assert first == again  # another engine, a resend after a timeout: the same text
    with core.db.session() as session:
        stored = session.scalars(select(Invite).where(Invite.patient_id == patient_id)).all()
    assert len(stored) == 1 and stored[0].expires_at == clock.now() + TTL


async def test_a_patient_already_on_telegram_is_not_texted_an_invite(
    core: Core, planner: Planner, clinic: ClinicView, clock: FakeClock
) -> None:
    patient_id = enroll(planner, clinic, clock)
    with core.db.session() as session:  # they opened the link the clinic gave them
        session.execute(
            update(Patient).where(Patient.id == patient_id).values(telegram_chat_id=4242)
        )
    engine = Engine(core, clock)

    await engine.run()

    assert not any(LINK.search(d.message.text) for d in engine.sms.sent)
    invite = milestones(core, patient_id)["invite"]
    assert (invite.status, invite.last_error) == ("skipped", "patient already on Telegram")
    with core.db.session() as session:
        assert session.scalars(select(Invite)).all() == []


async def test_only_telegram_patients_with_a_phone_are_planned_an_invite(
    core: Core, planner: Planner, clinic: ClinicView, clock: FakeClock
) -> None:
    by_sms = enroll(planner, clinic, clock, "S1", channel="sms")
    no_phone = enroll(planner, clinic, clock, "T2", phone=None)
    assert "invite" not in milestones(core, by_sms)
    assert "invite" not in milestones(core, no_phone)
    # A planner without invite links plans none.
    plain = Planner(core.db, core.protocols, None, clock)
    without = enroll(plain, clinic, clock, "T3", phone="+15550003333")
    assert "invite" not in milestones(core, without)


async def test_an_engine_without_invite_links_skips_the_invite_and_still_welcomes(
    core: Core, planner: Planner, clinic: ClinicView, clock: FakeClock
) -> None:
    patient_id = enroll(planner, clinic, clock)
    engine = Engine(core, clock, links=False)

    await engine.run()

    [welcome] = [d.message.text for d in engine.sms.sent]
    assert welcome.endswith("\nReply STOP to opt out, HELP for help.")
    assert milestones(core, patient_id)["invite"].status == "skipped"


async def test_the_invite_waits_out_quiet_hours_and_goes_just_ahead_of_the_welcome(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    quiet = QuietHours.parse("21:00-08:00")
    night = Planner(core.db, core.protocols, quiet, clock, sms_invites=True)
    clock.set(clock.now().replace(hour=3))  # 22:00 the evening before, in New York
    patient_id = enroll(night, clinic, clock)
    rows = milestones(core, patient_id)
    welcome_due = rows["welcome"].due_at
    assert welcome_due.hour == 13  # 08:00 in New York
    assert rows["invite"].due_at == welcome_due - timedelta(seconds=1)


def test_the_wiring_plans_invites_only_with_a_bot_username_and_twilio(
    database_url: str, clock: FakeClock
) -> None:
    twilio = {
        "twilio_account_sid": "AC" + "0" * 32,
        "twilio_auth_token": "token",
        "twilio_from_number": "+15005550006",
    }
    cases: list[tuple[Settings, bool]] = [
        (make_settings(database_url, telegram_bot_username=BOT, **twilio), True),
        (make_settings(database_url, telegram_bot_username=BOT), False),
        (make_settings(database_url, **twilio), False),
    ]
    for settings, expected in cases:
        core = build_core(settings, clock)
        try:
            assert build_planner(core.db, core.protocol, settings, clock).sms_invites is expected
            assert (sms_invite_links(core) is not None) is bool(settings.telegram_bot_username)
        finally:
            core.close()
