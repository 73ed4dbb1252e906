"""PTB persistence backed by our database, for unfinished conversations only.

A patient half-way through self-registration (or a /treatment correction) has two pieces of
state: the ConversationHandler's state (which question they are answering) and their draft
(the answers so far, in user_data). Both are stored, so a restart continues where the
patient was. Nothing else PTB could persist (chat_data, bot_data, callback data) is.

PTB loads everything once, in `Application.initialize()`, and writes what changed every
`update_interval` seconds and at shutdown; the adapter also writes after each update, so a
crash loses nothing either. Conversations unanswered for DRAFT_TTL are abandoned: they are
not loaded, and are dropped from the database hourly.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

from bot.telegram.drafts import DRAFT_KEY, DRAFT_TTL, Draft
from scheduler.clock import Clock
from storage.telegram import ConversationStateStore

log = logging.getLogger(__name__)

Data = dict[Any, Any]
ConversationKey = tuple[int | str, ...]  # as PTB's ConversationHandler builds it
PURGE_EVERY = timedelta(hours=1)


class DatabasePersistence(BasePersistence[Data, Data, Data]):
    def __init__(
        self, store: ConversationStateStore, clock: Clock, update_interval: float = 60
    ) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self._store = store
        self._clock = clock
        # What the database holds for each user with a draft: PTB offers every user's data
        # after every update, and most of it has not changed.
        self._stored: dict[int, str] = {}
        self._purged_at: datetime | None = None

    def _cutoff(self) -> datetime:
        return self._clock.now() - DRAFT_TTL

    # -- conversations --------------------------------------------------------------------

    async def get_conversations(self, name: str) -> dict[ConversationKey, object]:
        states = await asyncio.to_thread(self._store.states, name, self._cutoff())
        return {key: state for key, state in states.items()}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        chat_id, user_id = _chat_and_user(key)
        if new_state is not None and (
            isinstance(new_state, bool) or not isinstance(new_state, int)
        ):
            raise TypeError(f"conversation {name}: only integer states are stored")
        await asyncio.to_thread(
            self._store.save_state, name, chat_id, user_id, new_state, self._clock.now()
        )

    # -- drafts (user_data) ---------------------------------------------------------------

    async def get_user_data(self) -> dict[int, Data]:
        rows = await asyncio.to_thread(self._store.drafts, self._cutoff())
        loaded: dict[int, Data] = {}
        for user_id, raw in rows.items():
            self._stored[user_id] = raw
            try:
                loaded[user_id] = {DRAFT_KEY: Draft.from_json(raw)}
            except ValueError:
                log.warning("telegram: an unreadable stored draft was ignored")
        return loaded

    async def update_user_data(self, user_id: int, data: Data) -> None:
        now = self._clock.now()
        draft = data.get(DRAFT_KEY)
        # An abandoned draft still in memory (its owner never came back) is not written back.
        live = draft if isinstance(draft, Draft) and not draft.expired(now) else None
        raw = live.to_json() if live is not None else None
        if raw == self._stored.get(user_id):
            return
        touched = (live.touched_at if live is not None else None) or now
        await asyncio.to_thread(self._store.save_draft, user_id, raw, touched)
        if raw is None:
            self._stored.pop(user_id, None)
        else:
            self._stored[user_id] = raw

    async def drop_user_data(self, user_id: int) -> None:
        await asyncio.to_thread(self._store.save_draft, user_id, None, self._clock.now())
        self._stored.pop(user_id, None)

    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        pass  # this process's copy is the current one

    # -- housekeeping ---------------------------------------------------------------------

    async def drop_abandoned(self) -> int:
        """At most hourly: delete conversations nobody answered within DRAFT_TTL."""
        now = self._clock.now()
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return 0
        self._purged_at = now
        dropped = await asyncio.to_thread(self._store.drop_older, now - DRAFT_TTL)
        self._stored = {user_id: raw for user_id, raw in self._stored.items() if _fresh(raw, now)}
        if dropped:
            log.info("telegram: %s abandoned conversation row(s) dropped", dropped)
        return dropped

    async def flush(self) -> None:
        pass  # every write is committed when it is made

    # -- what is not stored -----------------------------------------------------------------

    async def get_chat_data(self) -> dict[int, Data]:
        return {}

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        pass

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        pass

    async def drop_chat_data(self, chat_id: int) -> None:
        pass

    async def get_bot_data(self) -> Data:
        return {}

    async def update_bot_data(self, data: Data) -> None:
        pass

    async def refresh_bot_data(self, bot_data: Data) -> None:
        pass

    async def get_callback_data(self) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        pass


def _chat_and_user(key: ConversationKey) -> tuple[int, int]:
    """Our conversations are per chat and per user: the key is (chat id, user id)."""
    if len(key) != 2 or not all(isinstance(part, int) for part in key):
        raise TypeError(f"unexpected conversation key shape: {len(key)} part(s)")
    chat_id, user_id = key
    assert isinstance(chat_id, int) and isinstance(user_id, int)
    return chat_id, user_id


def _fresh(raw: str, now: datetime) -> bool:
    try:
        return not Draft.from_json(raw).expired(now)
    except ValueError:
        return False
