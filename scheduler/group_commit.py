"""Group commit: concurrent callers each wait for their own item to be written, and the
items that arrive while a write is running go together in the next one.

On a lane with a rate each outcome is written as soon as the provider answers. Usually
that is one small write per send; when answers come faster than the database takes them
(a slow disk, a busy PostgreSQL), the ones that wait share the next transaction instead of
queueing up one worker thread each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    def __init__(self, write: Callable[[Sequence[Item]], Result]) -> None:
        """`write` runs in a worker thread with every item waiting at that moment."""
        self._write = write
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """Returns once `item` is written, with what its write returned (or its error)."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None or self._writer.done():
            # Started as a task, so the callers that are ready in this same turn of the
            # loop join the first write instead of each starting its own.
            self._writer = asyncio.create_task(self._write_all())
        return await future

    async def _write_all(self) -> None:
        batch: list[tuple[Item, asyncio.Future[Result]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    result = await asyncio.to_thread(self._write, [item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for _, future in batch:
                        if not future.done():
                            future.set_result(result)
        finally:
            # Cancelled (the loop is shutting down): nobody may wait forever.
            for _, future in batch + self._waiting:
                if not future.done():
                    future.cancel()
