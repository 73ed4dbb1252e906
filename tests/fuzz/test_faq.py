"""The conversation core (messages.conversation, messages.faq) against any text at all.

Every message gets an answer: a topic, "unknown", or an escalation, in a language we have,
and on SMS one that fits two GSM-7 segments. Texts go up to Telegram's 4,096 characters,
the longest a channel hands over.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from messages.answers import ESCALATIONS, FAQ_TOPICS, LOCALES, keyword_models, load_faq
from messages.conversation import PatientContext, fits_sms, reply
from messages.faq import UNKNOWN, classify, clauses, detect_language
from messages.inbound_text import TELEGRAM_MAX_CHARS
from messages.protocol_files import load_protocol
from messages.redflags import check
from tests.fuzz.harness import fuzz, long_texts

PROTOCOL = load_protocol()
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
ZONES = ["America/New_York", "Europe/Madrid", "Pacific/Chatham", "Asia/Kathmandu", "UTC"]


def words(text: str) -> list[str]:
    return text.split()


def _faq_words() -> list[str]:
    words: set[str] = set()
    for locale in LOCALES:
        data = tomllib.loads(resources.files("messages").joinpath(f"faq/{locale}.toml").read_text())
        for topic in data["topics"].values():
            words.update(key.rstrip("*") for key in topic.get("keywords", {}))
    return sorted(words)


VOCABULARY = [
    *_faq_words(),
    # Warning signs, negation and doubt: the words that decide an escalation.
    *words(
        "pus fever fiebre hot swelling swollen hinchado hinchazon lips labios tongue throat "
        "breathe breathing respirar swallow blisters hives rash sarpullido worse worsening "
        "peor infected infectado no not never without sin nada dont know if sure creo but pero "
        "just solo can cant puedo I my mi when cuando today tomorrow mañana ¿ ? ! . , ; - ( ) "
        "😀 ñ á é STOP HELP"
    ),
]


@st.composite
def messages(draw: st.DrawFn) -> str:
    """Free text, or words the matcher knows strung together (up to Telegram's cap)."""
    kind = draw(st.sampled_from(["text", "words", "long"]))
    if kind == "text":
        return draw(st.text(max_size=400))
    if kind == "words":
        words = draw(st.lists(st.sampled_from(VOCABULARY), max_size=40))
        separators = draw(st.sampled_from([" ", ", ", ". ", "\n", "", "  "]))
        return separators.join(words)
    return draw(long_texts(1000, TELEGRAM_MAX_CHARS, VOCABULARY))


@st.composite
def patients(draw: st.DrawFn) -> PatientContext | None:
    if draw(st.booleans()):
        return None  # a sender we cannot match
    treated = (
        None
        if draw(st.integers(0, 9)) == 0
        else T0 - timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
    )
    return PatientContext(
        first_name=draw(st.one_of(st.none(), st.text(max_size=20))),
        language=draw(st.sampled_from([*LOCALES, "fr", ""])),
        timezone=ZoneInfo(draw(st.sampled_from(ZONES))),
        treated_at=treated,
        clinic_name=draw(st.sampled_from(["Glow Skin Clinic", "Clínica Piel Sana"])),
        clinic_phone="+15551234567",
        protocol=draw(st.sampled_from([PROTOCOL, None])),
    )


TOPICS = {*FAQ_TOPICS, *ESCALATIONS, UNKNOWN}


def check_reply(args: tuple[PatientContext | None, str, str, str | None]) -> None:
    patient, text, channel, hint = args
    answer = reply(patient, text, T0, channel, language=hint)  # type: ignore[arg-type]
    assert answer.text.strip(), "every message gets an answer"
    assert answer.language in LOCALES
    assert answer.topic in TOPICS
    assert answer.escalate == (answer.topic in ESCALATIONS) == (answer.category is not None)
    if channel == "sms":
        assert fits_sms(answer.text), f"SMS answer is not 2 GSM-7 segments: {answer.text!r}"
    else:
        assert "{" not in answer.text, "no placeholder left unfilled"


def test_any_message_gets_an_answer_that_fits_its_channel() -> None:
    fuzz(
        "faq_reply",
        st.tuples(
            patients(),
            messages(),
            st.sampled_from(["sms", "telegram"]),
            st.one_of(st.none(), st.sampled_from(["en", "es", "fr", "", "zz-ZZ"])),
        ),
        check_reply,
    )


def check_matching(text: str) -> None:
    match = classify(text, keyword_models(), load_faq("en").threshold)
    assert match.topic in TOPICS
    if match.topic != UNKNOWN:
        assert match.ranking and match.ranking[0].topic == match.topic
    assert detect_language(text) in LOCALES
    finding = check(text)
    assert finding is None or finding.category in ESCALATIONS
    assert all(isinstance(token, str) for part in clauses(text) for token in part)


def test_matching_and_warning_signs_take_any_text() -> None:
    fuzz("faq_classify", messages(), check_matching)
