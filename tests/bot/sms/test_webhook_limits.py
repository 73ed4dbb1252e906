"""Issue 9, finding 2: Twilio's webhooks are open to anyone, so what they read is bounded.

Twilio posts small url-encoded forms. Anything bigger than 64 KB, or of another type, is
refused while it streams in, before the signature is computed and before the database is
touched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select

from storage.models import Conversation, InboundMessage
from tests.bot.sms.conftest import ACCOUNT_SID, PATIENT_PHONE, SmsHarness

PATHS = ["/twilio/sms", "/twilio/status"]
CAP = 64 * 1024
FORGED = {"X-Twilio-Signature": "bogus"}


def twilio_form(**extra: str) -> dict[str, str]:
    return {
        "MessageSid": "SM" + "a" * 32,
        "MessageStatus": "delivered",
        "AccountSid": ACCOUNT_SID,
        "From": PATIENT_PHONE,
        "Body": "Can I wear makeup?",
        **extra,
    }


def nothing_stored(sms: SmsHarness) -> bool:
    with sms.core.db.session() as session:
        return not any(
            session.scalar(select(func.count()).select_from(table))
            for table in (InboundMessage, Conversation)
        )


@pytest.fixture
def statements(sms: SmsHarness) -> Iterator[list[str]]:
    """Every SQL statement the app runs while the test acts (SQLAlchemy's event API)."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(sms.core.db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(sms.core.db.engine, "before_cursor_execute", record)


@pytest.mark.parametrize("path", PATHS)
async def test_a_body_over_64_kb_is_refused_with_413(sms: SmsHarness, path: str) -> None:
    """The review posted 900 fields of 1 MB each; a few of 1 KB over the cap make the point."""
    sms.register()
    fields = {f"Junk{n}": "x" * 1024 for n in range(70)}

    response = await sms.http.post(path, data=twilio_form(**fields), headers=FORGED)

    assert response.status_code == 413
    assert nothing_stored(sms)


@pytest.mark.parametrize("path", PATHS)
async def test_a_body_without_a_length_stops_being_read_at_the_cap(
    sms: SmsHarness, path: str
) -> None:
    """Chunked upload with no Content-Length: the server reads 64 KB and a chunk, no more."""
    chunk = b"Body=" + b"x" * (16 * 1024 - 5)
    sent = 0

    async def ten_megabytes() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(640):
            sent += len(chunk)
            yield chunk

    response = await sms.http.post(
        path,
        content=ten_megabytes(),
        headers={**FORGED, "Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 413
    assert sent <= CAP + len(chunk)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "body",
    ["multipart file", "json"],
)
async def test_only_url_encoded_forms_are_accepted(
    sms: SmsHarness, path: str, body: str, statements: list[str]
) -> None:
    """The review's 1 GB multipart file was spooled to /tmp before its 403."""
    if body == "multipart file":
        response = await sms.http.post(
            path,
            data=twilio_form(),
            files={"MediaUrl0": ("photo.jpg", b"\xff\xd8" + b"\0" * 200_000, "image/jpeg")},
            headers=FORGED,
        )
    else:
        response = await sms.http.post(path, json=twilio_form(), headers=FORGED)

    assert response.status_code == 415
    assert statements == []


@pytest.mark.parametrize("path", PATHS)
async def test_a_forged_request_is_refused_without_any_database_work(
    sms: SmsHarness, path: str, statements: list[str]
) -> None:
    response = await sms.http.post(path, data=twilio_form(Body="STOP"), headers=FORGED)

    assert response.status_code == 403
    assert statements == []


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "content",
    [b"Body=\xff\xfe", b"&".join(b"f%d=1" % n for n in range(500))],
    ids=["not utf-8", "500 fields"],
)
async def test_a_body_that_is_not_a_plausible_twilio_form_gets_400(
    sms: SmsHarness, path: str, content: bytes, statements: list[str]
) -> None:
    response = await sms.http.post(
        path,
        content=content,
        headers={**FORGED, "Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 400
    assert statements == []


async def test_a_signed_form_with_media_fields_is_well_under_the_cap(sms: SmsHarness) -> None:
    """What Twilio really sends (ten media urls, every optional field) is accepted."""
    sms.register()
    media = {
        f"MediaUrl{n}": f"https://api.twilio.com/2010-04-01/Media/ME{n:032d}" for n in range(10)
    }
    types = {f"MediaContentType{n}": "image/jpeg" for n in range(10)}
    params = {
        **{k: v for k, v in twilio_form().items() if k != "MessageStatus"},
        "NumMedia": "10",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
        "FromCountry": "US",
        "FromState": "NY",
        "FromCity": "NEW YORK",
        "FromZip": "10001",
        "ToCountry": "US",
        **media,
        **types,
    }

    response = await sms.post_signed("/twilio/sms", params)

    assert response.status_code == 200
    assert len(sms.inbound.calls) == 1
