"""Issue 9, finding 3, as the review did it: `kill -9` the running service while it is
answering signed texts, start it again, and let Twilio redeliver every message.

Each message must end with exactly one conversation, and every warning sign with an
escalation: a message id stored without its conversation would make the redelivery
"already processed" and the clinic would never hear of it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from aftercare.wiring import build_core
from scheduler.clock import SystemClock
from scheduler.planning import NewPatient
from storage.models import Conversation, Escalation
from tests.aftercare.process_kit import Service, service_env
from tests.bot.sms.conftest import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, PUBLIC_BASE_URL, sign
from tests.conftest import make_settings
from tests.fakes.twilio_api import FakeTwilioApi

pytestmark = pytest.mark.slow

PATIENTS = 30
PER_PATIENT = 10  # 300 messages, every fifth a warning sign


@dataclass(frozen=True)
class Text:
    sid: str
    phone: str
    body: str
    red_flag: bool


def texts() -> list[Text]:
    out = []
    for n in range(PATIENTS * PER_PATIENT):
        red_flag = n % 5 == 0
        body = f"I have pus and a fever ({n})" if red_flag else f"Can I wear makeup today? ({n})"
        out.append(Text(f"SM{n:032x}", f"+1555000{n % PATIENTS:04d}", body, red_flag))
    return out


async def post(http: httpx.AsyncClient, message: Text) -> int:
    params = {
        "MessageSid": message.sid,
        "AccountSid": ACCOUNT_SID,
        "From": message.phone,
        "To": FROM_NUMBER,
        "Body": message.body,
        "NumMedia": "0",
    }
    headers = {"X-Twilio-Signature": sign(PUBLIC_BASE_URL + "/twilio/sms", params)}
    response = await http.post("/twilio/sms", data=params, headers=headers)
    return response.status_code


async def healthy(http: httpx.AsyncClient, service: Service) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert service.process.poll() is None, service.stderr()
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the service did not start")


async def test_kill_9_while_answering_texts_then_redelivery_loses_no_warning_sign(
    database_url: str, tmp_path: Path
) -> None:
    api = FakeTwilioApi(ACCOUNT_SID, AUTH_TOKEN)
    await api.start()
    core = build_core(make_settings(database_url), SystemClock())
    clinic = core.patients.add_clinic("glow", "Glow Skin Clinic", "+15551234567", "UTC")
    core.planner.register_batch(
        clinic.id,
        [
            (NewPatient(f"P{n}", "UTC", phone=f"+1555000{n:04d}"), SystemClock().now())
            for n in range(PATIENTS)
        ],
    )
    env = service_env(
        database_url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        TWILIO_API_BASE_URL=api.url,
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
    )
    messages = texts()
    base_url = f"http://127.0.0.1:{env['PORT']}"
    try:
        first = Service(env, tmp_path)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            await healthy(http, first)
            a_third_answered = asyncio.Event()
            answered = 0

            async def post_counted(message: Text) -> int:
                nonlocal answered
                status = await post(http, message)
                answered += 1
                if answered >= len(messages) // 3:
                    a_third_answered.set()
                return status

            sending = [asyncio.create_task(post_counted(m)) for m in messages]
            await asyncio.wait_for(a_third_answered.wait(), 60)
            await asyncio.to_thread(first.kill)
            outcomes = await asyncio.gather(*sending, return_exceptions=True)
        unanswered = sum(not isinstance(o, int) for o in outcomes)
        assert unanswered > 0, "killed too late to prove anything"

        second = Service(env, tmp_path)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            await healthy(http, second)
            # Twilio redelivers what got no answer; replaying everything also checks
            # that what was answered is recognised.
            statuses = await asyncio.gather(*(post(http, m) for m in messages))
        assert second.terminate()
    finally:
        await api.close()

    assert Counter(statuses) == {200: len(messages)}
    with core.db.session() as session:
        stored = Counter(session.scalars(select(Conversation.inbound_text)))
        escalated = set(
            session.scalars(
                select(Conversation.inbound_text).join(
                    Escalation, Escalation.conversation_id == Conversation.id
                )
            )
        )
    core.close()
    missing = [m.body for m in messages if stored[m.body] == 0]
    doubled = [m.body for m in messages if stored[m.body] > 1]
    assert not missing, f"{len(missing)} messages lost, e.g. {missing[:3]}"
    assert not doubled, f"{len(doubled)} messages stored twice, e.g. {doubled[:3]}"
    assert {m.body for m in messages if m.red_flag} <= escalated
