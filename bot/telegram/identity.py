"""Who the bot is: one getMe call, which also tells whether Telegram accepts the token.

Used before anything starts (`aftercare run`) and by `aftercare enroll`, to make invite links
with the bot's own username when TELEGRAM_BOT_USERNAME is unset. Messages are one line that
names the setting and the address, never the token.
"""

from __future__ import annotations

import httpx

GET_ME_TIMEOUT_SECONDS = 10.0


class BotIdentityError(Exception):
    """Telegram refused the token or could not be asked; one line saying which."""


def bot_username(token: str, api_base_url: str, timeout: float = GET_ME_TIMEOUT_SECONDS) -> str:
    """The bot's username (without @) from getMe at `api_base_url` (which ends in /bot)."""
    try:
        response = httpx.get(f"{api_base_url}{token}/getMe", timeout=timeout)
    except httpx.HTTPError as exc:
        raise BotIdentityError(
            f"TELEGRAM_API_BASE_URL: cannot reach the Bot API at {api_base_url} "
            f"({type(exc).__name__}); check the network or the setting"
        ) from None
    if response.status_code in (401, 404):
        # Telegram answers 401 for a revoked or mistyped token, 404 for a malformed one.
        raise BotIdentityError(
            f"TELEGRAM_BOT_TOKEN: Telegram refused the token ({response.status_code} from getMe "
            f"at {api_base_url}); copy it again from @BotFather"
        )
    try:
        username = response.json()["result"]["username"]
    except (ValueError, KeyError, TypeError):
        username = None
    if response.status_code != 200 or not isinstance(username, str):
        raise BotIdentityError(
            f"TELEGRAM_API_BASE_URL: unexpected answer from getMe at {api_base_url} "
            f"(HTTP {response.status_code})"
        )
    return username
