from __future__ import annotations

from pathlib import Path

import pytest

from aftercare.settings import ConfigError, load_settings
from scheduler.quiet_hours import QuietHours


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in (
        "DATABASE_URL",
        "QUIET_HOURS",
        "PORT",
        "DEFAULT_TIMEZONE",
        "TELEGRAM_BOT_TOKEN",
        "FORWARDED_ALLOW_IPS",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_the_embedded_database_and_evening_quiet_hours() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///./aftercare.db"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.quiet_hours == QuietHours.parse("21:00-08:00")
    assert not settings.telegram_enabled and not settings.sms_enabled
    assert settings.forwarded_allow_ips is None  # X-Forwarded-For is ignored


def test_trusted_proxies_are_addresses_or_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", " 10.0.0.5, 192.168.0.0/16 ,::1")
    assert load_settings().forwarded_allow_ips == "10.0.0.5,192.168.0.0/16,::1"


def test_values_come_from_the_environment_and_dotenv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("QUIET_HOURS=22:00-07:30\nTELEGRAM_BOT_TOKEN=\nPORT=9000\n")
    monkeypatch.setenv("PORT", "9100")
    settings = load_settings()
    assert str(settings.quiet_hours) == "22:00-07:30"
    assert settings.port == 9100
    assert settings.telegram_bot_token is None


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("QUIET_HOURS", "late", "QUIET_HOURS: expected HH:MM-HH:MM"),
        ("DEFAULT_TIMEZONE", "Mars/Olympus", "DEFAULT_TIMEZONE: unknown time zone 'Mars/Olympus'"),
        ("PORT", "eighty", "PORT:"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL: must be a sqlite"),
        ("FORWARDED_ALLOW_IPS", "proxy.local", "FORWARDED_ALLOW_IPS: 'proxy.local' is not an IP"),
        # Texts name it, and SMS budgets assume at most 8 digits.
        ("EMERGENCY_NUMBER", "call 911", "EMERGENCY_NUMBER: must be the local emergency number"),
        ("EMERGENCY_NUMBER", "123456789", "EMERGENCY_NUMBER: must be the local emergency number"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(")):
        load_settings()
