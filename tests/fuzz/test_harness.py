"""The fuzz harness's time bounds: CPU time catches quadratic work whatever the machine's
load, the clock catches an input that waits on something (the limits made small here)."""

from __future__ import annotations

import time

import pytest
from hypothesis import strategies as st

from tests.fuzz import harness


def burn(seconds: float) -> None:
    """Busy for `seconds` of this process's CPU time."""
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


def test_an_input_that_costs_cpu_past_the_limit_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(harness, "PER_INPUT_CPU_SECONDS", 0.05)
    with pytest.raises(AssertionError, match=r"1 input\(s\) took 0.05 s of CPU"):
        harness.fuzz("faq_reply", st.just(0), lambda _: burn(0.1), examples=1)


def test_an_input_that_waits_past_the_clocks_limit_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(harness, "PER_INPUT_WALL_SECONDS", 0.05)
    with pytest.raises(AssertionError, match=r"0.0\d\d s CPU, 0.\d+ s in all for 0"):
        harness.fuzz("faq_reply", st.just(0), lambda _: time.sleep(0.1), examples=1)


def test_waiting_without_working_is_within_the_cpu_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a loaded machine does to an input: the clock runs, this process's CPU does not."""
    monkeypatch.setattr(harness, "PER_INPUT_CPU_SECONDS", 0.05)
    harness.fuzz("faq_reply", st.just(0), lambda _: time.sleep(0.1), examples=1)
