"""The clinic API follows the import's session rules (it is the same importer), on SQLite
and PostgreSQL: a booking export naming a new appointment id for a known patient starts a
new session with its own plan; sending it again changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from scheduler.clock import FakeClock
from tests.clinic.test_api import bearer, client, keys

__all__ = ["client", "keys"]  # the fixtures, used by name

HEADER = "Patient ID,Start Time,Mobile,Booking ID,Service,Status\n"


def row(appointment: str, at: datetime, status: str = "Booked") -> str:
    return f"C1,{at:%Y-%m-%dT%H:%M}Z,(212) 555-0101,{appointment},Microneedling,{status}\n"


async def post(client: httpx.AsyncClient, key: str, export: str) -> dict[str, object]:
    response = await client.post(
        "/api/v1/enrollments",
        content=export,
        headers={**bearer(key), "Content-Type": "text/csv; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def actions(body: dict[str, object]) -> list[tuple[str, str]]:
    patients = body["patients"]
    assert isinstance(patients, list)
    return [(p["external_id"], p["action"]) for p in patients]


async def test_a_new_appointment_id_for_a_known_patient_is_a_second_session(
    client: httpx.AsyncClient, keys: dict[str, str], clock: FakeClock
) -> None:
    first_at = clock.now() - timedelta(hours=1)
    created = await post(client, keys["glow"], HEADER + row("B-1", first_at, "Completed"))
    assert actions(created) == [("C1", "created")]

    clock.advance(timedelta(weeks=5))
    second_at = clock.now() + timedelta(hours=3)
    body = await post(client, keys["glow"], HEADER + row("B-2", second_at))
    assert actions(body) == [("C1", "new session")]
    assert body["updated"] == 1 and body["actions"] == {
        "created": 0,
        "new session": 1,
        "corrected": 0,
        "cancelled": 0,
        "unchanged": 0,
        "skipped": 0,
    }

    again = await post(client, keys["glow"], HEADER + row("B-2", second_at))
    assert actions(again) == [("C1", "unchanged")]

    detail = (await client.get("/api/v1/patients/C1", headers=bearer(keys["glow"]))).json()
    performed = [t["performed_at"] for t in detail["treatments"]]
    assert [datetime.fromisoformat(p) for p in performed] == [first_at, second_at]
    welcomes = [r for r in detail["reminders"] if r["milestone"] == "welcome"]
    assert [datetime.fromisoformat(r["due_at"]) for r in welcomes][-1] == second_at + timedelta(
        hours=1
    )
    assert welcomes[-1]["status"] == "pending"
