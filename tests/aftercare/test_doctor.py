"""`aftercare doctor` against the fake Telegram and Twilio APIs on 127.0.0.1 and real
databases: everything passes when it is right, and each thing that can be wrong fails (or
warns) by name with what to do, without printing a secret."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aftercare.doctor import diagnose, render
from aftercare.doctor_checks import Check
from storage.db import Database
from storage.migrate import upgrade
from storage.patients import PatientRepository
from tests.conftest import make_settings
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegramApi
from tests.fakes.twilio_api import FakeTwilioApi
from tests.scheduler.protocol_kit import clinic_toml, upload
from tests.storage.test_health import read_only

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "doctor-test-auth-token"
FROM_NUMBER = "+15005550006"
SERVICE_SID = "MG" + "fedcba9876543210" * 2
PUBLIC = "https://care.example.com"
PRP = "Microneedling with PRP"


@dataclass
class Providers:
    telegram: FakeTelegramApi
    twilio: FakeTwilioApi

    def settings(self, database_url: str) -> dict[str, object]:
        return {
            "database_url": database_url,
            "telegram_bot_token": self.telegram.token,
            "telegram_api_base_url": self.telegram.base_url,
            "public_base_url": PUBLIC,
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
            "twilio_from_number": FROM_NUMBER,
            "twilio_messaging_service_sid": SERVICE_SID,
            "twilio_api_base_url": self.twilio.url,
        }


@pytest.fixture
async def providers() -> AsyncIterator[Providers]:
    telegram = FakeTelegramApi()
    twilio = FakeTwilioApi(
        ACCOUNT_SID, AUTH_TOKEN, numbers=["+15005550001", FROM_NUMBER], services=[SERVICE_SID]
    )
    await telegram.start()
    await twilio.start()
    telegram.webhook_url = f"{PUBLIC}/telegram/webhook"  # as `aftercare run` registered it
    yield Providers(telegram, twilio)
    await telegram.stop()
    await twilio.close()


Doctor = Callable[..., Awaitable[dict[str, Check]]]


@pytest.fixture
def doctor(providers: Providers, sqlite_url: str) -> Doctor:
    """Run every check with the working configuration changed by `overrides`."""

    async def run(**overrides: object) -> dict[str, Check]:
        values = {**providers.settings(sqlite_url), **overrides}
        checks = await diagnose(make_settings(**values))  # type: ignore[arg-type]
        for check in checks:
            assert AUTH_TOKEN not in check.detail + check.fix
            assert providers.telegram.token not in check.detail + check.fix
        return {check.name: check for check in checks}

    return run


def status(checks: dict[str, Check]) -> dict[str, str]:
    return {name: check.status for name, check in checks.items()}


async def test_a_configuration_ready_to_go_live_passes_every_check(doctor: Doctor) -> None:
    checks = await doctor()
    assert status(checks) == {
        "settings": "ok",
        "channels": "ok",
        "public url": "ok",
        "protocol": "ok",
        "database": "ok",
        "clinic protocols": "ok",
        "telegram token": "ok",
        "telegram webhook": "ok",
        "twilio account": "ok",
        "twilio sender": "ok",
        "twilio service": "ok",
    }
    assert checks["telegram token"].detail == f"accepted: the bot is @{BOT_USERNAME}"
    assert checks["telegram webhook"].detail == f"registered at {PUBLIC}/telegram/webhook"
    assert checks["channels"].detail == "Telegram and SMS"
    assert checks["clinic protocols"].detail == "no clinic has a protocol of its own"
    assert render(list(checks.values())).endswith("11 ok, 0 warnings, 0 failed")


# -- settings and shape ---------------------------------------------------------------------


async def test_half_configured_sms_fails_naming_what_is_missing(doctor: Doctor) -> None:
    checks = await doctor(twilio_auth_token=None)
    assert checks["channels"].status == "fail"
    assert checks["channels"].detail == "SMS is half configured: TWILIO_AUTH_TOKEN unset"
    assert "twilio account" not in checks  # not asked with half the credentials


async def test_no_provider_at_all_is_a_warning(doctor: Doctor) -> None:
    checks = await doctor(
        telegram_bot_token=None,
        twilio_account_sid=None,
        twilio_auth_token=None,
        twilio_from_number=None,
        twilio_messaging_service_sid=None,
        public_base_url=None,
    )
    assert checks["channels"].status == "warn"
    assert "printed to the console" in checks["channels"].detail
    assert "fail" not in status(checks).values()


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("http://care.example.com", "PUBLIC_BASE_URL must use https, not http"),
        ("https://care.example.com/", "PUBLIC_BASE_URL ends with a slash"),
        ("https://care.example.com/aftercare", "PUBLIC_BASE_URL has more than an origin"),
        ("https://care.example.com:8080", "Telegram sends webhooks only to ports 443, 80, 88"),
    ],
)
async def test_a_public_url_of_the_wrong_shape_fails(doctor: Doctor, url: str, detail: str) -> None:
    check = (await doctor(public_base_url=url))["public url"]
    assert check.status == "fail"
    assert check.detail.startswith(detail)
    assert check.fix


async def test_sms_without_a_public_url_is_a_warning(doctor: Doctor, providers: Providers) -> None:
    providers.telegram.webhook_url = ""
    check = (await doctor(public_base_url=None))["public url"]
    assert check.status == "warn" and "no delivery receipts" in check.detail


async def test_a_protocol_file_that_cannot_be_read_fails(doctor: Doctor, tmp_path: Path) -> None:
    broken = tmp_path / "protocol.toml"
    broken.write_text('name = "mine"\n')
    check = (await doctor(protocol_file=str(broken)))["protocol"]
    assert check.status == "fail" and "PROTOCOL_FILE" in check.fix


# -- the database -----------------------------------------------------------------------------


async def test_a_missing_database_file_fails_without_creating_it(
    doctor: Doctor, tmp_path: Path
) -> None:
    path = tmp_path / "nowhere.db"
    check = (await doctor(database_url=f"sqlite:///{path}"))["database"]
    assert check.status == "fail" and check.detail.startswith(f"no database at {path}")
    assert not path.exists()


async def test_a_database_behind_the_migrations_fails_saying_what_to_run(
    doctor: Doctor, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0007")
    check = (await doctor(database_url=url))["database"]
    assert check.status == "fail"
    assert "is at migration 0007" in check.detail and "aftercare db upgrade" in check.detail


async def test_a_database_that_refuses_writes_fails(doctor: Doctor, database_url: str) -> None:
    check = (await doctor(database_url=read_only(database_url)))["database"]
    assert check.status == "fail" and "refuses writes (read-only" in check.detail


async def test_an_unreachable_postgresql_fails_naming_the_server(doctor: Doctor) -> None:
    check = (await doctor(database_url="postgresql://postgres:pw@127.0.0.1:1/aftercare"))[
        "database"
    ]
    assert check.status == "fail"
    assert "127.0.0.1:1" in check.detail and "pw" not in check.detail


async def test_a_relative_sqlite_path_is_a_warning(
    doctor: Doctor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(f"sqlite:///{tmp_path / 'aftercare.db'}")
    monkeypatch.chdir(tmp_path)
    check = (await doctor(database_url="sqlite:///./aftercare.db"))["database"]
    assert check.status == "warn" and "relative path" in check.detail


async def test_a_writable_migrated_postgresql_passes(doctor: Doctor, database_url: str) -> None:
    assert (await doctor(database_url=database_url))["database"].status == "ok"


async def test_a_stored_clinic_protocol_that_no_longer_loads_fails_naming_clinic_and_version(
    doctor: Doctor, database_url: str
) -> None:
    db = Database(database_url)
    try:
        glow = PatientRepository(db).add_clinic(
            "glow", "Glow", "+15551234567", "America/New_York", "US", "en"
        )
        now = datetime.now(UTC)
        upload(db, glow.id, now, clinic_toml())
        fine = (await doctor(database_url=database_url))["clinic protocols"]
        assert (fine.status, fine.detail) == ("ok", "1 active version(s) load")
        # Stored by an earlier release whose checks let it through (uploads are checked).
        upload(db, glow.id, now, clinic_toml().replace('offset = "48h"', 'offset = "2 days"'), PRP)
    finally:
        db.dispose()
    check = (await doctor(database_url=database_url))["clinic protocols"]
    assert check.status == "fail"
    assert check.detail.startswith("1 of 2 no longer load(s)")
    assert "glow version 2 (service 'Microneedling with PRP'): milestones[" in check.detail
    assert "(sweat).offset: expected a number and a unit" in check.detail
    assert "aftercare clinic protocol SLUG FILE" in check.fix


async def test_without_a_database_the_clinic_protocols_are_not_checked(
    doctor: Doctor, tmp_path: Path
) -> None:
    checks = await doctor(database_url=f"sqlite:///{tmp_path / 'nowhere.db'}")
    assert checks["database"].status == "fail" and "clinic protocols" not in checks


# -- Telegram ---------------------------------------------------------------------------------


async def test_a_token_telegram_refuses_fails(doctor: Doctor) -> None:
    checks = await doctor(telegram_bot_token="123456:revoked")
    assert checks["telegram token"].status == "fail"
    assert checks["telegram token"].detail == "Telegram refused TELEGRAM_BOT_TOKEN (401 from getMe)"
    assert "123456:revoked" not in render(list(checks.values()))


async def test_a_username_of_another_bot_fails(doctor: Doctor) -> None:
    check = (await doctor(telegram_bot_username="other_bot"))["telegram token"]
    assert check.status == "fail" and f"TELEGRAM_BOT_USERNAME={BOT_USERNAME}" in check.fix


async def test_an_unreachable_bot_api_fails(doctor: Doctor) -> None:
    check = (await doctor(telegram_api_base_url="http://127.0.0.1:1/bot"))["telegram token"]
    assert check.status == "fail" and "cannot reach the Bot API" in check.detail


async def test_a_webhook_telegram_cannot_deliver_to_fails(
    doctor: Doctor, providers: Providers
) -> None:
    providers.telegram.webhook_last_error = (1_790_000_000, "SSL error: certificate expired")
    check = (await doctor())["telegram webhook"]
    assert check.status == "fail"
    assert "failed at 2026-09-21" in check.detail and "certificate expired" in check.detail


async def test_a_webhook_registered_elsewhere_or_not_yet_is_a_warning(
    doctor: Doctor, providers: Providers
) -> None:
    providers.telegram.webhook_url = "https://old.example.com/telegram/webhook"
    assert (await doctor())["telegram webhook"].status == "warn"
    providers.telegram.webhook_url = ""
    check = (await doctor())["telegram webhook"]
    assert (check.status, check.detail) == ("warn", "none registered yet")


async def test_a_webhook_left_over_in_polling_mode_is_a_warning(
    doctor: Doctor, providers: Providers
) -> None:
    check = (await doctor(public_base_url=None))["telegram webhook"]
    assert check.status == "warn" and "polling mode" in check.detail
    providers.telegram.webhook_url = ""
    assert (await doctor(public_base_url=None))["telegram webhook"].status == "ok"


# -- Twilio -----------------------------------------------------------------------------------


async def test_credentials_twilio_refuses_fail(doctor: Doctor) -> None:
    checks = await doctor(twilio_auth_token="a-stale-token")
    assert checks["twilio account"].status == "fail"
    assert checks["twilio account"].detail == "Twilio refused the credentials (20003)"
    assert "twilio sender" not in checks
    assert "a-stale-token" not in render(list(checks.values()))


async def test_a_suspended_account_fails(doctor: Doctor, providers: Providers) -> None:
    providers.twilio.account_status = "suspended"
    check = (await doctor())["twilio account"]
    assert (check.status, check.detail) == ("fail", "the account is suspended")


async def test_a_sender_number_of_another_account_fails(doctor: Doctor) -> None:
    check = (await doctor(twilio_from_number="+15005550999"))["twilio sender"]
    assert check.status == "fail"
    assert check.detail == "TWILIO_FROM_NUMBER +15005550999 is not a number of this account"


async def test_a_messaging_service_of_another_account_fails(doctor: Doctor) -> None:
    other = "MG" + "0" * 32
    check = (await doctor(twilio_messaging_service_sid=other))["twilio service"]
    assert check.status == "fail"
    assert check.detail == f"TWILIO_MESSAGING_SERVICE_SID {other} is not a service of this account"


async def test_an_unreachable_twilio_api_fails(doctor: Doctor) -> None:
    check = (await doctor(twilio_api_base_url="http://127.0.0.1:1"))["twilio account"]
    assert check.status == "fail" and "cannot reach the Twilio API" in check.detail
