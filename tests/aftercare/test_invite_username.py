"""Invite links carry the bot's username from getMe when TELEGRAM_BOT_USERNAME is unset:
in the running service (the clinic API) and in `aftercare enroll`, against the fake Bot API.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.aftercare.process_kit import AFTERCARE, Service, TelegramInThread, service_env
from tests.fakes.telegram_api import BOT_USERNAME

LINK = f"https://t.me/{BOT_USERNAME}?start="


@pytest.fixture
def telegram() -> Iterator[TelegramInThread]:
    fake = TelegramInThread()
    yield fake
    fake.close()


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AFTERCARE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def add_clinic(env: dict[str, str], cwd: Path) -> str:
    added = cli(
        env,
        cwd,
        *("clinic", "add", "glow", "--name", "Glow", "--phone", "+12125550100"),
        *("--timezone", "America/New_York", "--json"),
    )
    assert added.returncode == 0, added.stderr
    return str(json.loads(added.stdout)["api_key"])


def example(env: dict[str, str], cwd: Path) -> Path:
    path = cwd / "patients.csv"
    path.write_text(cli(env, cwd, "example-csv", "--rows", "3").stdout)
    return path


@pytest.mark.slow
def test_enroll_asks_telegram_for_the_username(
    sqlite_url: str, tmp_path: Path, telegram: TelegramInThread
) -> None:
    env = service_env(sqlite_url, **telegram.env())
    add_clinic(env, tmp_path)
    result = cli(env, tmp_path, "enroll", str(example(env, tmp_path)), "--clinic", "glow", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    links = [p["invite_url"] for p in json.loads(result.stdout)["patients"]]
    assert links and all(link.startswith(LINK) for link in links)
    assert [call.method for call in telegram.api.calls] == ["getMe"]


@pytest.mark.slow
def test_enroll_with_a_refused_token_says_so_and_imports_nothing(
    sqlite_url: str, tmp_path: Path, telegram: TelegramInThread
) -> None:
    env = service_env(sqlite_url, **telegram.env(token="123456:wrong"))
    add_clinic(env, tmp_path)
    result = cli(env, tmp_path, "enroll", str(example(env, tmp_path)), "--clinic", "glow")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: TELEGRAM_BOT_TOKEN: Telegram refused the token (401 from getMe at "
        f"{telegram.api.base_url}); copy it again from @BotFather (or set "
        "TELEGRAM_BOT_USERNAME to make invite links without asking)"
    ]
    listed = json.loads(cli(env, tmp_path, "clinic", "list", "--json").stdout)
    assert listed[0]["patients"] == 0


@pytest.mark.slow
def test_the_running_service_makes_api_invites_with_the_username_it_learned(
    sqlite_url: str, tmp_path: Path, telegram: TelegramInThread
) -> None:
    env = service_env(sqlite_url, **telegram.env())
    key = add_clinic(env, tmp_path)
    service = Service(env, tmp_path)
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, service.stderr()
            time.sleep(0.1)
        response = httpx.post(
            f"{base}/api/v1/enrollments",
            content=example(env, tmp_path).read_bytes(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"},
            timeout=30,
        )
    finally:
        assert service.terminate()
    assert response.status_code == 200, response.text
    links = [p["invite_url"] for p in response.json()["patients"]]
    assert links and all(link.startswith(LINK) for link in links)
