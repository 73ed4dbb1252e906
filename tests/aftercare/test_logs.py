"""LOG_FORMAT=json: one JSON object per line, carrying ids and outcomes only, never a
phone number, a name or a message; the default stays human-readable."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aftercare.logs import configure_logging
from aftercare.wiring import build_core, build_runtime
from scheduler.clock import FakeClock, SystemClock
from scheduler.planning import NewPatient
from tests.aftercare.process_kit import Service, service_env
from tests.conftest import make_settings

NAME = "Valentina"
PHONE = "+15557654321"
WORDS = "my lips are swelling, call me at 555 765 4321"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The root logger configured as `aftercare run` does, writing here; restored after."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    stream = io.StringIO()
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved:
        root.addHandler(handler)
    root.setLevel(level)


def personal_data(line: str) -> list[str]:
    found = [text for text in (NAME, PHONE, "lips", "swelling") if text in line]
    return found + re.findall(r"555.?765.?4321", line)


async def test_json_lines_parse_and_carry_ids_and_outcomes_only(
    log_stream: io.StringIO, sqlite_url: str, clock: FakeClock
) -> None:
    configure_logging("INFO", "json", stream=log_stream)
    core = build_core(make_settings(sqlite_url), clock)
    runtime = build_runtime(core, console_stream=io.StringIO())
    clinic = core.patients.add_clinic("glow", "Glow", "+15551234567", "America/New_York")
    patient = core.planner.register(
        clinic.id, NewPatient("P1", "America/New_York", first_name=NAME, phone=PHONE), clock.now()
    )
    await runtime.service.sweep()  # the welcome goes out through the console
    await runtime.inbound.handle(channel="sms", text=WORDS, patient_id=patient.patient_id)
    logging.getLogger("aftercare.test").warning("a line with\na line break")
    core.close()

    lines = log_stream.getvalue().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert entries and all(set(e) == {"time", "level", "logger", "message"} for e in entries)
    assert all(datetime.fromisoformat(e["time"]).tzinfo == UTC for e in entries)
    messages = [e["message"] for e in entries]
    assert any(re.fullmatch(r"reminder \d+ welcome on sms: sent", m) for m in messages)
    assert any(m.startswith(f"conversation 1: patient {patient.patient_id}") for m in messages)
    assert "a line with\na line break" in messages  # escaped, so still one line
    assert [line for line in lines if personal_data(line)] == []


def test_an_exception_goes_into_the_same_json_line(log_stream: io.StringIO) -> None:
    configure_logging("INFO", "json", stream=log_stream)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("aftercare.test").exception("sending failed for reminder 7")
    (line,) = log_stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["message"] == "sending failed for reminder 7"
    assert entry["exception"].startswith("Traceback") and "ValueError: boom" in entry["exception"]


def test_the_default_stays_human_readable(log_stream: io.StringIO) -> None:
    configure_logging("INFO", stream=log_stream)
    logging.getLogger("aftercare.test").info("reminder 3 welcome on sms: sent")
    line = log_stream.getvalue().strip()
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    assert re.fullmatch(f"{stamp} INFO aftercare\\.test: reminder 3 welcome on sms: sent", line)


@pytest.mark.slow
def test_aftercare_run_with_log_format_json_writes_only_json_to_stderr(
    sqlite_url: str, tmp_path: Path
) -> None:
    core = build_core(make_settings(sqlite_url), SystemClock())
    clinic = core.patients.add_clinic("glow", "Glow", "+15551234567", "UTC")
    core.planner.register(
        clinic.id, NewPatient("P1", "UTC", first_name=NAME, phone=PHONE), datetime.now(UTC)
    )
    core.close()
    service = Service(service_env(sqlite_url, LOG_FORMAT="json", LOG_LEVEL="INFO"), tmp_path)
    service.wait_for(lambda: len(service.reminder_ids) == 1)
    assert service.terminate()
    assert service.process.stderr is not None
    lines = service.process.stderr.read().splitlines()
    entries = [json.loads(line) for line in lines]
    loggers = {e["logger"] for e in entries}
    assert "uvicorn.error" in loggers  # uvicorn's own lines are JSON too
    assert "reminder 1 welcome on sms: sent" in [e["message"] for e in entries]
    assert [line for line in lines if personal_data(line)] == []
