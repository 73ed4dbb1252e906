"""`aftercare doctor`: is this configuration ready to go live? A check list (ok / warn /
fail, with what to do), `--json` for scripts, exit status 1 when anything fails.

The checks are aftercare.doctor's. Unreadable settings are not a reason to stop here: they
are the first check that fails.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from aftercare.doctor import diagnose, render
from aftercare.settings import ConfigError, load_settings


def doctor(
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"ok", "checks": [...]} instead.')
    ] = False,
) -> None:
    """Check the settings, database, protocol and providers before going live."""
    from aftercare.doctor_checks import fail as failing  # with the checks: loaded only here

    try:
        settings = load_settings()
    except ConfigError as exc:
        checks = [failing("settings", str(exc), "correct the variables named, then run again")]
    else:
        checks = asyncio.run(diagnose(settings))
    failed = any(check.status == "fail" for check in checks)
    if as_json:
        body = {"ok": not failed, "checks": [check.as_json() for check in checks]}
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        typer.echo(render(checks))
    raise typer.Exit(1 if failed else 0)
