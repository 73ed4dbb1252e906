"""The protocol is data: milestones with offsets, windows and text per locale and channel.

This module holds the models and their structural checks. Reading a file, checking that every
SMS fits its budget (which needs rendering) and reporting problems with the entry and field
they concern is `messages.protocol_files`.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Mapping
from functools import cached_property
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from messages import gsm7
from messages.durations import Duration
from messages.when import longest_when
from storage.values import STAFF_REPLY

Channel = Literal["sms", "telegram"]
CHANNELS: tuple[Channel, ...] = ("sms", "telegram")
# {emergency_number} is the deployment's EMERGENCY_NUMBER: any text that speaks of an
# emergency names it, so a patient never has to look it up.
EMERGENCY_NUMBER = "emergency_number"
PLACEHOLDERS = frozenset({"first_name", "clinic_name", "clinic_phone", EMERGENCY_NUMBER})
WELCOME = "welcome"
# Not a protocol milestone: the SMS that brings a Telegram invite link (scheduler.timeline).
INVITE = "invite"
# advice and checkin come after the treatment; before: a reminder ahead of it (a booked
# appointment), such as the built-in one-line "see you tomorrow" (key DAY_BEFORE).
Kind = Literal["advice", "checkin", "before"]
DAY_BEFORE = "day_before"
# Only texts of milestones before the treatment may name it: "tomorrow at 9:30 am".
APPOINTMENT_TIME = "appointment_time"

# The SMS budget is checked with the longest values an SMS may carry (longer names are
# shortened to these lengths when an SMS is rendered).
SMS_SEGMENT_BUDGET = 2
SMS_CHAR_BUDGET = 306
WORST_CASE_VALUES = {
    "first_name": "W" * 20,
    "clinic_name": "C" * 40,
    "clinic_phone": "+" + "9" * 15,
    # EMERGENCY_NUMBER is at most this long (aftercare.settings).
    EMERGENCY_NUMBER: "9" * 8,
    APPOINTMENT_TIME: max((longest_when(language) for language in ("en", "es")), key=len),
}
# Carriers want the first SMS a number gets to say how to stop and get help
# ("Reply STOP to opt out, HELP for help.", messages.first_sms). That is usually the
# welcome, but any reminder can be first (a Telegram patient who blocks the bot, a new
# number), so every SMS keeps this many characters of the budget free for it.
FIRST_SMS_RESERVE = 40
WELCOME_CHAR_BUDGET = SMS_CHAR_BUDGET - FIRST_SMS_RESERVE


class ChannelText(BaseModel):
    """One text in its SMS and Telegram renderings; subclasses allow other placeholders."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    allowed: ClassVar[frozenset[str]] = PLACEHOLDERS
    sms: str = Field(min_length=1)
    telegram: str = Field(min_length=1)

    @field_validator("sms", "telegram")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"unbalanced braces ({exc})") from None
        unknown = names - cls.allowed
        if unknown:
            raise ValueError(
                f"unknown placeholder(s) {sorted(unknown)}; allowed: {sorted(cls.allowed)}"
            )
        return value

    @field_validator("sms")
    @classmethod
    def _plain_gsm7(cls, value: str) -> str:
        bad = gsm7.non_gsm7(value.replace("{", "").replace("}", ""))
        if bad:
            raise ValueError(f"SMS text must be GSM-7; found {''.join(bad)!r}")
        return value

    def get(self, channel: Channel) -> str:
        return self.sms if channel == "sms" else self.telegram


class MilestoneText(ChannelText):
    """A milestone's own text; one before the treatment may say when it is (checked by
    `Milestone`, which knows the kind)."""

    allowed = PLACEHOLDERS | {APPOINTMENT_TIME}


class PendingText(ChannelText):
    """What stays off until a milestone is reached; `{when}` is that moment."""

    allowed = PLACEHOLDERS | {"when"}


class NextStepText(ChannelText):
    """The next step still ahead, in a check-in reply: its title and when it comes."""

    allowed = PLACEHOLDERS | {"title", "when"}


class CheckinReplyText(ChannelText):
    """A reply to a check-in answer ("2" gives the warning signs and the emergency number)."""


