"""Warning signs: caught in any wording we know of, never invented out of a negation."""

from __future__ import annotations

import pytest

from messages.redflags import check


@pytest.mark.parametrize(
    "text",
    [
        "I can't breathe properly",
        "having trouble breathing since the cream",
        "my lips are swelling up",
        "tongue feels thick",
        "my throat feels tight",
        "it's hard to swallow",
        "me cuesta respirar",
        "se me hinchó la lengua",
        "siento que se me cierra la garganta",
        "no puedo tragar",
    ],
)
def test_airway_signs_are_emergencies(text: str) -> None:
    finding = check(text)
    assert finding is not None
    assert finding.category == "emergency"


@pytest.mark.parametrize(
    "text",
    [
        "there is pus on my chin",
        "some yellow stuff is coming out of a spot",
        "I think it's infected",
        "I don't know if it's infected",  # doubt is not denial
        "I have a fever",
        "temp is 38.5",
        "my skin is hot to the touch",
        "the redness is spreading",
        "the swelling was going down but now it's worse",
        "more swollen today than yesterday",
        "the pain is unbearable",
        "it hurts so bad I can't sleep",
        "small blisters appeared",
        "I've got hives",
        "itchy all over my body",
        "tengo fiebre",
        "tengo pus",
        "me salieron ampollas",
        "está caliente y cada vez más roja",
        "me duele muchísimo",
        "el dolor va en aumento",
        "tengo ronchas",
        "me sale un líquido amarillo",
    ],
)
def test_signs_of_infection_pain_blisters_and_allergy_are_red_flags(text: str) -> None:
    finding = check(text)
    assert finding is not None
    assert finding.category == "red_flag"


@pytest.mark.parametrize(
    "text",
    [
        "no fever, just a bit red",
        "not hot or anything, just pink",
        "there's no pus",
        "nothing oozing, just dry",
        "no hives or rash, a little itchy where it peels",
        "it's not getting worse",
        "redness is less than yesterday",
        "slight puffiness, no trouble breathing and my lips are fine",
        "no me duele mucho, solo está rojo",
        "no tengo fiebre ni pus",
        "no ha empeorado",
        "no es fuerte ni va a más",
        "un poco inflamada debajo de los ojos, respiro bien y los labios normales",
        "is the shower water too hot?",
        "can I do hot yoga",
        "el yoga caliente cuenta?",
        "my cheeks are redder than my forehead",
        "can I put makeup on",
    ],
)
def test_negations_and_everyday_words_do_not_escalate(text: str) -> None:
    assert check(text) is None


def test_an_emergency_outranks_a_red_flag_in_the_same_message() -> None:
    finding = check("I have a fever and my lips are swelling")
    assert finding is not None
    assert finding.category == "emergency"


def test_a_warning_sign_after_an_faq_question_is_still_caught() -> None:
    finding = check("when can I wear makeup? also there's some yellowish oozy stuff")
    assert finding is not None
    assert finding.category == "red_flag"
