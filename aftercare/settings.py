"""The one settings object, read from the environment and `.env`."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from messages.protocol import EMERGENCY_NUMBER, WORST_CASE_VALUES
from scheduler.quiet_hours import QuietHours
from storage.values import LANGUAGES


class ConfigError(Exception):
    """A setting has a bad value; the message names the variable."""


def _parse_quiet_hours(value: object) -> object:
    if isinstance(value, str):
        return QuietHours.parse(value)
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        env_ignore_empty=True,
    )

    database_url: str = "sqlite:///./aftercare.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    default_timezone: str = "UTC"
    default_language: str = "en"
    quiet_hours: Annotated[QuietHours | None, NoDecode, BeforeValidator(_parse_quiet_hours)] = (
        QuietHours.parse("21:00-08:00")
    )
    protocol_file: str | None = None
    emergency_number: str = "911"
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object per line
    # Proxies whose X-Forwarded-For is believed (IPs or networks, comma-separated, or "*").
    # None: the header is ignored and the connecting address is the client's.
    forwarded_allow_ips: str | None = None

    # Dispatch engine
    sweep_interval_seconds: float = Field(default=15.0, gt=0)
    claim_lease_seconds: float = Field(default=60.0, gt=0)
    dispatch_batch_size: int = Field(default=200, ge=1, le=10_000)
    retry_base_seconds: float = Field(default=30.0, gt=0)
    retry_max_seconds: float = Field(default=1800.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    console_rate_per_second: float = Field(default=50.0, gt=0)
    telegram_rate_per_second: float = Field(default=30.0, gt=0)
    sms_rate_per_second: float = Field(default=1.0, gt=0)

    # Telegram
    telegram_bot_token: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_bot_username: str | None = None  # for invite links made without asking the API
    telegram_webhook_secret: str | None = None
    public_base_url: str | None = None
    invite_ttl_hours: float = Field(default=24.0 * 14, gt=0)

    # Twilio
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    twilio_timeout_seconds: float = Field(default=10.0, gt=0)

    # Operations: how long a finished treatment's texts are kept; who may read /metrics.
    retention_days: int = Field(default=180, ge=1, le=36_500)
    metrics_username: str | None = None
    metrics_password: str | None = None

    # Clinic dashboard: a session unused for this long is signed out.
    dashboard_idle_hours: float = Field(default=12.0, gt=0, le=24 * 30)

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Europe/Madrid)"
            ) from exc
        return value

    @field_validator("emergency_number")
    @classmethod
    def _dialable_emergency_number(cls, value: str) -> str:
        # Texts name it, and their SMS budgets are checked with a number this long.
        longest = len(WORST_CASE_VALUES[EMERGENCY_NUMBER])
        if not (value.isascii() and value.isdigit() and len(value) <= longest):
            raise ValueError(
                f"must be the local emergency number, 1 to {longest} digits "
                f"(for example 911 or 112), got {value!r}"
            )
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError("must be " + " or ".join(f"'{language}'" for language in LANGUAGES))
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _trusted_proxies(cls, value: str | None) -> str | None:
        if value is None:
            return None
        items = [item.strip() for item in value.split(",") if item.strip()]
        for item in items:
            if item == "*":
                continue
            try:
                ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/8, *)"
                ) from None
        return ",".join(items) or None

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @model_validator(mode="after")
    def _metrics_credentials_in_pairs(self) -> Settings:
        if bool(self.metrics_username) != bool(self.metrics_password):
            raise ValueError("METRICS_USERNAME and METRICS_PASSWORD are set together or not at all")
        return self

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def sms_enabled(self) -> bool:
        return bool(
            self.twilio_account_sid
            and self.twilio_auth_token
            and (self.twilio_from_number or self.twilio_messaging_service_sid)
        )


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation failure into one line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "SETTINGS"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}: {message}")
        raise ConfigError("bad configuration: " + "; ".join(problems)) from None
