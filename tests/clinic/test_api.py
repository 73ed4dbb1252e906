"""The clinic API through the real Starlette app: keys, clinic isolation, the limiter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import event
from starlette.applications import Starlette

from aftercare.wiring import Core, clinic_api
from clinic.keys import hash_api_key, new_api_key
from scheduler.clock import FakeClock
from storage.enrollment import EnrollmentStore
from storage.patients import ClinicView
from tests.clinic.conftest import HEADER

FILE = HEADER + (
    "P1,2026-03-01 10:30,Ana,(212) 555-0101,,,\n"
    "P2,2026-03-01 16:30,Bo,,Europe/Madrid,es,telegram\n"
    "P3,2026-03-01 10:30,Cy,1.555E+10,,,\n"
)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def keys(core: Core, clinic: ClinicView) -> dict[str, str]:
    core.patients.add_clinic("other", "Other Clinic", "+12125550199", "America/Chicago")
    store = EnrollmentStore(core.db)
    issued = {}
    for slug in ("glow", "other"):
        issued[slug] = new_api_key()
        store.set_key_hash(slug, hash_api_key(issued[slug]))
    return issued


@pytest.fixture
async def client(core: Core) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=clinic_api(core))
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_csv_body_enrolls_and_reports_rows(
    client: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/enrollments",
        content=FILE,
        headers={**bearer(keys["glow"]), "Content-Type": "text/csv; charset=utf-8"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"], body["rejected"]) == (2, 0, 0, 1)
    assert body["errors"] == [
        {
            "row": 4,
            "column": "phone",
            "message": "'1.555E+10' is a phone number a spreadsheet turned into scientific "
            "notation and digits were lost; format the column as Text and export again",
        }
    ]
    assert [p["external_id"] for p in body["patients"]] == ["P1", "P2"]
    assert all(p["invite_url"] is None for p in body["patients"])  # no bot username set


async def test_multipart_upload_and_dry_run(
    client: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    files = {"file": ("patients.csv", FILE.encode(), "text/csv")}
    dry = await client.post(
        "/api/v1/enrollments?dry_run=true", files=files, headers=bearer(keys["glow"])
    )
    assert (dry.status_code, dry.json()["created"], dry.json()["dry_run"]) == (200, 2, True)
    real = await client.post("/api/v1/enrollments", files=files, headers=bearer(keys["glow"]))
    assert real.json()["created"] == 2  # the dry run wrote nothing
    again = await client.post("/api/v1/enrollments", files=files, headers=bearer(keys["glow"]))
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 2)


async def test_patient_record_with_reminders_and_erasure(
    client: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    headers = bearer(keys["glow"])
    await client.post(
        "/api/v1/enrollments", content=FILE, headers={**headers, "Content-Type": "text/csv"}
    )
    record = (await client.get("/api/v1/patients/P1", headers=headers)).json()
    assert (record["first_name"], record["phone"], record["channel"]) == (
        "Ana",
        "+12125550101",
        "sms",
    )
    assert [(r["milestone"], r["due_at"], r["status"]) for r in record["reminders"]] == [
        ("welcome", "2026-03-02T15:00:00+00:00", "pending"),
        ("makeup", "2026-03-02T15:30:00+00:00", "pending"),
        ("checkin_24h", "2026-03-02T15:30:00+00:00", "pending"),
        ("sweat", "2026-03-03T15:30:00+00:00", "pending"),
        ("cleanser", "2026-03-04T15:30:00+00:00", "pending"),
        ("checkin_72h", "2026-03-04T15:30:00+00:00", "pending"),
        ("sunscreen", "2026-03-15T14:30:00+00:00", "pending"),
    ]
    erased = await client.delete("/api/v1/patients/P1", headers=headers)
    assert erased.status_code == 200
    assert erased.json()["reminders_cancelled"] == 7
    after = (await client.get("/api/v1/patients/P1", headers=headers)).json()
    assert (after["first_name"], after["phone"], after["telegram_linked"]) == (None, None, False)
    assert after["erased_at"] == "2026-03-02T15:00:00+00:00"
    assert {r["status"] for r in after["reminders"]} == {"cancelled"}


async def test_a_key_never_reaches_another_clinics_patients(
    client: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    await client.post(
        "/api/v1/enrollments",
        content=FILE,
        headers={**bearer(keys["glow"]), "Content-Type": "text/csv"},
    )
    other = bearer(keys["other"])
    assert (await client.get("/api/v1/patients/P1", headers=other)).status_code == 404
    assert (await client.delete("/api/v1/patients/P1", headers=other)).status_code == 404
    still = await client.get("/api/v1/patients/P1", headers=bearer(keys["glow"]))
    assert still.json()["erased_at"] is None


async def test_wrong_keys_are_refused_and_then_rate_limited_but_the_right_key_passes(
    client: httpx.AsyncClient, keys: dict[str, str], clock: FakeClock
) -> None:
    for attempt in range(10):
        wrong = await client.get("/api/v1/patients/P1", headers=bearer(f"ack_wrong{attempt:020d}"))
        assert wrong.status_code == 401
    assert (await client.get("/api/v1/patients/P1")).status_code == 429
    guess = await client.get("/api/v1/patients/P1", headers=bearer(f"ack_wrong{11:020d}"))
    assert guess.status_code == 429
    assert int(guess.headers["Retry-After"]) == 301
    # Only failures are limited: the clinic's own key is never locked out by a guesser.
    for _ in range(3):
        right = await client.get("/api/v1/patients/P1", headers=bearer(keys["glow"]))
        assert right.status_code == 404  # authenticated; there is no patient P1
    clock.advance(timedelta(minutes=5, seconds=1))
    assert (await client.get("/api/v1/patients/P1", headers=bearer("ack_x" * 5))).status_code == 401


async def test_a_key_issued_while_an_address_is_blocked_passes_within_seconds(
    client: httpx.AsyncClient, keys: dict[str, str], core: Core, clock: FakeClock
) -> None:
    for attempt in range(10):
        await client.get("/api/v1/patients/P1", headers=bearer(f"ack_wrong{attempt:020d}"))
    assert (
        await client.get("/api/v1/patients/P1", headers=bearer(keys["glow"]))
    ).status_code == 404
    rotated = new_api_key()  # `aftercare clinic key rotate`, in another process
    EnrollmentStore(core.db).set_key_hash("glow", hash_api_key(rotated))
    clock.advance(timedelta(seconds=5))
    assert (await client.get("/api/v1/patients/P1", headers=bearer(rotated))).status_code == 404
    old = await client.get("/api/v1/patients/P1", headers=bearer(keys["glow"]))
    assert old.status_code == 429  # the replaced key is no longer a clinic's: still blocked


async def test_a_blocked_guesser_costs_no_query_per_request(
    client: httpx.AsyncClient, keys: dict[str, str], core: Core, clock: FakeClock
) -> None:
    for attempt in range(10):
        await client.get("/api/v1/patients/P1", headers=bearer(f"ack_wrong{attempt:020d}"))
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    event.listen(core.db.engine, "before_cursor_execute", count)
    try:
        for attempt in range(100):
            guess = await client.get("/api/v1/patients/P1", headers=bearer(f"ack_g{attempt:030d}"))
            assert guess.status_code == 429
            clock.advance(timedelta(milliseconds=100))
    finally:
        event.remove(core.db.engine, "before_cursor_execute", count)
    reloads = [s for s in statements if "api_key_hash" in s]
    assert len(reloads) == 2  # the set of current key hashes, reloaded every 5 s
    assert len(statements) <= 2 * 3  # each reload: BEGIN, SELECT, COMMIT at most


async def test_unsupported_bodies_and_unreadable_files(
    client: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    headers = bearer(keys["glow"])
    wrong_type = await client.post(
        "/api/v1/enrollments",
        content=b"{}",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert wrong_type.status_code == 415
    unreadable = await client.post(
        "/api/v1/enrollments",
        content=b"id,when\n1,2\n",
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert unreadable.status_code == 422
    assert unreadable.json()["error"].startswith("missing required column(s)")


async def test_the_openapi_schema_is_served(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/api/v1/openapi.json")).json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {"/enrollments", "/patients/{external_id}"}
    assert set(schema["paths"]["/patients/{external_id}"]) >= {"get", "delete"}


async def test_the_service_app_mounts_the_api(core: Core, keys: dict[str, str]) -> None:
    from aftercare.web import create_app
    from aftercare.wiring import build_runtime

    app = create_app(build_runtime(core))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/api/v1/openapi.json")).status_code == 200
        assert (await http.get("/api/v1/patients/P1")).status_code == 401
        found = await http.get("/api/v1/patients/P1", headers=bearer(keys["glow"]))
        assert found.status_code == 404


async def test_a_booking_export_reply_says_what_each_row_did(
    client: httpx.AsyncClient, keys: dict[str, str], clock: FakeClock
) -> None:
    today = clock.now().strftime("%Y-%m-%d")
    export = (
        "Patient ID,Date,Time,Mobile,Booking ID,Treatment,Status\n"
        f"C1,{today},14:00,(212) 555-0101,B-1,Collagen Induction Therapy,Booked\n"
        f"C2,{today},15:00,(212) 555-0102,B-2,Hydrafacial,Booked\n"
    )
    response = await client.post(
        "/api/v1/enrollments",
        content=export,
        headers={**bearer(keys["glow"]), "Content-Type": "text/csv; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["skipped"], body["rejected"]) == (1, 1, 0)
    assert body["actions"]["created"] == body["actions"]["skipped"] == 1
    assert [(p["external_id"], p["action"]) for p in body["patients"]] == [("C1", "created")]
    why = "'Hydrafacial' is not microneedling and the clinic has no protocol for it"
    assert body["skipped_rows"] == [{"row": 3, "column": "service", "message": why}]
