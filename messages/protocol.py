"""The protocol is data: milestones with offsets, windows and text per locale and channel.

A clinic may supply its own file (`PROTOCOL_FILE`); it is validated with the same rules as the
built-in one and every problem is reported with the entry and the field it concerns.
"""

from __future__ import annotations

import contextlib
import itertools
import string
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from messages import gsm7
from messages.durations import Duration

Channel = Literal["sms", "telegram"]
CHANNELS: tuple[Channel, ...] = ("sms", "telegram")
PLACEHOLDERS = frozenset({"first_name", "clinic_name", "clinic_phone"})
WELCOME = "welcome"

# The SMS budget is checked with the longest values an SMS may carry (longer names are
# shortened to these lengths when an SMS is rendered).
SMS_SEGMENT_BUDGET = 2
SMS_CHAR_BUDGET = 306
WORST_CASE_VALUES = {
    "first_name": "W" * 20,
    "clinic_name": "C" * 40,
    "clinic_phone": "+" + "9" * 15,
}
# The welcome is usually the first SMS a number gets, and carriers want that one to say
# how to stop and get help (" Reply STOP to opt out, HELP for help."): welcomes keep
# this many characters of the budget free for it.
FIRST_SMS_RESERVE = 40
WELCOME_CHAR_BUDGET = SMS_CHAR_BUDGET - FIRST_SMS_RESERVE


class ProtocolError(ValueError):
    """The protocol file is unusable; `problems` lists `where: why` lines."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


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


class PendingText(ChannelText):
    """What stays off until a milestone is reached; `{when}` is that moment."""

    allowed = PLACEHOLDERS | {"when"}


class Milestone(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    offset: Duration
    window: Duration
    title: dict[str, str]
    text: dict[str, ChannelText]
    # A patient who registers late gets one welcome built from these parts: late_intro
    # (greeting, warning signs), the still_off text of each milestone still ahead, the
    # catch_up text of each one already reached, then late_outro (what applies every day).
    catch_up: dict[str, ChannelText] | None = None
    still_off: dict[str, PendingText] | None = None
    late_intro: dict[str, ChannelText] | None = None
    late_outro: dict[str, ChannelText] | None = None

    @field_validator("offset", "window", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return Duration.parse(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _parts_fit_the_kind(self) -> Milestone:
        if self.key == WELCOME:
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
        if self.window.amount == 0:
            raise ValueError("window must be longer than zero")
        return self


class Protocol(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    version: int
    locales: list[str] = Field(min_length=1)
    first_name_fallback: dict[str, str]
    milestones: list[Milestone] = Field(min_length=2)

    @model_validator(mode="after")
    def _consistent(self) -> Protocol:
        problems = []
        keys = [m.key for m in self.milestones]
        if keys[0] != WELCOME:
            problems.append("milestones[0]: the first milestone must be 'welcome'")
        for index, key in enumerate(keys):
            if keys.index(key) != index:
                problems.append(f"milestones[{index}] ({key}): duplicate key")
        timed = self.milestones[1:]
        for index, (before, after) in enumerate(itertools.pairwise(timed), start=2):
            if after.offset.nominal <= before.offset.nominal:
                problems.append(
                    f"milestones[{index}] ({after.key}).offset: must come after {before.key}"
                )
        for locale in self.locales:
            if locale not in self.first_name_fallback:
                problems.append(f"first_name_fallback.{locale}: missing")
            for index, milestone in enumerate(self.milestones):
                where = f"milestones[{index}] ({milestone.key})"
                for part in ("title", "text", "catch_up", "still_off", "late_intro", "late_outro"):
                    table = getattr(milestone, part)
                    if table is not None and locale not in table:
                        problems.append(f"{where}.{part}: missing locale {locale!r}")
        if problems:
            raise ValueError("; ".join(problems))
        problems = sms_budget_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def welcome(self) -> Milestone:
        return self.milestones[0]

    @property
    def timed(self) -> list[Milestone]:
        return self.milestones[1:]

    def milestone(self, key: str) -> Milestone:
        for milestone in self.milestones:
            if milestone.key == key:
                return milestone
        raise KeyError(key)


def sms_budget_problems(protocol: Protocol) -> list[str]:
    """Every SMS rendering, with the longest allowed values, must fit the segment budget;
    welcomes (normal and late) keep FIRST_SMS_RESERVE characters free."""
    from messages.render import RenderContext, longest_sms_whens, render_late_welcome, render_text

    problems = []
    for locale in protocol.locales:
        context = RenderContext(**WORST_CASE_VALUES, locale=locale)
        cases: list[tuple[str, str]] = [
            (m.key, render_text(protocol, m.key, "sms", context)) for m in protocol.milestones
        ]
        passed: list[str] = []
        for milestone in protocol.timed:
            passed.append(milestone.key)
            for when in longest_sms_whens(locale):
                text = render_late_welcome(protocol, "sms", context, passed, when)
                cases.append((f"{WELCOME} after {milestone.key}", text))
        for label, text in cases:
            budget = WELCOME_CHAR_BUDGET if label.startswith(WELCOME) else SMS_CHAR_BUDGET
            cost = gsm7.cost(text)
            if cost.encoding != "GSM-7" or cost.segments > SMS_SEGMENT_BUDGET or len(text) > budget:
                problems.append(
                    f"{label}.{locale}.sms: {len(text)} characters, {cost.segments} "
                    f"{cost.encoding} segments with the longest names (budget: "
                    f"{budget} characters in {SMS_SEGMENT_BUDGET} segments)"
                )
    return sorted(set(problems), key=problems.index)


def _format_errors(exc: ValidationError, data: dict[str, Any]) -> list[str]:
    problems = []
    for error in exc.errors():
        loc = list(error["loc"])
        parts: list[str] = []
        for index, item in enumerate(loc):
            if isinstance(item, int):
                parts[-1] = f"{parts[-1]}[{item}]"
                if loc[index - 1] == "milestones":
                    with contextlib.suppress(KeyError, IndexError, TypeError):
                        parts[-1] += f" ({data['milestones'][item]['key']})"
            else:
                parts.append(str(item))
        message = str(error["msg"]).removeprefix("Value error, ")
        if not parts:
            # Whole-file checks already name where each problem is.
            problems.extend(message.split("; "))
            continue
        problems.append(f"{'.'.join(parts)}: {message}")
    return problems


def parse_protocol(text: str, source: str = "protocol") -> Protocol:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(source, [f"not valid TOML ({exc})"]) from None
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(source, _format_errors(exc, data)) from None


def load_protocol(path: str | Path | None = None) -> Protocol:
    """The clinic's own protocol file if given, else the built-in microneedling protocol."""
    if path is None:
        text = (
            resources.files("messages").joinpath("protocols/microneedling.toml").read_text("utf-8")
        )
        return parse_protocol(text, "built-in microneedling protocol")
    file = Path(path)
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(str(file), [f"cannot read ({exc})"]) from None
    return parse_protocol(text, str(file))
