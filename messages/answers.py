"""FAQ content as data: per locale, topics with keywords and answers (messages/faq/*.toml).

Every answer has an SMS rendering (plain GSM-7, two segments with the longest values) and a
Telegram one (may use <b>/<i>). Topics tied to a protocol milestone also have `before` and
`after` answers that say when, in the patient's own time, the milestone is or was reached.
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from messages.faq import UNKNOWN, KeywordModels, TopicKeywords
from messages.protocol import ChannelText

LOCALES = ("en", "es")
PLACEHOLDERS = frozenset({"contact", "emergency_number", "alerted", "when", "title", "steps"})
FAQ_TOPICS = (
    "makeup",
    "exercise",
    "swimming",
    "cleansing",
    "sun",
    "actives",
    "moisturizing",
    "redness",
    "swelling",
    "peeling",
    "touching",
    "pain",
    "alcohol_smoking",
    "results",
    "sessions",
    "schedule",
    "contact",
    "itching",
    "bleeding",
    "breakouts",
    "downtime",
    "photos",
    "price",
)
ESCALATIONS = ("red_flag", "emergency")
SCHEDULE_PARTS = ("general", "upcoming", "step", "finished")


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


class Text(ChannelText):
    """An FAQ answer: the same checks, with the answers' own placeholders."""

    allowed = PLACEHOLDERS


class Topic(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str = Field(min_length=1)
    milestone: str | None = None
    # Once its keywords reach the threshold it beats every other topic: a price question
    # is about the price, whatever treatment it names.
    wins: bool = False
    keywords: dict[str, float] = Field(default_factory=dict)
    answer: dict[str, Text]

    @model_validator(mode="after")
    def _variants(self) -> Topic:
        if "general" not in self.answer:
            raise ValueError("answer.general is missing")
        if self.milestone is not None:
            for part in ("before", "after"):
                text = self.answer.get(part)
                if text is None:
                    raise ValueError(f"answer.{part} is missing (the topic has a milestone)")
                if "when" not in placeholders(text.sms) | placeholders(text.telegram):
                    raise ValueError(f"answer.{part} must say {{when}}")
        return self


class Values(BaseModel):
    """Phrases the code puts into answers: how to name the clinic, the alert note, the
    closing line every answer ends with, and the note naming a second question that an SMS
    has no room to answer (`{title}` is that topic's title)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    contact_known: str
    contact_unknown: str
    alerted: str
    closing: str
    ask_separately: str

    @field_validator("ask_separately")
    @classmethod
    def _names_the_topic(cls, value: str) -> str:
        if placeholders(value) != {"title"}:
            raise ValueError("must contain {title} and no other placeholder")
        return value


class FaqLocale(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    locale: str
    threshold: float = Field(gt=0)
    values: Values
    topics: dict[str, Topic]

    @model_validator(mode="after")
    def _complete(self) -> FaqLocale:
        missing = [t for t in (*FAQ_TOPICS, *ESCALATIONS, UNKNOWN) if t not in self.topics]
        if missing:
            raise ValueError(f"topics missing: {missing}")
        for key in FAQ_TOPICS:
            if not self.topics[key].keywords:
                raise ValueError(f"topics.{key}.keywords: empty")
        absent = [p for p in SCHEDULE_PARTS if p not in self.topics["schedule"].answer]
        if absent:
            raise ValueError(f"topics.schedule.answer: missing {absent}")
        return self

    def keyword_model(self) -> tuple[TopicKeywords, ...]:
        return tuple(
            TopicKeywords.build(key, topic.keywords, wins=topic.wins)
            for key, topic in self.topics.items()
            if topic.keywords
        )


class FaqError(ValueError):
    pass


def parse_faq(text: str, source: str) -> FaqLocale:
    try:
        return FaqLocale.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise FaqError(f"{source}: not valid TOML ({exc})") from None
    except ValidationError as exc:
        problems = [
            ".".join(str(part) for part in error["loc"])
            + ": "
            + str(error["msg"]).removeprefix("Value error, ")
            for error in exc.errors()
        ]
        raise FaqError(f"{source}: " + "; ".join(problems)) from None


@cache
def load_faq(locale: str) -> FaqLocale:
    """The built-in FAQ of `locale` (loaded once per process)."""
    if locale not in LOCALES:
        raise FaqError(f"no FAQ for locale {locale!r}; available: {list(LOCALES)}")
    text = resources.files("messages").joinpath(f"faq/{locale}.toml").read_text("utf-8")
    faq = parse_faq(text, f"messages/faq/{locale}.toml")
    if faq.locale != locale:
        raise FaqError(f"messages/faq/{locale}.toml: says locale {faq.locale!r}")
    return faq


@cache
def keyword_models() -> KeywordModels:
    """Every locale's keywords: a message is matched against all of them, so a patient who
    writes in the other language (or mixes both) is still understood."""
    return KeywordModels(load_faq(locale).keyword_model() for locale in LOCALES)
