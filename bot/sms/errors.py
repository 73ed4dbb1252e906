"""Turning what went wrong with a Twilio API call into a SendResult. Pure, no I/O.

Error texts are fixed phrases with the Twilio code: Twilio's own messages can quote the
phone number, and these texts are stored on the reminder and logged.
"""

from __future__ import annotations

import aiohttp
from twilio.base.exceptions import TwilioException

from scheduler.ports import SendResult

OPTED_OUT = 21610  # the recipient replied STOP to this sender
# The number can never take an SMS from this account as it is: invalid, not a mobile,
# not routable, or in a region the account may not send to.
UNREACHABLE: dict[int, str] = {
    21211: "invalid 'To' phone number",
    21217: "phone number does not appear to be valid",
    21401: "invalid phone number",
    21407: "this phone number type does not support SMS",
    21408: "sending to this region is not enabled on the account",
    21421: "phone number is invalid",
    21612: "Twilio cannot route to this number",
    21614: "'To' number is not a valid mobile number",
}
# Transient on Twilio's side: the sender's queue is full, or too many requests.
BUSY = {21611: "sender queue is full", 20429: "too many requests"}
AUTH_FAILED = 20003  # wrong SID or token: an operator can fix it inside the window

# Twilio's 429 carries no Retry-After the client library exposes: pause the lane briefly.
RATE_LIMIT_PAUSE_SECONDS = 2.0


def classify_error(exc: BaseException) -> SendResult:
    """What a failed `messages.create` means for the reminder (and the patient)."""
    if isinstance(exc, TwilioException):
        return _classify_twilio(exc)
    if isinstance(exc, TimeoutError):
        # Twilio may have accepted it: the next attempt looks it up first (bot.sms.channel).
        return SendResult.transient("timed out calling the Twilio API", error_code="timeout")
    if isinstance(exc, aiohttp.ClientError):
        return SendResult.transient(
            f"could not reach the Twilio API ({type(exc).__name__})", error_code="network"
        )
    raise TypeError(f"not a Twilio or network error: {type(exc).__name__}") from exc


def _classify_twilio(exc: TwilioException) -> SendResult:
    # TwilioRestException and (since 9.10) TwilioServiceException both carry these.
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    code = code if isinstance(code, int) else None
    label = str(code) if code is not None else (str(status) if status else None)
    if code == OPTED_OUT:
        return SendResult.permanent(
            "recipient opted out of texts from this sender (replied STOP)",
            error_code=label,
            opted_out=True,
        )
    if code in UNREACHABLE:
        return SendResult.permanent(UNREACHABLE[code], error_code=label, unreachable=True)
    if status == 429 or code in BUSY:
        reason = BUSY.get(code or 0, "too many requests")
        return SendResult.transient(
            f"Twilio is rate limiting: {reason}",
            error_code=label,
            retry_after=RATE_LIMIT_PAUSE_SECONDS,
        )
    if code == AUTH_FAILED or status == 401:
        # Every message would fail the same way; keep retrying inside the window.
        return SendResult.transient(
            "Twilio refused the credentials (check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)",
            error_code=label,
        )
    if isinstance(status, int) and status >= 500:
        return SendResult.transient(f"Twilio server error (HTTP {status})", error_code=label)
    if isinstance(status, int) and 400 <= status < 500:
        return SendResult.permanent(
            f"Twilio rejected the message (HTTP {status}, code {label})", error_code=label
        )
    # No HTTP status at all: the library failed before or after the call.
    return SendResult.transient(f"Twilio client error ({type(exc).__name__})", error_code=label)
