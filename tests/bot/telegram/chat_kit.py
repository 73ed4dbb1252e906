"""One patient's side of a Telegram chat with the bot (through the fake Bot API), and the
patients it left in the database."""

from __future__ import annotations

from sqlalchemy import select

from aftercare.wiring import Core
from storage.models import Patient
from tests.bot.telegram.conftest import CHAT
from tests.fakes.telegram_api import Call, FakeTelegramApi

BYSTANDER = CHAT + 1  # someone else writing to the bot


class Chat:
    """One patient's side of the chat, step by step; each step returns the bot's replies."""

    def __init__(self, api: FakeTelegramApi, chat_id: int = CHAT) -> None:
        self.api = api
        self.chat_id = chat_id

    async def says(self, text: str, replies: int = 1) -> list[Call]:
        return await self.api.conversation(
            self.chat_id, lambda: self.api.user_says(self.chat_id, text), replies
        )

    async def taps(self, data: str, replies: int = 1) -> list[Call]:
        assert self.api.last_with_button(self.chat_id, data), f"no button {data!r} on offer"
        return await self.api.conversation(
            self.chat_id, lambda: self.api.user_presses(self.chat_id, data), replies
        )

    async def opens_the_link_of(self, slug: str = "glow") -> list[Call]:
        """The clinic's public link (`/start c_<slug>`): an introduction, then the first
        question of self-registration."""
        return await self.says(f"/start c_{slug}", replies=2)


async def all_handled(api: FakeTelegramApi) -> None:
    """Whatever the bot was doing for earlier updates is done (a handler may still work after
    its last reply, as registration does): updates are handled one at a time, so once another
    person's message is answered, every update before it was too."""
    await Chat(api, chat_id=BYSTANDER).says("/help")


def patients(core: Core) -> list[Patient]:
    with core.db.session() as session:
        return list(session.scalars(select(Patient)))
