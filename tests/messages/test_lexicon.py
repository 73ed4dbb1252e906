"""The lexicon: the same matches as the word-by-word definition, found with work that grows
with the message's words, not with the keywords times the words."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from messages.answers import keyword_models
from messages.conversation import reply
from messages.inbound_text import TELEGRAM_MAX_CHARS, clean_inbound
from messages.lexicon import Lexicon, Tokens, Word
from messages.redflags import WORDS as WARNING_WORDS

ALL_WORDS = sorted(keyword_models().words | WARNING_WORDS)
LEXICON = Lexicon(ALL_WORDS)
LETTERS = "abcdefghijklmnopqrstuvwxyz"


@st.composite
def near_tokens(draw: st.DrawFn) -> str:
    """A keyword word with up to three random edits, or a few letters from nowhere."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.text(LETTERS, min_size=1, max_size=14))
    token = list(draw(st.sampled_from(ALL_WORDS)).text)
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["swap", "drop", "add", "tail"]))
        at = draw(st.integers(0, max(len(token) - 1, 0)))
        letter = draw(st.sampled_from(LETTERS))
        if kind == "swap" and token:
            token[at] = letter
        elif kind == "drop" and len(token) > 1:
            del token[at]
        elif kind == "add":
            token.insert(at, letter)
        else:
            token.append(letter)
    return "".join(token)


@settings(max_examples=1500, deadline=None)
@given(near_tokens())
def test_the_lexicon_matches_exactly_what_each_word_would(token: str) -> None:
    expected = {word for word in ALL_WORDS if word.matches(token)}
    assert LEXICON.match(token) == expected


def test_a_very_long_word_matches_what_its_beginning_matches() -> None:
    long_word = "sunscreen" + "x" * 5000
    assert LEXICON.match(long_word) == {w for w in ALL_WORDS if w.matches(long_word)}


def test_each_distinct_word_of_a_message_is_looked_up_once() -> None:
    lexicon = Lexicon(ALL_WORDS)
    text = "can I use my retinol again, retinol retinol? " * 200
    found = lexicon.index(Tokens.of(text))
    info = lexicon._cached.cache_info()
    assert info.misses == len(set(found.tokens.words)) == 6
    assert len(found.at[Word("retinol")]) == 600


def test_a_message_at_the_telegram_cap_is_answered() -> None:
    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    text = clean_inbound("is my face supposed to be this red? " * 3000, TELEGRAM_MAX_CHARS)
    assert len(text) == TELEGRAM_MAX_CHARS
    answer = reply(None, text, now, "sms")
    assert answer.topic == "redness" and not answer.escalate


def test_a_warning_sign_at_the_very_end_of_a_long_message_is_still_caught() -> None:
    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    text = clean_inbound("so many questions about makeup. " * 120 + "and now there is pus", 4096)
    assert reply(None, text, now, "telegram").category == "red_flag"
