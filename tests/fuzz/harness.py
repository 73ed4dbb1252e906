"""How every fuzz target runs: a fixed number of generated inputs, each within time bounds.

Each target runs its own `@given` function and counts the inputs it was handed, so a target
that silently ran fewer inputs than its share fails instead of passing on nothing. The shares
add up to at least 10,000 inputs for the whole suite.
"""

from __future__ import annotations

import logging
import random
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

T = TypeVar("T")

# Sanity limits, not performance targets (the benchmarks under bench/ hold those). One input
# costing a second of this process's CPU means something is quadratic: the app, SQLite and
# the client side of PostgreSQL all run in the test process (its threads included). One
# taking ten seconds on the clock means something is stuck (a lock, a timeout) or quadratic
# where this process cannot see it (PostgreSQL's server). The clock alone measured the
# machine's load: with both cores busy, an input costing 0.15 s of CPU took 0.93 s.
PER_INPUT_CPU_SECONDS = 1.0
PER_INPUT_WALL_SECONDS = 10.0

EXAMPLES = {
    "csv_bytes": 1_500,
    "csv_structured": 1_500,
    "csv_over_http": 300,
    "twilio_sms": 1_200,  # split over SQLite and PostgreSQL
    "twilio_status": 600,
    "telegram_webhook": 1_200,
    "faq_reply": 1_400,
    "faq_classify": 600,
    "timeparse_text": 1_000,
    "timeparse_phrases": 1_000,
}
TOTAL_EXAMPLES = sum(EXAMPLES.values())


def fuzz(
    target: str,
    strategy: st.SearchStrategy[T],
    check: Callable[[T], None],
    *,
    examples: int | None = None,
) -> None:
    """Run `check` on `examples` generated inputs (the target's share by default); each one
    must return within PER_INPUT_CPU_SECONDS of CPU time and PER_INPUT_WALL_SECONDS.

    An exception fails at once, with the input shrunk by hypothesis. Slow inputs are
    collected and reported after the run as they were: shrinking by time is slow and
    unreliable on a shared machine.
    """
    wanted = EXAMPLES[target] if examples is None else examples
    seen = 0
    slow: list[tuple[float, float, T]] = []

    @settings(
        max_examples=wanted,
        deadline=None,  # measured below, around the call only, not around generation
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
        print_blob=True,
    )
    @given(strategy)
    def one_input(value: T) -> None:
        nonlocal seen
        seen += 1
        started, cpu_started = time.perf_counter(), time.process_time()
        check(value)
        cpu = time.process_time() - cpu_started
        elapsed = time.perf_counter() - started
        if cpu >= PER_INPUT_CPU_SECONDS or elapsed >= PER_INPUT_WALL_SECONDS:
            slow.append((cpu, elapsed, value))

    one_input()
    assert seen >= wanted, f"{target}: only {seen} of {wanted} inputs were generated"
    slow.sort(key=lambda item: (-item[0], -item[1]))
    assert not slow, (
        f"{target}: {len(slow)} input(s) took {PER_INPUT_CPU_SECONDS} s of CPU or "
        f"{PER_INPUT_WALL_SECONDS} s or more:\n"
        + "\n".join(
            f"{cpu:.3f} s CPU, {elapsed:.3f} s in all for {_shown(value)}"
            for cpu, elapsed, value in slow[:3]
        )
    )


def _shown(value: object, limit: int = 400) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class ErrorRecords(logging.Handler):
    """Log records at ERROR or above: how a swallowed exception (PTB's error handler, a
    logged 'could not be processed') shows up when the HTTP answer alone would hide it."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        found = [f"{r.name}: {r.getMessage()}{_raised(r)}" for r in self.records]
        self.records.clear()
        return found


def _raised(record: logging.LogRecord) -> str:
    """The exception and the innermost project frame it came from, if the record has one."""
    if not record.exc_info or record.exc_info[1] is None:
        return ""
    error = record.exc_info[1]
    where = ""
    for frame in traceback.extract_tb(error.__traceback__):
        if "site-packages" not in frame.filename:
            where = f" at {frame.filename.rsplit('/main/', 1)[-1]}:{frame.lineno}"
    return f" ({type(error).__name__}: {error}{where})"


@contextmanager
def error_records() -> Iterator[ErrorRecords]:
    handler = ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def long_text(seed: int, length: int, words: Sequence[str] = ()) -> str:
    """`length` characters of any code points (or of `words`), made from a seed: hypothesis
    builds long strings one draw per character, which costs more than the input's check."""
    rng = random.Random(seed)
    if words:
        return " ".join(rng.choices(words, k=length // 4))[:length]
    points = [rng.choice(_ALPHABETS)(rng) for _ in range(length)]
    return "".join(map(chr, points))


_ALPHABETS: tuple[Callable[[random.Random], int], ...] = (
    lambda rng: rng.randint(0x20, 0x7E),  # ASCII
    lambda rng: rng.randint(0x20, 0x7E),
    lambda rng: rng.randint(0x00, 0x1F),  # control characters, NUL included
    lambda rng: rng.randint(0xA0, 0x24F),  # accented Latin
    lambda rng: rng.randint(0x1F600, 0x1F64F),  # emoji
    lambda rng: rng.choice((0x200B, 0x202E, 0xFEFF, 0xFFFD)),  # invisible, bidi, BOM
)


def long_texts(min_size: int, max_size: int, words: Sequence[str] = ()) -> st.SearchStrategy[str]:
    return st.builds(
        long_text, st.integers(0, 2**32 - 1), st.integers(min_size, max_size), st.just(words)
    )