class CheckinReplies(BaseModel):
    """What a check-in answers to "1" (as expected, then the next step when there is one)
    and "2" (not sure: the warning signs and whom to call). "3" is answered like any
    described warning sign, with the FAQ's red-flag answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    expected: CheckinReplyText
    next_step: NextStepText
    unsure: CheckinReplyText


class Milestone(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    # advice: a step of the aftercare ("makeup can go back on"). checkin: a question about
    # how the skin feels, answered 1, 2 or 3 (`replies`); late welcomes leave it out.
    # before: a reminder ahead of a booked treatment (negative offset), sent only for
    # clinics that turn it on; plans, answers and late welcomes leave it out.
    kind: Kind = "advice"
    offset: Duration
    window: Duration
    title: dict[str, str]
    text: dict[str, MilestoneText]
    # A patient who registers late gets one welcome built from these parts: late_intro
    # (greeting, warning signs), the still_off text of each milestone still ahead, the
    # catch_up text of each one already reached, then late_outro (what applies every day).
    catch_up: dict[str, ChannelText] | None = None
    still_off: dict[str, PendingText] | None = None
    late_intro: dict[str, ChannelText] | None = None
    late_outro: dict[str, ChannelText] | None = None
    replies: dict[str, CheckinReplies] | None = None

    @field_validator("offset", "window", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return Duration.parse(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _parts_fit_the_kind(self) -> Milestone:
        if self.key == INVITE:
            raise ValueError(f"{INVITE!r} is reserved for the Telegram invite SMS")
        if self.key == STAFF_REPLY:
            raise ValueError(f"{STAFF_REPLY!r} is reserved for staff replies to patients")
        if self.kind != "before":
            if self.offset.amount < 0:
                raise ValueError(
                    f"offset {self.offset} is before the treatment: only a milestone with "
                    'kind = "before" may have a negative offset'
                )
            if self._names_appointment_time():
                raise ValueError(
                    f"{{{APPOINTMENT_TIME}}} belongs to milestones before the treatment "
                    '(kind = "before")'
                )
        if self.kind == "before":
            self._check_before()
        elif self.kind == "checkin":
            if self.key == WELCOME:
                raise ValueError("the welcome cannot be a check-in")
            if self.replies is None:
                raise ValueError("a check-in needs replies")
            if any(p is not None for p in (self.catch_up, self.still_off)):
                raise ValueError("catch_up and still_off belong to advice milestones")
            if self.late_intro is not None or self.late_outro is not None:
                raise ValueError("late_intro and late_outro belong to the welcome")
        elif self.replies is not None:
            raise ValueError('replies belong to check-ins (kind = "checkin")')
        elif self.key == WELCOME:
            if self.offset.amount != 0:
                raise ValueError("the welcome milestone must have offset 0h")
            if self.late_intro is None:
                raise ValueError("the welcome milestone needs late_intro")
            if self.catch_up is not None or self.still_off is not None:
                raise ValueError("catch_up and still_off belong to timed milestones")
        else:
            if self.catch_up is None:
                raise ValueError("a timed milestone needs catch_up lines")
            if self.late_intro is not None or self.late_outro is not None:
                raise ValueError("late_intro and late_outro belong to the welcome")
        if self.window.amount <= 0:
            raise ValueError("window must be longer than zero")
        return self

    def _check_before(self) -> None:
        if self.key == WELCOME:
            raise ValueError("the welcome cannot come before the treatment")
        if self.offset.amount >= 0:
            raise ValueError(
                "a milestone before the treatment needs a negative offset (for example -1d: "
                f"the day before), got {self.offset}"
            )
        parts = ("catch_up", "still_off", "late_intro", "late_outro", "replies")
        extra = [part for part in parts if getattr(self, part) is not None]
        if extra:
            raise ValueError(
                f"{', '.join(extra)}: not for a milestone before the treatment "
                "(it has a title and a text only)"
            )

    def _names_appointment_time(self) -> bool:
        return any(
            f"{{{APPOINTMENT_TIME}}}" in text.sms or f"{{{APPOINTMENT_TIME}}}" in text.telegram
            for text in self.text.values()
        )


class Protocol(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    version: int
    locales: list[str] = Field(min_length=1)
    first_name_fallback: dict[str, str]
    milestones: list[Milestone] = Field(min_length=2)
    # A treatment enrolled ahead (a booked appointment) gets its welcome this long after the
    # treatment time, as the patient leaves; one enrolled afterwards gets it at enrollment.
    welcome_delay: Duration = Duration.parse("1h")

    @field_validator("welcome_delay", mode="before")
    @classmethod
    def _delay(cls, value: object) -> object:
        delay = Duration.parse(value) if isinstance(value, str) else value
        if isinstance(delay, Duration) and delay.amount < 0:
            raise ValueError(f"must not be negative, got {delay}")
        return delay

    @model_validator(mode="after")
    def _consistent(self) -> Protocol:
        problems = []
        keys = [m.key for m in self.milestones]
        if keys[0] != WELCOME:
            problems.append("milestones[0]: the first milestone must be 'welcome'")
        for index, key in enumerate(keys):
            if keys.index(key) != index:
                problems.append(f"milestones[{index}] ({key}): duplicate key")
        after_welcome = list(enumerate(self.milestones))[1:]
        timed = [(i, m) for i, m in after_welcome if m.kind != "before"]
        if not timed:
            problems.append("milestones: at least one milestone after the welcome is needed")
        # Steps come in time order (those before the treatment among themselves). A check-in
        # may share its moment with an advice step ("how is your skin?" with "makeup can go
        # back on"); two of one kind may not.
        ahead = [(i, m) for i, m in after_welcome if m.kind == "before"]
        for group in (timed, ahead):
            for (_, before), (index, after) in itertools.pairwise(group):
                if after.offset.nominal < before.offset.nominal:
                    problems.append(
                        f"milestones[{index}] ({after.key}).offset: must come after {before.key}"
                    )
        for kind in ("advice", "checkin", "before"):
            same = [(i, m) for i, m in enumerate(self.milestones) if i > 0 and m.kind == kind]
            for (_, before), (index, after) in itertools.pairwise(same):
                if after.offset.nominal == before.offset.nominal:
                    problems.append(
                        f"milestones[{index}] ({after.key}).offset: must come after {before.key}"
                    )
        for locale in self.locales:
            if locale not in self.first_name_fallback:
                problems.append(f"first_name_fallback.{locale}: missing")
            for index, milestone in enumerate(self.milestones):
                where = f"milestones[{index}] ({milestone.key})"
                for part in (
                    "title",
                    "text",
                    "catch_up",
                    "still_off",
                    "late_intro",
                    "late_outro",
                    "replies",
                ):
                    table = getattr(milestone, part)
                    if table is not None and locale not in table:
                        problems.append(f"{where}.{part}: missing locale {locale!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def welcome(self) -> Milestone:
        return self.milestones[0]

    # Read for every imported row and planned treatment: worked out once per protocol (it is
    # frozen; model_copy below forgets them, as a copy may have other milestones).
    @cached_property
    def timed(self) -> list[Milestone]:
        """The milestones after the treatment, without the welcome: the aftercare plan."""
        return [m for m in self.milestones[1:] if m.kind != "before"]

    @cached_property
    def before(self) -> list[Milestone]:
        """Reminders ahead of a booked treatment (planned only where the clinic wants them)."""
        return [m for m in self.milestones if m.kind == "before"]

    @property
    def advice(self) -> list[Milestone]:
        """Timed milestones that are steps of the aftercare, without the check-ins."""
        return [m for m in self.milestones[1:] if m.kind == "advice"]

    @property
    def checkins(self) -> list[str]:
        """Keys of the check-in milestones (none if the clinic's protocol drops them)."""
        return [m.key for m in self.milestones if m.kind == "checkin"]

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Protocol:
        copied = super().model_copy(update=update, deep=deep)
        for derived in ("timed", "before"):
            copied.__dict__.pop(derived, None)
        return copied

    def milestone(self, key: str) -> Milestone:
        for milestone in self.milestones:
            if milestone.key == key:
                return milestone
        raise KeyError(key)
