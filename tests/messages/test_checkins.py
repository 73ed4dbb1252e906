"""Symptom check-ins as data and as answers: which messages are an answer, what 1, 2 and 3
get back in each language and channel, and what a clinic's own protocol may change."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from messages.checkins import checkin_reply, parse_answer, reply_budget_problems
from messages.conversation import PatientContext, fits_sms, reply
from messages.protocol import Channel, Protocol
from messages.protocol_files import ProtocolError, load_protocol, parse_protocol
from scheduler.quiet_hours import QuietHours
from scheduler.timeline import plan

PROTOCOL = load_protocol()
BUILTIN = (Path(__file__).parents[2] / "messages" / "protocols" / "microneedling.toml").read_text()
TREATED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Mon 10:00 in New York
NEW_YORK = ZoneInfo("America/New_York")
HOUR = timedelta(hours=1)
CHANNELS: tuple[Channel, ...] = ("sms", "telegram")


def patient(language: str = "en", **changes: Any) -> PatientContext:
    values: dict[str, Any] = {
        "first_name": "Ana",
        "language": language,
        "timezone": NEW_YORK,
        "treated_at": TREATED,
        "clinic_name": "Glow Skin Clinic",
        "clinic_phone": "+15551234567",
        "protocol": PROTOCOL,
    }
    values.update(changes)
    return PatientContext(**values)


# -- what counts as an answer ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("1", 1),
        (" 2 ", 2),
        ("3!", 3),
        ("#2", 2),
        ("uno", 1),
        ("Dos", 2),
        ("TRES.", 3),
        ("one", 1),
        ("three", 3),
        ("1\ufe0f\u20e3", 1),  # 1️⃣
        ("3\u20e3", 3),
        ("\uff12", 2),  # a full-width 2
    ],
)
def test_a_bare_number_or_number_word_is_an_answer(text: str, answer: int) -> None:
    assert parse_answer(text) == answer


@pytest.mark.parametrize(
    "text", ["", "4", "0", "12", "1 2", "1 but it itches", "3 days ago", "two weeks", "dos dias"]
)
def test_anything_more_is_not_an_answer(text: str) -> None:
    assert parse_answer(text) is None


# -- the replies --------------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_1_reassures_and_says_what_comes_next_in_the_patients_time(channel: Channel) -> None:
    now = TREATED + 25 * HOUR  # Tue 11:00 in New York; workouts from Wed 10:00
    answer = checkin_reply(1, "checkin_24h", patient(), now, channel)

    assert (answer.category, answer.escalate, answer.topic) == (None, False, "checkin")
    assert "normal" in answer.text and "mild sunburn" in answer.text
    assert "+15551234567" in answer.text  # worse after all: whom to call
    if channel == "sms":
        assert "Next: Workouts and swimming are OK again, Wed 10am." in answer.text
        assert fits_sms(answer.text)
    else:
        assert "<b>Workouts and swimming are OK again</b>, tomorrow at 10:00 am" in answer.text


def test_1_in_spanish_on_day_3_speaks_of_dryness_and_the_next_step() -> None:
    now = TREATED + 73 * HOUR
    answer = checkin_reply(1, "checkin_72h", patient("es"), now, "sms")
    assert answer.language == "es"
    assert "piel seca" in answer.text and "Hidrata" in answer.text
    assert "Lo siguiente: Sigue protegiendo tu piel del sol, 16 mar." in answer.text


def test_1_after_the_last_step_only_reassures() -> None:
    now = TREATED + timedelta(days=15)
    answer = checkin_reply(1, "checkin_72h", patient(), now, "sms")
    assert "Next" not in answer.text and "normal" in answer.text


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("channel", CHANNELS)
def test_2_gives_the_warning_signs_and_the_clinics_phone_and_is_a_low_priority_item(
    language: str, channel: Channel
) -> None:
    answer = checkin_reply(
        2, "checkin_24h", patient(language), TREATED + 25 * HOUR, channel, emergency_number="112"
    )
    assert answer.category == "checkin_concern"
    assert not answer.escalate  # no "we have alerted your clinic": nobody is paged
    assert "+15551234567" in answer.text and "Glow Skin Clinic" in answer.text
    assert "112" in answer.text
    assert "pus" in answer.text
    assert ("fiebre" if language == "es" else "fever") in answer.text


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("channel", CHANNELS)
def test_3_is_answered_exactly_like_a_described_warning_sign(
    language: str, channel: Channel
) -> None:
    described = "i have pus and a fever" if language == "en" else "tengo pus y fiebre"
    now = TREATED + 25 * HOUR
    as_symptom = reply(patient(language), described, now, channel, emergency_number="112")
    answer = checkin_reply(
        3, "checkin_24h", patient(language), now, channel, emergency_number="112"
    )
    assert as_symptom.category == "red_flag"
    assert (answer.text, answer.topic, answer.escalate, answer.category, answer.language) == (
        as_symptom.text,
        "red_flag",
        True,
        "red_flag",
        language,
    )


def test_every_check_in_reply_fits_two_sms_segments_with_the_longest_values() -> None:
    assert PROTOCOL.checkins == ["checkin_24h", "checkin_72h"]
    assert reply_budget_problems(PROTOCOL) == []


def test_a_check_in_reply_over_budget_is_refused() -> None:
    text = BUILTIN.replace(
        'sms = "Next: {title}, {when}."', 'sms = "Next: {title}, {when}.' + " Really." * 10 + '"'
    )
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, "clinic.toml")
    assert any("checkin_24h.replies.en" in p and "answer to 1" in p for p in caught.value.problems)


# -- the protocol -------------------------------------------------------------------------


def test_every_check_in_text_asks_the_question_in_both_languages_and_channels() -> None:
    for key in PROTOCOL.checkins:
        milestone = PROTOCOL.milestone(key)
        for channel in CHANNELS:
            english = milestone.text["en"].get(channel)
            spanish = milestone.text["es"].get(channel)
            question = english.lower()
            assert "how does your skin feel today?" in question or "how is your skin" in question
            assert "as expected (red, tight, a bit swollen)" in english
            assert "not sure / worse than yesterday" in english
            assert "worried: pus, heat, fever, spreading redness" in english
            assert "1" in spanish and "lo esperado" in spanish and "pus" in spanish


def test_check_ins_are_planned_at_24_and_72_hours_and_move_out_of_quiet_hours() -> None:
    # Treated at 22:30 in New York: both check-ins would fall inside 21:00-08:00.
    treated = datetime(2026, 3, 3, 3, 30, tzinfo=UTC)
    planned = {
        p.key: p
        for p in plan(treated, PROTOCOL, NEW_YORK, QuietHours.parse("21:00-08:00"), treated)
    }
    for key, hours in (("checkin_24h", 24), ("checkin_72h", 72)):
        assert planned[key].milestone_at == treated + hours * HOUR
        assert planned[key].due_at.astimezone(NEW_YORK).hour == 8
        assert planned[key].due_at.astimezone(NEW_YORK).date() == (
            (treated + hours * HOUR).astimezone(NEW_YORK).date() + timedelta(days=1)
        )


def without_checkins() -> dict[str, Any]:
    data = tomllib.loads(BUILTIN)
    data["milestones"] = [m for m in data["milestones"] if m.get("kind") != "checkin"]
    return data


def test_a_clinics_protocol_may_drop_the_check_ins() -> None:
    protocol = Protocol.model_validate(without_checkins())
    assert protocol.checkins == []
    planned = plan(TREATED, protocol, NEW_YORK, None, TREATED)
    assert [p.key for p in planned] == ["welcome", "makeup", "sweat", "cleanser", "sunscreen"]


def test_a_check_in_needs_its_replies_and_advice_has_none() -> None:
    data = tomllib.loads(BUILTIN)
    checkin = next(m for m in data["milestones"] if m["key"] == "checkin_24h")
    del checkin["replies"]
    with pytest.raises(ValidationError, match="a check-in needs replies"):
        Protocol.model_validate(data)

    data = tomllib.loads(BUILTIN)
    makeup = next(m for m in data["milestones"] if m["key"] == "makeup")
    makeup["replies"] = next(m for m in data["milestones"] if m["key"] == "checkin_24h")["replies"]
    with pytest.raises(ValidationError, match="replies belong to check-ins"):
        Protocol.model_validate(data)


def test_the_invite_key_is_reserved() -> None:
    data = without_checkins()
    data["milestones"][1]["key"] = "invite"
    with pytest.raises(ValidationError, match="reserved"):
        Protocol.model_validate(data)


def test_two_steps_of_one_kind_may_not_share_a_moment() -> None:
    data = tomllib.loads(BUILTIN)
    checkin = next(m for m in data["milestones"] if m["key"] == "checkin_72h")
    checkin["offset"] = "24h"  # the same moment as checkin_24h, and out of order
    with pytest.raises(ValidationError, match=r"\(checkin_72h\).offset: must come after"):
        Protocol.model_validate(data)
