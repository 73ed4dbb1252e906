"""`aftercare doctor`'s verdicts, and the checks that need no provider: the settings, the
channels configured, PUBLIC_BASE_URL's shape, the database, the protocol file, the clinics'
own protocols.

Each check says ok, warn or fail in one line, with what to do for the last two. A detail
names settings and targets (a file, a server), never a token, password or key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from aftercare.settings import Settings
from messages.protocol_files import ProtocolError, load_protocol, parse_protocol
from storage.clinic_protocols import active_versions
from storage.db import Database
from storage.health import probe_writes
from storage.migrate import current_heads
from storage.readiness import DatabaseNotReady, connection_problem, describe, require_migrated

Status = Literal["ok", "warn", "fail"]
# Telegram delivers webhooks only to these ports (its setWebhook documentation).
TELEGRAM_WEBHOOK_PORTS = (443, 80, 88, 8443)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""  # what to do about a warn or a fail

    def as_json(self) -> dict[str, str]:
        return asdict(self)


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def warn(name: str, detail: str, fix: str) -> Check:
    return Check(name, "warn", detail, fix)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "fail", detail, fix)


def channels_check(settings: Settings) -> Check:
    twilio = {
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID": settings.twilio_from_number
        or settings.twilio_messaging_service_sid,
    }
    missing = [name for name, value in twilio.items() if not value]
    if 0 < len(missing) < len(twilio):
        return fail(
            "channels",
            f"SMS is half configured: {', '.join(missing)} unset",
            "set the missing Twilio settings, or unset the others to run without SMS",
        )
    enabled = {"Telegram": settings.telegram_enabled, "SMS": settings.sms_enabled}
    names = [name for name, on in enabled.items() if on]
    if not names:
        return warn(
            "channels",
            "no Telegram or Twilio credentials: reminders are printed to the console",
            "set TELEGRAM_BOT_TOKEN and/or the TWILIO_* settings to reach patients",
        )
    return ok("channels", " and ".join(names))


def public_url_check(settings: Settings) -> Check:
    """PUBLIC_BASE_URL is the origin the internet reaches: https://host[:port], nothing after."""
    name = "public url"
    url = settings.public_base_url
    if not url:
        if settings.sms_enabled:
            return warn(
                name,
                "PUBLIC_BASE_URL is unset: no delivery receipts, and Twilio's webhook "
                "signatures are checked against the URL as received (wrong behind a proxy)",
                "set PUBLIC_BASE_URL to the https address this service is reached at",
            )
        return ok(name, "unset (Telegram, if configured, long-polls)")
    parts = urlsplit(url)
    shape = "set PUBLIC_BASE_URL to the origin only, e.g. https://care.example.com"
    if parts.scheme != "https":
        return fail(name, f"PUBLIC_BASE_URL must use https, not {parts.scheme or 'nothing'}", shape)
    if not parts.hostname:
        return fail(name, "PUBLIC_BASE_URL names no host", shape)
    if parts.path == "/" or url.endswith("/"):
        return fail(name, "PUBLIC_BASE_URL ends with a slash", "remove the trailing slash")
    if parts.path or parts.query or parts.fragment or parts.username:
        return fail(
            name,
            "PUBLIC_BASE_URL has more than an origin: the service adds /telegram/webhook and "
            "/twilio/... itself",
            shape,
        )
    port = parts.port or 443
    if settings.telegram_enabled and port not in TELEGRAM_WEBHOOK_PORTS:
        return fail(
            name,
            f"Telegram sends webhooks only to ports 443, 80, 88 or 8443, not {port}",
            "serve the public address on one of those ports (a TLS proxy in front)",
        )
    return ok(name, url)


def database_check(settings: Settings) -> Check:
    """Reachable, migrated to this version, and writable (a write probe rolled back)."""
    url = settings.database_url
    name = "database"
    try:
        require_migrated(url)
    except DatabaseNotReady as exc:
        return fail(name, str(exc), "run what the message says, or correct DATABASE_URL")
    except DBAPIError as exc:
        return fail(name, connection_problem(url, exc), "check DATABASE_URL and the server")
    db = Database(url)
    try:
        probe = probe_writes(db)
    finally:
        db.dispose()
    target = describe(url)
    if not probe.writable:
        return fail(
            name,
            f"{target} refuses writes ({probe.outcome}: {probe.detail})",
            "let this user write the database (for SQLite, the file and its folder)",
        )
    migration = ", ".join(current_heads(url))
    detail = f"{target}: reachable, writable, at migration {migration}"
    if _relative_sqlite_path(url):
        return warn(
            name,
            detail + " (a relative path: commands run from another folder use another file)",
            "set DATABASE_URL to an absolute path, e.g. sqlite:////var/lib/aftercare/a.db",
        )
    return ok(name, detail)


def _relative_sqlite_path(url: str) -> bool:
    parsed = make_url(url)
    database = (parsed.database or "").removeprefix("file:")
    return (
        parsed.drivername.startswith("sqlite")
        and database not in ("", ":memory:")
        and (not Path(database).is_absolute())
    )


def protocol_check(settings: Settings) -> Check:
    source = settings.protocol_file or "the built-in protocol"
    try:
        protocol = load_protocol(settings.protocol_file)
    except ProtocolError as exc:
        return fail("protocol", str(exc), "correct PROTOCOL_FILE, or unset it for the built-in")
    milestones = len(protocol.milestones)
    return ok("protocol", f"{protocol.name} from {source}: {milestones} milestones")


def clinic_protocols_check(settings: Settings) -> Check:
    """Each clinic's active stored protocol versions still parse and pass today's checks
    (they passed the checks of the release that stored them; one that no longer does is
    planned with the built-in instead, which the clinic did not ask for)."""
    name = "clinic protocols"
    db = Database(settings.database_url)
    try:
        versions = active_versions(db)
    finally:
        db.dispose()
    if not versions:
        return ok(name, "no clinic has a protocol of its own")
    broken = []
    for slug, version in versions:
        assert version.source is not None  # active versions have one; resets are not active
        try:
            parse_protocol(version.source, f"clinic {slug} version {version.version}")
        except ProtocolError as exc:
            whose = f" (service {version.service!r})" if version.service else ""
            broken.append(f"{slug} version {version.version}{whose}: {'; '.join(exc.problems)}")
    if broken:
        return fail(
            name,
            f"{len(broken)} of {len(versions)} no longer load(s), so the built-in is used "
            "instead: " + " | ".join(broken),
            "upload a corrected file: aftercare clinic protocol SLUG FILE [--service NAME] "
            "(or --reset)",
        )
    return ok(name, f"{len(versions)} active version(s) load")
