"""Run by test_memory.py in a child process: one enrollment dry run, then the peak RSS.

    python -m tests.clinic.memory_child cli FILE
    python -m tests.clinic.memory_child http FILE KEY

DATABASE_URL comes from the environment. The last line printed is a JSON object with the
outcome and `peak_mb`, the process's VmHWM. The address space is capped so that a
regression fails with MemoryError instead of taking the machine's memory.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

ADDRESS_SPACE_CAP = 3 * 1024**3
CHUNK = 64 * 1024


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def via_cli(path: str) -> dict[str, Any]:
    from aftercare.cli import app

    try:
        code = app(
            ["enroll", path, "--clinic", "glow", "--dry-run", "--json"], standalone_mode=False
        )
    except SystemExit as exit_:
        code = exit_.code
    return {"exit": code}


async def via_http(path: str, key: str) -> dict[str, Any]:
    import httpx
    from starlette.applications import Starlette

    from aftercare.settings import Settings
    from aftercare.wiring import build_core, clinic_api

    settings = Settings(_env_file=None, database_url=os.environ["DATABASE_URL"])  # type: ignore[call-arg]
    core = build_core(settings)
    app = Starlette(routes=clinic_api(core))

    async def upload(file: BinaryIO) -> AsyncIterator[bytes]:  # chunked: no Content-Length
        while chunk := file.read(CHUNK):
            yield chunk

    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            with open(path, "rb") as file:  # noqa: ASYNC230 - a local file, read in chunks
                response = await http.post(
                    "/api/v1/enrollments?dry_run=true",
                    content=upload(file),
                    headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"},
                    timeout=300,
                )
    finally:
        core.close()
    return {"status": response.status_code, "reply": response.json()}


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))
    how, path, *rest = sys.argv[1:]
    outcome = via_cli(path) if how == "cli" else asyncio.run(via_http(path, rest[0]))
    outcome["peak_mb"] = peak_rss_mb()
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
