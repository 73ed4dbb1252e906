"""When was the treatment: the day and hour buttons, or a typed time, for both flows (a new
registration and a /treatment correction). Once a time is accepted, the flow's own next
step takes over (`TimeQuestions.then`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from telegram import Update

from bot.telegram.chat import HOUR, WHEN, Context, FlowStep, Talk, button_data, keyboard, typed
from bot.telegram.drafts import Draft
from bot.telegram.timeparse import TimeParseError, TypedTime, parse_typed_time, time_problem
from messages.telegram_texts import text
from scheduler.localtime import localize

# The day buttons, by how many days back they are; a forged `t:day:3` matches no pattern.
DAY_BUTTONS = ("btn_today", "btn_yesterday", "btn_two_days")
DAY_PATTERN = rf"^t:day:[0-{len(DAY_BUTTONS) - 1}]$"
HOURS = range(8, 21)  # the hour buttons: clinics' opening hours
HOUR_PATTERN = rf"^t:hour:({'|'.join(str(hour) for hour in HOURS)})$"


class TimeQuestions:
    def __init__(self, talk: Talk) -> None:
        self.talk = talk
        # flow -> what happens once its time is accepted; filled in by the assembler, since
        # those steps ask these questions again when the patient changes the time.
        self.then: dict[str, FlowStep] = {}

    def local_now(self, draft: Draft) -> datetime:
        return self.talk.now().astimezone(ZoneInfo(draft.zone)).replace(tzinfo=None)

    def time_problem(self, zone_name: str, local: datetime) -> str | None:
        """The text key saying why this local time cannot be the treatment time, or None."""
        try:
            treated = localize(local, ZoneInfo(zone_name))
        except ValueError:
            return "time_gap"
        problem = time_problem(treated, self.talk.now())
        return None if problem is None else f"time_{problem}"

    async def ask_day(self, update: Update, context: Context, draft: Draft) -> int:
        lang = draft.language
        buttons = [(text(label, lang), f"t:day:{back}") for back, label in enumerate(DAY_BUTTONS)]
        await self.talk.say(update, context, text("ask_day", lang), keyboard([buttons]))
        return WHEN

    async def ask_day_again(self, update: Update, context: Context, draft: Draft) -> int:
        """Back to the first question, the day chosen before forgotten."""
        return await self.ask_day(
            update, context, self.talk.keep(context, replace(draft, day=None))
        )

    async def day_chosen(self, update: Update, context: Context) -> int:
        draft = self.talk.draft(context)
        back = int(button_data(update).rsplit(":", 1)[1])
        await self.talk.pressed(update, text(DAY_BUTTONS[back], draft.language))
        day = self.local_now(draft).date() - timedelta(days=back)
        return await self.ask_hour(
            update, context, self.talk.keep(context, replace(draft, day=day))
        )

    async def ask_hour(self, update: Update, context: Context, draft: Draft) -> int:
        assert draft.day is not None
        now = self.local_now(draft)
        hours = [h for h in HOURS if datetime.combine(draft.day, time(h)) <= now]
        rows = [
            [(f"{h:02d}:00", f"t:hour:{h}") for h in hours[i : i + 4]]
            for i in range(0, len(hours), 4)
        ]
        if not hours:
            await self.talk.say(update, context, text("ask_hour_typed", draft.language))
            return HOUR
        rows.append([(text("btn_other_time", draft.language), "t:other")])
        await self.talk.say(update, context, text("ask_hour", draft.language), keyboard(rows))
        return HOUR

    async def hour_chosen(self, update: Update, context: Context) -> int:
        draft = self.talk.draft(context)
        hour = int(button_data(update).rsplit(":", 1)[1])
        await self.talk.pressed(update, f"{hour:02d}:00")
        assert draft.day is not None
        return await self.time_chosen(
            update, context, draft, datetime.combine(draft.day, time(hour))
        )

    async def other_hour(self, update: Update, context: Context) -> int:
        draft = self.talk.draft(context)
        await self.talk.pressed(update, text("btn_other_time", draft.language))
        await self.talk.say(update, context, text("ask_hour_typed", draft.language))
        return HOUR

    async def time_typed(self, update: Update, context: Context) -> int:
        draft = self.talk.draft(context)
        now = self.local_now(draft)
        try:
            answer = parse_typed_time(typed(update), now, day_first=draft.day_first)
        except TimeParseError:
            await self.talk.say(update, context, text("time_not_understood", draft.language))
            return HOUR if draft.day is not None else WHEN
        if not answer.day_named and draft.day is not None:
            answer = TypedTime(draft.day, answer.at, day_named=True)
        if answer.at is None:
            return await self.ask_hour(
                update, context, self.talk.keep(context, replace(draft, day=answer.day))
            )
        return await self.time_chosen(update, context, draft, answer.combine())

    async def time_chosen(
        self, update: Update, context: Context, draft: Draft, local: datetime
    ) -> int:
        problem = self.time_problem(draft.zone, local)
        if problem is not None:
            await self.talk.say(update, context, text(problem, draft.language))
            return await self.ask_day_again(update, context, draft)
        draft = self.talk.keep(context, replace(draft, local=local))
        return await self.then[draft.flow](update, context, draft)
