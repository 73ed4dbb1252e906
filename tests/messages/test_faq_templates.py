"""Every FAQ answer in every locale: plain GSM-7 within two SMS segments with the longest
values a record may hold, and Telegram HTML limited to what Telegram accepts."""

from __future__ import annotations

import re

import pytest

from messages import gsm7
from messages.answers import (
    FAQ_TOPICS,
    LOCALES,
    FaqError,
    FaqLocale,
    load_faq,
    parse_faq,
    placeholders,
)
from messages.conversation import _Renderer, fits_sms, with_ask_separately
from messages.protocol_files import load_protocol
from messages.when import longest_when

WORST_NAME, WORST_CLINIC, WORST_PHONE = "W" * 20, "C" * 40, "+" + "9" * 15
WORST_EMERGENCY = "9" * 8


def worst_values(locale: str) -> dict[str, str]:
    faq = load_faq(locale)
    contact = faq.values.contact_known.format(clinic_name=WORST_CLINIC, clinic_phone=WORST_PHONE)
    return {
        "contact": contact,
        "when": gsm7.to_gsm7(longest_when(locale)),
        "emergency_number": WORST_EMERGENCY,
        "alerted": faq.values.alerted,
        "title": "T" * 40,
        "steps": "\n".join(["- " + "T" * 40 + ": " + gsm7.to_gsm7(longest_when(locale))]),
    }


def every_answer() -> list[tuple[str, str, str]]:
    return [
        (locale, topic, part)
        for locale in LOCALES
        for topic, entry in load_faq(locale).topics.items()
        for part in entry.answer
    ]


@pytest.mark.parametrize(("locale", "topic", "part"), every_answer())
def test_every_sms_answer_is_gsm7_and_fits_two_segments(locale: str, topic: str, part: str) -> None:
    template = load_faq(locale).topics[topic].answer[part].sms
    text = template.format_map(worst_values(locale))
    assert gsm7.is_gsm7(text), gsm7.non_gsm7(text)
    assert fits_sms(text), f"{len(text)} characters"
    if locale == "es":
        assert not set(text) & set("áíóúÁÍÓÚ")


@pytest.mark.parametrize(("locale", "topic", "part"), every_answer())
def test_every_telegram_answer_uses_only_bold_and_italic(
    locale: str, topic: str, part: str
) -> None:
    text = load_faq(locale).topics[topic].answer[part].telegram
    tags = re.findall(r"</?([a-z]+)>", text)
    assert set(tags) <= {"b", "i"}
    for tag in ("b", "i"):
        assert text.count(f"<{tag}>") == text.count(f"</{tag}>")
    assert len(text.format_map(worst_values(locale))) < 4096


def test_the_longest_time_text_is_what_the_budget_assumes() -> None:
    assert len(longest_when("en")) >= len("yesterday at 11:00 pm")
    assert len(longest_when("es")) >= len("el mié 30 sep a las 23:00")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_locale_has_every_topic_with_keywords(locale: str) -> None:
    faq = load_faq(locale)
    for topic in FAQ_TOPICS:
        assert faq.topics[topic].keywords, topic
    assert set(faq.topics) == set(load_faq("en").topics)


@pytest.mark.parametrize("locale", LOCALES)
def test_timeline_answers_name_the_moment(locale: str) -> None:
    milestones = {"makeup", "sweat", "cleanser", "sunscreen"}
    faq = load_faq(locale)
    tied = {key: t.milestone for key, t in faq.topics.items() if t.milestone}
    assert tied["makeup"] == "makeup"
    assert tied["exercise"] == tied["swimming"] == "sweat"
    assert tied["cleansing"] == tied["actives"] == "cleanser"
    assert tied["sun"] == "sunscreen"
    for key, milestone in tied.items():
        assert milestone in milestones
        for part in ("before", "after"):
            assert "when" in placeholders(faq.topics[key].answer[part].sms)


def test_escalation_answers_give_the_clinic_and_emergency_number() -> None:
    for locale in LOCALES:
        topics = load_faq(locale).topics
        for key in ("red_flag", "emergency"):
            names = placeholders(topics[key].answer["general"].sms)
            assert {"contact", "emergency_number", "alerted"} <= names


def test_a_broken_faq_file_is_reported_with_where_and_why() -> None:
    with pytest.raises(FaqError, match=r"topics missing"):
        parse_faq(
            'locale = "en"\nthreshold = 2\n[values]\ncontact_known = "a"\n'
            'contact_unknown = "b"\nalerted = "c"\nclosing = "d"\nask_separately = "{title}"\n'
            "[topics]\n",
            "test.toml",
        )
    bad = (
        'locale = "en"\nthreshold = 2\n[values]\ncontact_known = "a"\ncontact_unknown = "b"\n'
        'alerted = "c"\nclosing = "d"\nask_separately = "{title}"\n[topics.makeup]\ntitle = "m"\n'
        "[topics.makeup.answer.general]\n"
        'sms = "Café {nope}"\ntelegram = "x"\n'
    )
    with pytest.raises(FaqError, match=r"unknown placeholder"):
        parse_faq(bad, "test.toml")


@pytest.mark.parametrize(("locale", "topic", "part"), every_answer())
def test_every_sms_answer_has_room_to_name_a_second_question(
    locale: str, topic: str, part: str
) -> None:
    faq = load_faq(locale)
    if topic in ("red_flag", "emergency", "unknown") or part in ("upcoming", "step"):
        return  # escalations and unclear messages never carry a second topic
    body = faq.topics[topic].answer[part].sms.format_map(worst_values(locale)).strip()
    longest = max((t.title for t in faq.topics.values()), key=len)
    render = _Renderer("sms", {})
    text = with_ask_separately(body, faq, topic_titled(faq, longest), render)
    note = gsm7.to_gsm7(faq.values.ask_separately.format(title=longest))
    assert text.endswith(note), text
    assert fits_sms(text)


def topic_titled(faq: FaqLocale, title: str) -> str:
    return next(key for key, topic in faq.topics.items() if topic.title == title)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_sms_answer_ends_with_the_same_closing_as_the_reminders(locale: str) -> None:
    faq = load_faq(locale)
    closing = faq.values.closing
    assert (
        closing
        in {
            "en": "Your clinic's instructions come first.",
            "es": "Tu clinica tiene la ultima palabra.",
        }[locale]
    )
    reminders = load_protocol().milestone("makeup").text[locale].sms
    assert closing in reminders
    for topic in ("makeup", "exercise", "cleansing", "sun", "peeling", "itching"):
        assert closing in faq.topics[topic].answer["general"].sms, topic
