"""Which inbound texts are carrier keywords."""

from __future__ import annotations

import pytest

from bot.sms.keywords import Keyword, keyword


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stop. ",
        "STOP!!",
        "stop please",
        "STOPALL",
        "Stop all",
        "UNSUBSCRIBE",
        "cancel",
        "END",
        "quit",
        "opt out",
        "REVOKE",
    ],
)
def test_english_stop_words(text: str) -> None:
    assert keyword(text) == Keyword("stop", "en")


@pytest.mark.parametrize("text", ["PARAR", "para", "Baja", "¡BAJA!", "baja por favor", "Cancelar"])
def test_spanish_stop_words(text: str) -> None:
    assert keyword(text) == Keyword("stop", "es")


@pytest.mark.parametrize(
    ("text", "language"),
    [("START", "en"), ("yes", "en"), ("Unstop", "en"), ("ALTA", "es"), ("Sí", "es"), ("si", "es")],
)
def test_start_words(text: str, language: str) -> None:
    assert keyword(text) == Keyword("start", language)


@pytest.mark.parametrize(
    ("text", "language"), [("HELP", "en"), ("help?", "en"), ("INFO", "en"), ("Ayuda", "es")]
)
def test_help_words(text: str, language: str) -> None:
    assert keyword(text) == Keyword("help", language)


@pytest.mark.parametrize(
    ("text", "language"),
    [("PLAN", "en"), ("plan please", "en"), ("My plan", "en"), ("Plan.", "en"), ("Mi plan", "es")],
)
def test_plan_words(text: str, language: str) -> None:
    assert keyword(text) == Keyword("plan", language)


@pytest.mark.parametrize(
    "text",
    [
        "When can I stop using sunscreen?",
        "Should I stop my retinol?",
        "Can I end my skincare routine early?",
        "yes it is red",
        "help my face is swollen",
        "what is my plan for tomorrow?",
        "cual es mi plan",
        "stopp",
        "",
        "   ",
        "🛑",
    ],
)
def test_ordinary_text_is_not_a_keyword(text: str) -> None:
    assert keyword(text) is None
