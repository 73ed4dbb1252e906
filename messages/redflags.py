"""Warning signs in a patient's message. Pure, checked before any FAQ topic, in every language.

Two categories: `emergency` (trouble breathing or swallowing, swelling of the lips, tongue
or throat: call the emergency number now) and `red_flag` (signs of infection, severe or
worsening pain, blisters, signs of an allergic reaction: contact the clinic now).

Negation is scoped to a clause: "no fever, just a bit red" negates the fever only, and
"not hot or anything" negates "hot". A negation word counts when it is at most three words
before the sign, in the same clause. "I don't know if it's infected" is not a negation:
doubt escalates.

The lists lean towards escalating: a needless call costs the clinic a minute; a missed
infection or allergic reaction costs far more.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from messages.faq import Phrase
from messages.lexicon import Lexicon, Occurrences, Tokens, Word

Category = Literal["emergency", "red_flag"]


def _phrases(*keywords: str) -> tuple[Phrase, ...]:
    return tuple(Phrase.parse(keyword) for keyword in keywords)


@dataclass(frozen=True)
class Rule:
    """A sign: every group must be present (not negated) in one clause, or anywhere in the
    message when `whole_message`; `unless` words in the same clause cancel it."""

    category: Category
    name: str
    groups: tuple[tuple[Phrase, ...], ...]
    unless: tuple[Phrase, ...] = ()
    whole_message: bool = False


def _rule(
    category: Category,
    name: str,
    *groups: tuple[Phrase, ...],
    unless: tuple[Phrase, ...] = (),
    whole_message: bool = False,
) -> Rule:
    return Rule(category, name, groups, unless, whole_message)


_MOUTH = _phrases("lip*", "tongue*", "mouth", "labio*", "lengua*", "boca")
_SWELL = _phrases(
    "swell*", "swollen", "puff*", "thick*", "big*", "hinch*", "inflam*", "grow*", "gord*"
)
_SYMPTOM = _phrases(
    "red",
    "redder",
    "redness",
    "reddish",
    "pink*",
    "swell*",
    "swollen",
    "puff*",
    "pain*",
    "hurt*",
    "sore*",
    "roj*",
    "colorad*",
    "hinch*",
    "inflam*",
    "dolor*",
    "duele",
    "ardor",
    "arde",
)
_TIME = _phrases(
    "yesterday",
    "today",
    "this morning",
    "every day",
    "each day",
    "before",
    "ayer",
    "hoy",
    "cada dia",
    "antes",
    "esta manana",
)
_PAIN = _phrases(
    "pain*",
    "hurt*",
    "sore*",
    "ache*",
    "aching",
    "sting*",
    "burn",
    "burning",
    "burns",
    "dolor*",
    "duele*",
    "duel*",
    "arde",
    "ardor",
    "quema",
    "molest*",
)

RULES: tuple[Rule, ...] = (
    # --- emergency: airway -------------------------------------------------------------
    _rule(
        "emergency",
        "breathing",
        _phrases(
            "cant breath*",
            "can not breath*",
            "cannot breath*",
            "unable to breath*",
            "trouble breath*",
            "difficulty breath*",
            "difficult to breath*",
            "hard to breath*",
            "struggling to breath*",
            "short of breath",
            "shortness of breath",
            "catch my breath",
            "breathing is hard",
            "wheez*",
            "no puedo respirar",
            "cuesta respirar",
            "dificultad para respirar",
            "dificultad respirar",
            "falta el aire",
            "falta de aire",
            "falta aire",
            "me ahog*",
            "ahogando",
            "no respiro",
            "anaphyla*",
            "anafila*",
        ),
    ),
    _rule(
        "emergency",
        "swallowing",
        _phrases(
            "cant swallow*",
            "can not swallow*",
            "cannot swallow*",
            "hard to swallow*",
            "trouble swallow*",
            "difficulty swallow*",
            "no puedo tragar",
            "cuesta tragar",
            "dificultad para tragar",
        ),
    ),
    _rule(
        "emergency",
        "throat",
        _phrases("throat*", "garganta"),
        _phrases("clos*", "tight*", "swell*", "swollen", "cierra*", "cerr*", "hinch*", "inflam*"),
    ),
    _rule("emergency", "lips or tongue", _MOUTH, _SWELL),
    # --- red flags: infection ------------------------------------------------------------
    _rule(
        "red_flag",
        "pus",
        _phrases(
            "pus",
            "ooz*",
            "weep*",
            "discharg*",
            "supur*",
            "infect*",
            "infecc*",
            "infecion",
            "abscess*",
            "absceso*",
        ),
    ),
    _rule(
        "red_flag",
        "yellow or green discharge",
        _phrases("yellow*", "green*", "amarill*", "verde*"),
        _phrases(
            "stuff",
            "fluid*",
            "liquid*",
            "crust*",
            "coming out",
            "come out",
            "costra*",
            "sale",
            "sali*",
            "saliendo",
            "goo*",
        ),
    ),
    _rule(
        "red_flag",
        "fever",
        _phrases(
            "fever*",
            "temp",
            "temperature",
            "chill",
            "chills",
            "shiver*",
            "fiebre*",
            "febril",
            "calentura",
            "escalofrio*",
            "tiritando",
            "temperatura",
        ),
        unless=_phrases("water", "room", "shower", "agua", "ducha", "habitacion"),
    ),
    _rule(
        "red_flag",
        "hot skin",
        _phrases("hot", "caliente*", "burning up", "warm to the touch"),
        unless=_phrases(
            "water",
            "shower",
            "bath",
            "tub",
            "yoga",
            "sauna",
            "weather",
            "outside",
            "summer",
            "sun",
            "drink*",
            "tea",
            "coffee",
            "agua",
            "ducha",
            "bano",
            "yoga",
            "sauna",
            "verano",
            "sol",
            "afuera",
            "fuera",
            "bebida",
            "cafe",
            "te",
        ),
    ),
    _rule("red_flag", "hot skin", _phrases("calor"), _phrases("piel", "cara", "mejilla*")),
    _rule("red_flag", "throbbing", _phrases("throb*", "palpit*", "punzad*")),
    # --- red flags: getting worse --------------------------------------------------------
    _rule(
        "red_flag",
        "worsening",
        _phrases(
            "worse",
            "worsen*",
            "spread*",
            "getting bigger",
            "not getting better",
            "not improving",
            "isnt improving",
            "instead of better",
            "instead of improving",
            "empeor*",
            "peor",
            "va a mas",
            "van a mas",
            "en aumento",
            "aumentando",
            "extiend*",
            "extend*",
            "cada vez mas",
            "cada dia mas",
            "en vez de mejorar",
            "no mejora",
        ),
        _SYMPTOM,
        whole_message=True,
    ),
    _rule(
        "red_flag",
        "more than before",
        _phrases("more", "mas", "redder", "bigger", "puffier"),
        _SYMPTOM,
        _TIME,
    ),
    # --- red flags: severe pain ----------------------------------------------------------
    _rule(
        "red_flag",
        "severe pain",
        _PAIN,
        _phrases(
            "severe*",
            "excruciat*",
            "unbearable",
            "intense",
            "extreme*",
            "agoniz*",
            "terribl*",
            "horribl*",
            "awful",
            "so bad",
            "really bad",
            "very bad",
            "so much",
            "a lot",
            "cant sleep",
            "cant take",
            "mucho",
            "muchisimo",
            "monton",
            "fuerte*",
            "insoportable",
            "intenso",
            "no aguanto",
            "no puedo dormir",
            "no me deja dormir",
            "7 10",
            "8 10",
            "9 10",
            "10 10",
        ),
    ),
    # --- red flags: blisters and allergic reactions -----------------------------------------
    _rule("red_flag", "blisters", _phrases("blister*", "ampoll*", "vesicul*")),
    _rule(
        "red_flag",
        "fluid-filled bumps",
        _phrases("bump*", "bubble*", "burbuj*", "bolit*", "granit*", "spot*"),
        _phrases("fluid*", "liquid*", "water", "agua", "clear", "pus"),
    ),
    _rule(
        "red_flag",
        "allergic reaction",
        _phrases(
            "hive",
            "hives",
            "rash*",
            "welt*",
            "allergic",
            "allergy",
            "alergi*",
            "alergic*",
            "ronch*",
            "sarpullid*",
            "urticari*",
            "eruption",
            "erupcion",
        ),
    ),
    _rule(
        "red_flag",
        "itching spreading",
        _phrases("itch*", "pica*", "picazon", "picor", "comezon"),
        _phrases(
            "all over",
            "body",
            "everywhere",
            "like crazy",
            "unbearable",
            "arms",
            "neck",
            "cuerpo",
            "todas partes",
            "horrible",
            "muchisimo",
            "brazos",
            "cuello",
            "insoportable",
            "bolit*",
        ),
    ),
)


@dataclass(frozen=True)
class Finding:
    category: Category
    sign: str  # which rule fired, for tests and the benchmark; never shown to the clinic


def _clauses_with(group: tuple[Phrase, ...], found: Occurrences, negation: bool) -> set[int]:
    present: set[int] = set()
    for phrase in group:
        present |= found.clauses_with(phrase.words, negation=negation)
    return present


def _fires(rule: Rule, found: Occurrences) -> bool:
    """Each group's clauses are gathered from where its words occur, so the cost follows the
    message's length, not the number of clauses times the number of signs."""
    groups = [_clauses_with(group, found, negation=True) for group in rule.groups]
    if rule.whole_message:
        return all(groups)
    shared = set.intersection(*groups)
    if shared and rule.unless:
        shared -= _clauses_with(rule.unless, found, negation=False)
    return bool(shared)


WORDS: frozenset[Word] = frozenset(
    word
    for rule in RULES
    for group in (*rule.groups, rule.unless)
    for phrase in group
    for word in phrase.words
)


@cache
def _lexicon() -> Lexicon:
    return Lexicon(WORDS)


def check(text: str | Occurrences) -> Finding | None:
    """The most urgent warning sign in `text`, or None. Emergencies come first.

    `text` may come already indexed by a lexicon that holds `WORDS`, so that a message is
    looked up once for both the warning signs and the FAQ."""
    found = text if isinstance(text, Occurrences) else _lexicon().index(Tokens.of(text))
    for category in ("emergency", "red_flag"):
        for rule in RULES:
            if rule.category == category and _fires(rule, found):
                return Finding(rule.category, rule.name)
    return None
