"""`/readyz` (may this instance take traffic?) next to `/healthz` (is it alive?): the
database takes writes, its migrations are current, the dispatcher sweeps; each configured
channel's state, and only those channels."""

from __future__ import annotations

from pathlib import Path

from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from storage.migrate import current_heads, upgrade
from tests.aftercare.conftest import SWEEP_INTERVAL, Serve
from tests.fakes.twilio_api import FakeTwilioApi
from tests.storage.test_health import read_only

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2


async def test_a_migrated_writable_database_and_a_sweeping_engine_are_ready(
    serve: Serve, database_url: str
) -> None:
    runtime, http = await serve(database_url)
    await runtime.service.sweep()
    response = await http.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready" and body["failing"] == [] and body["degraded"] == []
    assert body["checks"] == {"database": "ok", "migrations": "ok", "dispatcher": "ok"}
    # Neither provider is configured: the console stands in, and only it is listed.
    assert list(body["channels"]) == ["console"]
    assert body["channels"]["console"]["state"] == "ok"


async def test_a_read_only_database_is_not_ready_while_healthz_names_it_too(
    serve: Serve, database_url: str
) -> None:
    _runtime, http = await serve(read_only(database_url))
    response = await http.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["failing"] == ["database"]
    assert body["checks"]["database"] == "read-only"
    assert body["checks"]["migrations"] == "ok"  # reading still works


async def test_a_database_behind_this_versions_migrations_is_not_ready(
    serve: Serve, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0007")
    _runtime, http = await serve(url)
    response = await http.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["migrations"]
    heads = ", ".join(current_heads(url))
    assert body["checks"]["migrations"] == f"at 0007, this version needs {heads}"


async def test_a_stalled_dispatcher_is_not_ready(
    serve: Serve, sqlite_url: str, clock: FakeClock
) -> None:
    runtime, http = await serve(sqlite_url)
    await runtime.service.sweep()
    clock.advance(3 * SWEEP_INTERVAL + 1)
    response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["dispatcher"]
    await runtime.service.sweep()
    assert (await http.get("/readyz")).status_code == 200


async def test_healthz_stays_a_cheap_liveness_check_without_migrations(
    serve: Serve, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0007")
    _runtime, http = await serve(url)
    body = (await http.get("/healthz")).json()
    assert "migrations" not in body["checks"]


async def test_a_channel_whose_provider_refuses_the_credentials_is_listed_as_failing(
    serve: Serve, sqlite_url: str, clock: FakeClock
) -> None:
    """SMS configured (Telegram not): only `sms` is listed. Twilio refuses the token, so
    the channel is failing and the instance degraded, but still ready (200): dropping it
    from a load balancer would stop the webhooks as well."""
    api = FakeTwilioApi(ACCOUNT_SID, "the-real-token", now=clock.now)
    await api.start()
    try:
        runtime, http = await serve(
            sqlite_url,
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token="a-stale-token",
            twilio_from_number="+15005550006",
            twilio_api_base_url=api.url,
        )
        for adapter in runtime.adapters:
            await adapter.start()
        clinic = runtime.core.patients.add_clinic(
            "glow", "Glow", "+15551234567", "America/New_York", "US", "en"
        )
        runtime.core.planner.register(
            clinic.id,
            NewPatient("P1", "America/New_York", phone="+15550001111"),
            clock.now(),
        )
        await runtime.service.sweep()
        response = await http.get("/readyz")
    finally:
        await api.close()
    assert response.status_code == 200
    body = response.json()
    assert list(body["channels"]) == ["sms"]
    assert body["status"] == "degraded" and body["degraded"] == ["sms"]
    sms = body["channels"]["sms"]
    assert sms["state"] == "failing: the last send got 20003"
    assert sms["sending_here"] is True
    assert sms["last_attempt_at"] == clock.now().isoformat(timespec="seconds")
