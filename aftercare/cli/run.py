"""`aftercare run`: migrate, then serve (scheduler, HTTP app, the configured channels)."""

from __future__ import annotations

import asyncio

from aftercare.cli.common import database_creatable, fail, read_settings
from aftercare.logs import configure_logging


def run() -> None:
    """Migrate, then serve: scheduler, HTTP app and the configured channels."""
    # The web server, the providers' clients and the composition root are loaded only by
    # the command that serves: the others start without them.
    import uvicorn

    from aftercare.health import startup_problem
    from aftercare.preflight import (
        StartupError,
        bind_listener,
        telegram_username,
        with_bot_username,
    )
    from aftercare.web import create_app, server_config
    from aftercare.wiring import build_core, build_runtime
    from messages.protocol_files import ProtocolError

    settings = read_settings()
    # Before logging is set up, so a database that cannot be written stops start-up with
    # one line, not migration chatter or a traceback.
    database_creatable(settings)
    problem = startup_problem(settings.database_url)
    if problem:
        raise fail(problem)
    try:
        # The port is taken before anything starts; the token is checked (and the bot's
        # username learned for invite links) before the scheduler runs.
        listener = bind_listener(settings.host, settings.port)
        if settings.telegram_bot_token:
            settings = with_bot_username(settings, telegram_username(settings))
    except StartupError as exc:
        raise fail(str(exc)) from None
    # LOG_FORMAT=json: one object per line. Library loggers that would print request URLs,
    # which carry tokens and chat ids, are kept at WARNING either way.
    configure_logging(settings.log_level, settings.log_format)
    try:
        core = build_core(settings)
    except ProtocolError as exc:
        raise fail(str(exc)) from None
    try:
        runtime = build_runtime(core)
        config = server_config(create_app(runtime), settings)
        # uvicorn turns SIGINT/SIGTERM into a graceful shutdown, which runs the lifespan exit.
        asyncio.run(uvicorn.Server(config).serve(sockets=[listener]))
    finally:
        core.close()
