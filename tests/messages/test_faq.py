"""Keyword matching: what counts as a match, how topics are weighed, and the corpus targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.faq import Tally, evaluate
from messages.answers import keyword_models, load_faq
from messages.faq import (
    UNKNOWN,
    KeywordModels,
    Phrase,
    TopicKeywords,
    classify,
    clauses,
    detect_language,
    normalise,
    tokenise,
)
from messages.lexicon import Tokens

DATA = Path(__file__).resolve().parents[1] / "data"


def topic_of(text: str) -> str:
    return classify(text, keyword_models(), load_faq("en").threshold).topic


def test_normalise_folds_case_accents_apostrophes_and_stretched_letters() -> None:
    assert normalise("¿Puedo usar RÍMEL?") == "¿puedo usar rimel?"
    assert normalise("I can't, it's sooooo dry") == "i cant, its so dry"
    assert tokenise("Mañana: ¿maquillaje? 💄 ok!!") == ["manana", "maquillaje", "ok"]


def test_clauses_split_at_punctuation_and_at_but_or_just() -> None:
    assert clauses("no fever, just a bit red") == [["no", "fever"], ["a", "bit", "red"]]
    assert clauses("it was red but now it's fine") == [["it", "was", "red"], ["now", "its", "fine"]]


@pytest.mark.parametrize(
    ("keyword", "token", "matches"),
    [
        ("sunscreen", "sunscreen", True),
        ("sunscreen", "sunscren", True),  # one typo in a long word
        ("sunscreen", "sunsceen", True),
        ("sunscreen", "funscreen", False),  # the first letter must be right
        ("sun", "sum", False),  # short words must be exact
        ("exfoliat*", "exfoliating", True),  # a stem matches what it starts
        ("exfoliat*", "exfolating", True),  # a stem tolerates a typo too
        ("maquill*", "maquilaje", True),
        ("pool", "pools", False),
    ],
)
def test_words_match_exactly_by_stem_or_with_a_small_typo(
    keyword: str, token: str, matches: bool
) -> None:
    assert bool(Phrase.parse(keyword).find([token])) is matches


def test_a_phrase_matches_consecutive_words_only() -> None:
    phrase = Phrase.parse("hot yoga")
    assert phrase.find(tokenise("is hot yoga ok")) == [1]
    assert phrase.find(tokenise("yoga when it is hot")) == []


def test_each_word_counts_once_per_topic_and_negated_words_weigh_half() -> None:
    keywords = TopicKeywords.build("t", {"cream": 2, "creams": 2, "hot yoga": 3, "yoga": 3})
    models = KeywordModels([[keywords]])

    def score(text: str) -> tuple[float, float, list[str]]:
        return keywords.score(models.lexicon.index(Tokens.of(text)))

    full, discounted, hits = score("creams and hot yoga")
    assert (full, discounted) == (5.0, 5.0)
    assert sorted(hits) == ["cream", "hot yoga"] or sorted(hits) == ["creams", "hot yoga"]
    full, discounted, _ = score("I did not do yoga")
    assert (full, discounted) == (3.0, 1.5)


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("when can I wear foundation again?", "makeup"),
        ("cuando me puedo maquillar", "makeup"),
        ("can i hit the gym tomorow", "exercise"),
        ("is the pool ok", "swimming"),
        ("do I need sunscreen", "sun"),
        ("retinol?", "actives"),
        ("is hyaluronic acid ok", "moisturizing"),  # hyaluronic acid soothes; not an "active"
        ("my cheeks look sunburnt", "redness"),  # sunburn-like redness is about redness
        ("what if I don't put sunscreen on", "sun"),  # negated words still name the topic
        ("how much does a session cost", "price"),  # prices are not ours to answer
        ("cuanto cuesta la siguiente sesion", "price"),  # price wins over what it names
        ("what does another session of microneedling cost", "price"),
        ("how many sessions will I need", "sessions"),
        ("can I put my Differin back on", "actives"),  # brand and ingredient names
        ("when can I restart adapalene", "actives"),
        ("cuando retomo la tretinoina", "actives"),
        ("puedo tomarme unas chelas el finde", "alcohol_smoking"),  # slang
        ("puedo fumar un pucho", "alcohol_smoking"),
        ("do i need sunscreen if im inside all day", "sun"),
        ("where do I park", UNKNOWN),
        ("hello", UNKNOWN),
        ("purple elephants", UNKNOWN),
    ],
)
def test_topics(text: str, topic: str) -> None:
    assert topic_of(text) == topic


def test_a_message_in_the_other_language_is_still_understood() -> None:
    # Keywords of both locales are tried, so the stored language does not hide the topic.
    assert topic_of("puedo ir al gimnasio") == "exercise"
    assert topic_of("can I go to the gym") == "exercise"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("cuando puedo volver al gimnasio", "es"),
        ("¿Puedo usar base mañana?", "es"),
        ("when can I go back to the gym", "en"),
        ("is it normal that my face is red", "en"),
        # "a" is as Spanish as it is English: it no longer ties this with English.
        ("cuantas sesiones voy a necesitar", "es"),
        ("voy a ir a la playa", "es"),
        ("a rash on my neck", "en"),
    ],
)
def test_language_detection(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_a_price_question_names_no_second_topic() -> None:
    match = classify("cuanto cuesta la siguiente sesion", keyword_models(), 2.0)
    assert match.topic == "price"
    assert "sessions" in {item.topic for item in match.ranking}
    assert match.secondary is None  # the session is what it asks the price of


def test_language_detection_falls_back_to_the_default_when_unclear() -> None:
    assert detect_language("ok 👍", default="es") == "es"
    assert detect_language("SPF?", default="en") == "en"


def _corpus(name: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in (DATA / name).read_text("utf-8").splitlines() if line]


def test_the_corpus_is_big_enough_and_balanced() -> None:
    rows = _corpus("faq_questions.jsonl")
    assert len(rows) >= 200
    spanish = sum(1 for row in rows if row["lang"] == "es")
    assert 0.4 <= spanish / len(rows) <= 0.6
    assert sum(1 for row in rows if row["escalate"]) >= 30


@pytest.mark.parametrize("name", ["faq_questions.jsonl", "faq_holdout.jsonl"])
def test_corpus_targets(name: str) -> None:
    tally: Tally = evaluate(_corpus(name))["all"]
    assert tally.accuracy >= 0.95, [m[0]["text"] for m in tally.misses]
    assert tally.recall == 1.0
    assert tally.false_escalation_rate <= 0.02
