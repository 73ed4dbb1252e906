"""Deep links that open the bot: per-patient invites and each clinic's public link."""

from __future__ import annotations

import re

# Telegram's start parameter: 1-64 characters from A-Z, a-z, 0-9, _ and -.
_START_PARAMETER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CLINIC_PREFIX = "c_"


def is_start_parameter(value: str) -> bool:
    """Whether `value` could be a start parameter Telegram passes on; nothing else is looked up."""
    return _START_PARAMETER.fullmatch(value) is not None  # `$` alone would allow a final \n


def _link(bot_username: str, parameter: str) -> str:
    username = bot_username.strip().removeprefix("@")
    if not re.fullmatch(r"[A-Za-z0-9_]{3,64}", username):
        raise ValueError(f"not a Telegram bot username: {bot_username!r}")
    if not is_start_parameter(parameter):
        raise ValueError("a start parameter is 1-64 characters of A-Z, a-z, 0-9, _ and -")
    return f"https://t.me/{username}?start={parameter}"


def invite_url(bot_username: str, token: str) -> str:
    """The one-tap link for an enrolled patient; `token` comes from InviteRepository.create."""
    return _link(bot_username, token)


def clinic_url(bot_username: str, clinic_slug: str) -> str:
    """A clinic's public self-registration link."""
    return _link(bot_username, CLINIC_PREFIX + clinic_slug)
