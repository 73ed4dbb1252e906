"""Unfinished conversations in the database (storage.telegram.ConversationStateStore), on
SQLite and PostgreSQL, and the PTB persistence built on it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from aftercare.wiring import Core
from bot.telegram.drafts import DRAFT_KEY, DRAFT_TTL, Draft
from bot.telegram.persistence import DatabasePersistence
from scheduler.clock import FakeClock
from storage.telegram import ConversationStateStore, TelegramStore

CHAT = 555
OTHER = 777
HANDLER = "onboarding"


def a_draft(touched_at: datetime, **changes: object) -> Draft:
    values: dict[str, object] = {
        "flow": "register",
        "zone": "America/New_York",
        "language": "es",
        "day_first": False,
        "clinic_id": 3,
        "clinic_name": "Glow",
        "day": date(2026, 3, 1),
        "local": datetime(2026, 3, 1, 15, 30),
        "first_name": "Lucía",
        "confirming": True,
        "touched_at": touched_at,
    }
    values.update(changes)
    return Draft(**values)  # type: ignore[arg-type]


def test_states_are_saved_replaced_and_ended(core: Core, clock: FakeClock) -> None:
    store = ConversationStateStore(core.db)
    now = clock.now()
    store.save_state(HANDLER, CHAT, CHAT, 1, now)
    store.save_state(HANDLER, OTHER, OTHER, 2, now)
    store.save_state(HANDLER, CHAT, CHAT, 4, now)  # the patient answered: next question
    assert store.states(HANDLER, now - DRAFT_TTL) == {(CHAT, CHAT): 4, (OTHER, OTHER): 2}
    assert store.states("another-handler", now - DRAFT_TTL) == {}

    store.save_state(HANDLER, OTHER, OTHER, None, now)  # the conversation ended
    assert store.states(HANDLER, now - DRAFT_TTL) == {(CHAT, CHAT): 4}


def test_states_older_than_the_cutoff_are_not_loaded_and_are_deleted(
    core: Core, clock: FakeClock
) -> None:
    store = ConversationStateStore(core.db)
    store.save_state(HANDLER, OTHER, OTHER, 2, clock.now())
    clock.advance(timedelta(hours=20))
    store.save_state(HANDLER, CHAT, CHAT, 1, clock.now())
    clock.advance(timedelta(hours=5))  # OTHER: 25 h without an answer; CHAT: 5 h

    cutoff = clock.now() - DRAFT_TTL
    assert store.states(HANDLER, cutoff) == {(CHAT, CHAT): 1}
    # Dropped for good, not only hidden: a later, laxer reader does not resurrect it.
    assert store.states(HANDLER, cutoff - timedelta(days=30)) == {(CHAT, CHAT): 1}


def test_drafts_round_trip_and_expire(core: Core, clock: FakeClock) -> None:
    store = ConversationStateStore(core.db)
    old = a_draft(clock.now())
    store.save_draft(OTHER, old.to_json(), clock.now())
    clock.advance(timedelta(hours=25))
    fresh = a_draft(clock.now(), first_name="Ana")
    store.save_draft(CHAT, fresh.to_json(), clock.now())

    loaded = store.drafts(clock.now() - DRAFT_TTL)
    assert list(loaded) == [CHAT]
    assert Draft.from_json(loaded[CHAT]) == fresh

    store.save_draft(CHAT, None, clock.now())
    assert store.drafts(clock.now() - DRAFT_TTL) == {}


def test_drop_older_clears_abandoned_rows_without_a_reader(core: Core, clock: FakeClock) -> None:
    store = ConversationStateStore(core.db)
    store.save_state(HANDLER, OTHER, OTHER, 2, clock.now())
    store.save_draft(OTHER, a_draft(clock.now()).to_json(), clock.now())
    clock.advance(timedelta(hours=23))
    store.save_state(HANDLER, CHAT, CHAT, 1, clock.now())
    store.save_draft(CHAT, a_draft(clock.now()).to_json(), clock.now())
    clock.advance(timedelta(hours=2))

    assert store.drop_older(clock.now() - DRAFT_TTL) == 2
    assert store.drop_older(clock.now() - DRAFT_TTL) == 0
    assert store.states(HANDLER, clock.now() - timedelta(days=9)) == {(CHAT, CHAT): 1}
    assert list(store.drafts(clock.now() - timedelta(days=9))) == [CHAT]


def test_erasing_a_chat_forgets_its_unfinished_conversation(core: Core, clock: FakeClock) -> None:
    store = ConversationStateStore(core.db)
    store.save_state(HANDLER, CHAT, CHAT, 5, clock.now())
    store.save_draft(CHAT, a_draft(clock.now()).to_json(), clock.now())  # holds a first name
    store.save_state(HANDLER, OTHER, OTHER, 1, clock.now())

    TelegramStore(core.db).erase(CHAT, clock.now())

    assert store.states(HANDLER, clock.now() - DRAFT_TTL) == {(OTHER, OTHER): 1}
    assert store.drafts(clock.now() - DRAFT_TTL) == {}


# -- the PTB persistence ------------------------------------------------------------------


async def test_the_persistence_gives_ptb_back_what_it_stored(core: Core, clock: FakeClock) -> None:
    first = DatabasePersistence(ConversationStateStore(core.db), clock)
    draft = a_draft(clock.now())
    await first.update_conversation(HANDLER, (CHAT, CHAT), 3)
    await first.update_user_data(CHAT, {DRAFT_KEY: draft, "anything else": "is not kept"})
    await first.update_user_data(OTHER, {})  # a user without a conversation: nothing stored

    restarted = DatabasePersistence(ConversationStateStore(core.db), clock)
    assert await restarted.get_conversations(HANDLER) == {(CHAT, CHAT): 3}
    assert await restarted.get_user_data() == {CHAT: {DRAFT_KEY: draft}}
    assert await restarted.get_chat_data() == {}
    assert await restarted.get_bot_data() == {}

    await restarted.update_user_data(CHAT, {})  # the conversation finished
    await restarted.update_conversation(HANDLER, (CHAT, CHAT), None)
    again = DatabasePersistence(ConversationStateStore(core.db), clock)
    assert await again.get_conversations(HANDLER) == {}
    assert await again.get_user_data() == {}


async def test_a_day_without_an_answer_abandons_the_conversation(
    core: Core, clock: FakeClock
) -> None:
    persistence = DatabasePersistence(ConversationStateStore(core.db), clock)
    await persistence.update_conversation(HANDLER, (CHAT, CHAT), 3)
    await persistence.update_user_data(CHAT, {DRAFT_KEY: a_draft(clock.now())})

    clock.advance(DRAFT_TTL - timedelta(minutes=1))
    alive = DatabasePersistence(ConversationStateStore(core.db), clock)
    assert await alive.get_conversations(HANDLER) == {(CHAT, CHAT): 3}
    assert list(await alive.get_user_data()) == [CHAT]

    clock.advance(timedelta(minutes=2))
    abandoned = DatabasePersistence(ConversationStateStore(core.db), clock)
    assert await abandoned.get_conversations(HANDLER) == {}
    assert await abandoned.get_user_data() == {}


async def test_abandoned_rows_are_dropped_at_most_hourly(core: Core, clock: FakeClock) -> None:
    persistence = DatabasePersistence(ConversationStateStore(core.db), clock)
    await persistence.update_conversation(HANDLER, (CHAT, CHAT), 3)
    await persistence.update_user_data(CHAT, {DRAFT_KEY: a_draft(clock.now())})
    assert await persistence.drop_abandoned() == 0  # nothing old yet; next pass in an hour

    clock.advance(timedelta(hours=25))
    assert await persistence.drop_abandoned() == 2
    await persistence.update_conversation(HANDLER, (OTHER, OTHER), 1)
    clock.advance(timedelta(hours=25))
    assert await persistence.drop_abandoned() == 1
    clock.advance(timedelta(minutes=30))
    assert await persistence.drop_abandoned() == 0  # within the hour: no pass


async def test_an_abandoned_draft_still_in_memory_is_not_written_back(
    core: Core, clock: FakeClock
) -> None:
    """Its owner wrote again, but not to the conversation (a /plan, say): PTB offers their
    user_data, which still holds the day-old draft; the database stays clear of it."""
    persistence = DatabasePersistence(ConversationStateStore(core.db), clock)
    draft = a_draft(clock.now())
    await persistence.update_user_data(CHAT, {DRAFT_KEY: draft})
    clock.advance(timedelta(hours=25))
    assert await persistence.drop_abandoned() == 1

    await persistence.update_user_data(CHAT, {DRAFT_KEY: draft})
    assert ConversationStateStore(core.db).drafts(clock.now() - timedelta(days=30)) == {}


async def test_unexpected_keys_and_states_are_refused(core: Core, clock: FakeClock) -> None:
    persistence = DatabasePersistence(ConversationStateStore(core.db), clock)
    with pytest.raises(TypeError):
        await persistence.update_conversation(HANDLER, (CHAT,), 1)
    with pytest.raises(TypeError):
        await persistence.update_conversation(HANDLER, (CHAT, CHAT), "WHEN")


def test_a_draft_survives_its_json_form_and_garbage_is_refused(clock: FakeClock) -> None:
    draft = a_draft(clock.now())
    assert Draft.from_json(draft.to_json()) == draft
    bare = Draft(flow="treatment", zone="UTC", language="en", day_first=True)
    assert Draft.from_json(bare.to_json()) == bare
    for garbage in (
        "",
        "[]",
        "{}",
        '{"flow": "register"}',
        '{"flow":1,"zone":2,"language":3,"day_first":true,"clinic_id":"x"}',
    ):
        with pytest.raises(ValueError, match="not a stored draft"):
            Draft.from_json(garbage)
