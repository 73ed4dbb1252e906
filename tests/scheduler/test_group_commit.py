"""Group commit: callers that are ready together share one write; each gets its result."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from scheduler.group_commit import GroupCommit


async def test_callers_ready_together_share_one_write() -> None:
    writes: list[list[int]] = []

    def write(items: Sequence[int]) -> set[int]:
        writes.append(list(items))
        return set(items)

    group = GroupCommit(write)

    results = await asyncio.gather(*(group.submit(n) for n in range(5)))

    assert writes == [[0, 1, 2, 3, 4]]
    assert all(result == {0, 1, 2, 3, 4} for result in results)


async def test_items_that_arrive_during_a_write_go_together_in_the_next() -> None:
    started, release = threading.Event(), threading.Event()
    writes: list[list[int]] = []

    def write(items: Sequence[int]) -> None:
        writes.append(list(items))
        if len(writes) == 1:
            started.set()
            release.wait(5)

    group: GroupCommit[int, None] = GroupCommit(write)
    first = asyncio.create_task(group.submit(0))
    await asyncio.to_thread(started.wait, 5)
    later = [asyncio.create_task(group.submit(n)) for n in (1, 2, 3)]
    await asyncio.sleep(0)  # they are queued behind the running write
    release.set()
    await asyncio.gather(first, *later)

    assert writes == [[0], [1, 2, 3]]


async def test_a_failed_write_fails_every_caller_in_it_and_the_next_one_runs() -> None:
    calls: list[list[str]] = []

    def write(items: Sequence[str]) -> None:
        calls.append(list(items))
        if "bad" in items:
            raise RuntimeError("database is locked")

    group: GroupCommit[str, None] = GroupCommit(write)
    results = await asyncio.gather(
        group.submit("bad"), group.submit("other"), return_exceptions=True
    )
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]
    await group.submit("fine")
    assert calls == [["bad", "other"], ["fine"]]


async def test_a_caller_never_waits_forever_when_the_writer_is_cancelled() -> None:
    started, release = threading.Event(), threading.Event()

    def write(_items: Sequence[int]) -> None:
        started.set()
        release.wait(5)

    group: GroupCommit[int, None] = GroupCommit(write)
    waiting = asyncio.create_task(group.submit(1))
    await asyncio.to_thread(started.wait, 5)
    assert group._writer is not None
    group._writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    release.set()
