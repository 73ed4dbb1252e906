"""`aftercare doctor`'s provider checks, against the real APIs (or what the *_API_BASE_URL
settings point at): Telegram's getMe and getWebhookInfo; the Twilio account, fetched with
the twilio client through the same rebased HTTP client the SMS channel uses, and that the
sender number or Messaging Service is the account's own.

Telegram's and Twilio's error texts are not repeated (Twilio's can quote numbers); only
HTTP statuses and error codes are.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
import httpx
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from aftercare.doctor_checks import Check, fail, ok, warn
from aftercare.settings import Settings
from bot.sms.http import RebasedTwilioHttpClient

BOTFATHER = "copy the token again from @BotFather (/mybots, API Token)"
TWILIO_CONSOLE = "copy TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN from the Twilio console"
TELEGRAM_TIMEOUT_SECONDS = 10.0


async def telegram_checks(settings: Settings) -> list[Check]:
    """getMe (the token, the username) and getWebhookInfo (the webhook matches the mode)."""
    base = settings.telegram_api_base_url
    token = settings.telegram_bot_token or ""
    async with httpx.AsyncClient(timeout=TELEGRAM_TIMEOUT_SECONDS) as http:
        try:
            me = await http.get(f"{base}{token}/getMe")
            if me.status_code in (401, 404):
                return [
                    fail(
                        "telegram token",
                        f"Telegram refused TELEGRAM_BOT_TOKEN ({me.status_code} from getMe)",
                        BOTFATHER,
                    )
                ]
            info = await http.get(f"{base}{token}/getWebhookInfo")
        except httpx.HTTPError as exc:
            return [
                fail(
                    "telegram token",
                    f"cannot reach the Bot API at {base} ({type(exc).__name__})",
                    "check the network, or TELEGRAM_API_BASE_URL",
                )
            ]
    username = _result(me).get("username")
    if me.status_code != 200 or not isinstance(username, str):
        return [fail("telegram token", f"unexpected getMe answer (HTTP {me.status_code})", "")]
    return [_username_check(settings, username), _webhook_check(settings, info)]


def _result(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    result = body.get("result") if isinstance(body, dict) else None
    return result if isinstance(result, dict) else {}


def _username_check(settings: Settings, username: str) -> Check:
    configured = (settings.telegram_bot_username or "").lstrip("@")
    if configured and configured.lower() != username.lower():
        return fail(
            "telegram token",
            f"the token belongs to @{username}, but TELEGRAM_BOT_USERNAME is {configured}: "
            "invite links would open another bot",
            f"set TELEGRAM_BOT_USERNAME={username}, or unset it (getMe supplies it)",
        )
    return ok("telegram token", f"accepted: the bot is @{username}")


def _webhook_check(settings: Settings, info: httpx.Response) -> Check:
    name = "telegram webhook"
    if info.status_code != 200:
        return fail(name, f"getWebhookInfo answered HTTP {info.status_code}", "try again later")
    webhook = _result(info)
    registered = str(webhook.get("url") or "")
    public = settings.public_base_url
    if not public:
        if registered:
            return warn(
                name,
                "a webhook is registered while PUBLIC_BASE_URL is unset (polling mode)",
                "nothing, if this is the only service for the bot: `aftercare run` deletes it; "
                "otherwise another deployment uses this bot",
            )
        return ok(name, "none registered: `aftercare run` long-polls")
    expected = f"{public.rstrip('/')}/telegram/webhook"
    if not registered:
        return warn(
            name, "none registered yet", "`aftercare run` registers it at start; run it once"
        )
    if registered != expected:
        return warn(
            name,
            f"registered at another address ({registered})",
            "`aftercare run` registers its own at start; is another deployment using this bot?",
        )
    error = webhook.get("last_error_message")
    if isinstance(error, str) and error:
        when = datetime.fromtimestamp(int(webhook.get("last_error_date") or 0), UTC)
        return fail(
            name,
            f"Telegram's last delivery to {expected} failed at {when:%Y-%m-%d %H:%M} UTC "
            f"({error[:120]}); {webhook.get('pending_update_count', 0)} updates wait",
            "check that the address reaches this service over https with a valid certificate",
        )
    return ok(name, f"registered at {expected}")


async def twilio_checks(settings: Settings) -> list[Check]:
    """The account (credentials, status), then the sender: the number among the account's
    IncomingPhoneNumbers, the Messaging Service fetched with the account's credentials."""
    sid = settings.twilio_account_sid or ""
    http = RebasedTwilioHttpClient(settings.twilio_api_base_url, settings.twilio_timeout_seconds)
    client = Client(sid, settings.twilio_auth_token, http_client=http)
    try:
        try:
            account = await client.api.v2010.accounts(sid).fetch_async()
        except (TwilioException, aiohttp.ClientError, TimeoutError) as exc:
            return [_twilio_failure("twilio account", exc)]
        if account.status != "active":
            return [
                fail(
                    "twilio account",
                    f"the account is {account.status}",
                    "reactivate it in the Twilio console (billing, or Twilio support)",
                )
            ]
        checks = [ok("twilio account", f"credentials accepted; the account is {account.status}")]
        try:
            checks.extend(await _sender_checks(settings, client))
        except (TwilioException, aiohttp.ClientError, TimeoutError) as exc:
            checks.append(_twilio_failure("twilio sender", exc))
        return checks
    finally:
        await http.close()


async def _sender_checks(settings: Settings, client: Client) -> list[Check]:
    checks: list[Check] = []
    number = settings.twilio_from_number
    if number and not number.startswith("+"):
        checks.append(
            warn(
                "twilio sender",
                f"TWILIO_FROM_NUMBER {number} looks like a short code: not checked",
                "make sure the short code belongs to this account",
            )
        )
    elif number:
        found = await client.incoming_phone_numbers.list_async(phone_number=number, limit=1)
        if found:
            checks.append(ok("twilio sender", f"{number} is a number of this account"))
        else:
            checks.append(
                fail(
                    "twilio sender",
                    f"TWILIO_FROM_NUMBER {number} is not a number of this account",
                    "use one of the account's numbers (Phone Numbers, Active numbers)",
                )
            )
    service = settings.twilio_messaging_service_sid
    if service:
        try:
            await client.messaging.v1.services(service).fetch_async()
        except TwilioRestException as exc:
            if exc.status != 404:
                raise
            checks.append(
                fail(
                    "twilio service",
                    f"TWILIO_MESSAGING_SERVICE_SID {service} is not a service of this account",
                    "copy the MG... SID from Messaging, Services in the Twilio console",
                )
            )
        else:
            checks.append(ok("twilio service", f"{service} is a service of this account"))
    return checks


def _twilio_failure(name: str, exc: BaseException) -> Check:
    if isinstance(exc, TwilioRestException) and (exc.status == 401 or exc.code == 20003):
        return fail(name, "Twilio refused the credentials (20003)", TWILIO_CONSOLE)
    if isinstance(exc, TwilioRestException):
        code = f", code {exc.code}" if exc.code else ""
        return fail(name, f"Twilio answered HTTP {exc.status}{code}", "see Twilio's status page")
    return fail(
        name,
        f"cannot reach the Twilio API ({type(exc).__name__})",
        "check the network, or TWILIO_API_BASE_URL",
    )
