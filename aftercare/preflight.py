"""What `aftercare run` checks before anything starts: the port, and the Telegram token.

The port is bound here, before the scheduler starts, and handed to uvicorn as a socket: a
port in use is then one line naming PORT, with nothing started that must be wound down.
The token is checked with one getMe call, which also gives the bot's username for invite
links when TELEGRAM_BOT_USERNAME is unset. Messages name the setting and the target, never
the token.
"""

from __future__ import annotations

import errno
import socket

from aftercare.settings import Settings
from bot.telegram.identity import BotIdentityError, bot_username


class StartupError(Exception):
    """The service cannot start as configured; the message is one line saying why."""


def bind_listener(host: str, port: int) -> socket.socket:
    """A socket bound to HOST:PORT (uvicorn listens on it), or StartupError."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise StartupError(f"HOST: cannot listen on {host!r} ({exc.strerror})") from None
    sock = socket.socket(family, kind, proto)
    # Only skips TIME_WAIT after a restart; a port another process listens on stays refused.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        where = f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"PORT: {where} is already in use (another aftercare run?); stop that process "
                "or set PORT to a free port"
            ) from None
        if exc.errno == errno.EACCES:
            raise StartupError(
                f"PORT: this user may not listen on {where} (ports below 1024 need privileges)"
            ) from None
        raise StartupError(f"HOST/PORT: cannot listen on {where} ({exc.strerror})") from None
    return sock


def telegram_username(settings: Settings) -> str:
    """The bot's username from getMe; StartupError when Telegram refuses the token.

    Only called with TELEGRAM_BOT_TOKEN set.
    """
    try:
        return bot_username(settings.telegram_bot_token or "", settings.telegram_api_base_url)
    except BotIdentityError as exc:
        raise StartupError(str(exc)) from None


def with_bot_username(settings: Settings, username: str | None = None) -> Settings:
    """The settings with TELEGRAM_BOT_USERNAME filled in, when a token is set and the
    username is not, from `username` or else from getMe (StartupError when refused)."""
    if not settings.telegram_bot_token or settings.telegram_bot_username:
        return settings
    username = username or telegram_username(settings)
    return settings.model_copy(update={"telegram_bot_username": username})
