"""`/metrics`: Prometheus text from the app's own registry, fed by the real dispatcher, the
conversation core and the HTTP middleware (console channel, real databases, FakeClock)."""

from __future__ import annotations

from datetime import datetime, timedelta

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from aftercare.metrics import Metrics, QueueCounts, QueueDepth
from aftercare.wiring import Runtime
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient, Registration
from storage.models import Reminder
from tests.aftercare.conftest import Serve

PHONE = "+15550001111"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


def enroll(runtime: Runtime, external_id: str = "P1", phone: str = PHONE) -> Registration:
    core = runtime.core
    clinic = core.patients.add_clinic(
        f"c-{external_id.lower()}", "Glow", "+15551234567", "America/New_York", "US", "en"
    )
    return core.planner.register(
        clinic.id,
        NewPatient(external_id, "America/New_York", first_name="Ana", phone=phone),
        core.clock.now(),
    )


async def test_a_reminder_sent_through_the_console_is_counted_with_its_lateness(
    serve: Serve, database_url: str, clock: FakeClock
) -> None:
    runtime, http = await serve(database_url)
    registration = enroll(runtime)
    before = (await http.get("/metrics")).text
    assert value(before, "aftercare_reminders_due", channel="sms") == 1
    assert value(before, "aftercare_reminders_pending", channel="sms") == len(registration.planned)
    clock.advance(6)  # past the queue depth's 5 s cache; the welcome goes out 6 s late
    await runtime.service.sweep()

    text = (await http.get("/metrics")).text
    assert value(text, "aftercare_reminders_total", channel="sms", milestone="welcome",
                 outcome="sent") == 1  # fmt: skip
    assert value(text, "aftercare_dispatch_lateness_seconds_count", channel="sms") == 1
    assert value(text, "aftercare_dispatch_lateness_seconds_sum", channel="sms") == 6
    assert value(text, "aftercare_dispatch_lateness_seconds_bucket", channel="sms", le="5.0") == 0
    assert value(text, "aftercare_dispatch_lateness_seconds_bucket", channel="sms", le="15.0") == 1
    assert value(text, "aftercare_reminders_due", channel="sms") == 0
    assert (
        value(text, "aftercare_reminders_pending", channel="sms") == len(registration.planned) - 1
    )
    assert PHONE not in text and "Ana" not in text


async def test_the_queue_depth_is_read_at_most_every_five_seconds(
    serve: Serve, sqlite_url: str, clock: FakeClock
) -> None:
    runtime, http = await serve(sqlite_url)
    assert value((await http.get("/metrics")).text, "aftercare_reminders_due", channel="sms") == 0
    enroll(runtime)
    clock.advance(4.9)
    assert value((await http.get("/metrics")).text, "aftercare_reminders_due", channel="sms") == 0
    clock.advance(0.1)
    assert value((await http.get("/metrics")).text, "aftercare_reminders_due", channel="sms") == 1


async def test_inbound_messages_and_escalations_are_counted_by_channel_and_category(
    serve: Serve, sqlite_url: str
) -> None:
    runtime, http = await serve(sqlite_url)
    patient = enroll(runtime).patient_id
    await runtime.inbound.handle(channel="sms", text="can I wear makeup?", patient_id=patient)
    await runtime.inbound.handle(
        channel="sms", text="my lips are swelling and I can't breathe", patient_id=patient
    )
    await runtime.inbound.handle(channel="telegram", text="I have pus", patient_id=None)
    text = (await http.get("/metrics")).text
    assert value(text, "aftercare_inbound_messages_total", channel="sms") == 2
    assert value(text, "aftercare_inbound_messages_total", channel="telegram") == 1
    assert value(text, "aftercare_escalations_total", category="emergency") == 1
    assert value(text, "aftercare_escalations_total", category="red_flag") == 1
    assert "swelling" not in text


async def test_http_requests_are_counted_by_route_template_never_the_raw_path(
    serve: Serve, sqlite_url: str
) -> None:
    _runtime, http = await serve(sqlite_url)
    await http.get("/healthz")
    await http.get("/api/v1/patients/MRN-4471")  # no key: 401
    await http.get("/api/v1/patients/MRN-9902")
    await http.get("/no/such/page/MRN-1234")
    await http.post("/healthz")  # the route exists, not for POST
    text = (await http.get("/metrics")).text
    count = "aftercare_http_requests_total"
    assert value(text, count, method="GET", route="/healthz", status="200") == 1
    assert (
        value(text, count, method="GET", route="/api/v1/patients/{external_id}", status="401") == 2
    )
    assert value(text, count, method="GET", route="unmatched", status="404") == 1
    assert value(text, count, method="POST", route="/healthz", status="405") == 1
    assert "MRN" not in text


async def test_with_credentials_set_metrics_need_basic_auth(serve: Serve, sqlite_url: str) -> None:
    _runtime, http = await serve(sqlite_url, metrics_username="prom", metrics_password="s3cret")
    refused = await http.get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Basic realm="metrics"'
    assert (await http.get("/metrics", auth=("prom", "wrong"))).status_code == 401
    assert (await http.get("/metrics", auth=("other", "s3cret"))).status_code == 401
    bad = await http.get("/metrics", headers={"Authorization": "Basic !!not-base64"})
    assert bad.status_code == 401
    served = await http.get("/metrics", auth=("prom", "s3cret"))
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/plain")
    assert "aftercare_reminders_pending" in served.text


async def test_each_app_has_its_own_registry(serve: Serve, sqlite_url: str) -> None:
    first, first_http = await serve(sqlite_url)
    second, second_http = await serve(sqlite_url)
    await first_http.get("/healthz")
    text = (await second_http.get("/metrics")).text
    assert value(text, "aftercare_http_requests_total", method="GET", route="/healthz",
                 status="200") is None  # fmt: skip
    assert first.metrics is not second.metrics


async def test_a_reminder_whose_window_closed_unsent_is_counted_as_expired(
    serve: Serve, sqlite_url: str, clock: FakeClock
) -> None:
    runtime, http = await serve(sqlite_url)
    enroll(runtime)
    with runtime.core.db.session() as session:
        expires = session.scalar(select(Reminder.expires_at).where(Reminder.milestone == "welcome"))
    assert expires is not None
    clock.set(expires + timedelta(seconds=1))  # the engine only sweeps once it has closed
    await runtime.service.sweep()
    text = (await http.get("/metrics")).text
    assert value(text, "aftercare_reminders_total", channel="sms", milestone="welcome",
                 outcome="expired") == 1  # fmt: skip
    assert value(text, "aftercare_reminders_total", channel="sms", milestone="welcome",
                 outcome="sent") is None  # fmt: skip


def test_a_queue_depth_that_cannot_be_read_leaves_the_other_metrics_served(
    clock: FakeClock,
) -> None:
    def unreadable(_now: datetime) -> QueueCounts:
        raise OperationalError("SELECT count(*) FROM reminder", {}, Exception("disk I/O error"))

    metrics = Metrics(clock)
    metrics.add_collector(QueueDepth(unreadable, clock, ["sms"]))
    metrics.http_requests.labels("GET", "/healthz", "200").inc()
    text = generate_latest(metrics.registry).decode()
    count = "aftercare_http_requests_total"
    assert value(text, count, method="GET", route="/healthz", status="200") == 1
    assert value(text, "aftercare_reminders_due", channel="sms") is None
