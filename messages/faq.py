"""Keyword matching for patient questions. Pure: text in, scores out, no I/O.

Keywords are data (messages/faq/<locale>.toml). A keyword is one or more words; a word
ending in `*` is a stem and matches any word it starts. Words of six letters or more
tolerate one typo (two from nine letters), provided the first letter is right: patients
type fast on phones, but a wrong first letter usually means a different word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import Levenshtein

_WORD = re.compile(r"[a-z0-9]+")
_APOSTROPHES = re.compile(r"['’`´]")
_ELONGATED = re.compile(r"([a-z])\1{2,}")  # "soooo" -> "so"
_CLAUSE_BREAK = re.compile(r"[.,;:!?¿¡()\n]+|\s-\s")
# Words that open a new thought: what follows is not negated by what came before.
CLAUSE_WORDS = frozenset({"but", "though", "although", "just", "only", "pero", "aunque", "solo"})

UNKNOWN = "unknown"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


NEGATORS = _words(
    "no not nothing none never without dont doesnt didnt isnt arent wasnt werent havent hasnt "
    "hadnt nor neither zero ni sin nada nunca tampoco ningun ninguna ninguno"
)
# "I don't know if...", "no sé si...": doubt, not denial.
DOUBT = frozenset({"know", "sure", "think", "se", "creo"})
NEGATION_REACH = 3
# A negated keyword still says what the message is about ("what if I don't use sunscreen?"),
# but weighs less than one that is not ("didn't go in the water, got some sun").
NEGATED_WEIGHT = 0.5


def normalise(text: str) -> str:
    """Lower case, no accents, no apostrophes ("can't" -> "cant"), no stretched letters."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in folded if not unicodedata.combining(char))
    return _ELONGATED.sub(r"\1", _APOSTROPHES.sub("", plain))


def tokenise(text: str) -> list[str]:
    return _WORD.findall(normalise(text))


def clauses(text: str) -> list[list[str]]:
    """Token lists split at punctuation and at words such as "but" or "just"."""
    result: list[list[str]] = []
    for chunk in _CLAUSE_BREAK.split(normalise(text)):
        current: list[str] = []
        for token in _WORD.findall(chunk):
            if token in CLAUSE_WORDS:
                if current:
                    result.append(current)
                current = []
            else:
                current.append(token)
        if current:
            result.append(current)
    return result


def negated(tokens: Sequence[str], start: int) -> bool:
    """Whether the word at `start` follows a negation word closely, in the same clause."""
    for index in range(max(0, start - NEGATION_REACH), start):
        if tokens[index] in NEGATORS:
            following = tokens[index + 1] if index + 1 < len(tokens) else ""
            if following not in DOUBT:
                return True
    return False


def _typo_budget(length: int) -> int:
    if length >= 9:
        return 2
    if length >= 6:
        return 1
    return 0


@dataclass(frozen=True)
class Word:
    text: str
    stem: bool = False

    def matches(self, token: str) -> bool:
        if self.stem:
            if token.startswith(self.text):
                return True
        elif token == self.text:
            return True
        budget = _typo_budget(len(self.text))
        if not budget or not token or token[0] != self.text[0]:
            return False
        if not self.stem:
            return Levenshtein.distance(token, self.text, score_cutoff=budget) <= budget
        size = len(self.text)
        return any(
            Levenshtein.distance(token[:cut], self.text, score_cutoff=budget) <= budget
            for cut in (size - 1, size, size + 1)
            if cut <= len(token)
        )


@dataclass(frozen=True)
class Phrase:
    """Consecutive words; `source` is the keyword as written in the data."""

    source: str
    words: tuple[Word, ...]

    @classmethod
    def parse(cls, keyword: str) -> Phrase:
        words = []
        for raw in keyword.split():
            stem = raw.endswith("*")
            tokens = tokenise(raw.rstrip("*"))
            for index, token in enumerate(tokens):
                words.append(Word(token, stem and index == len(tokens) - 1))
        if not words:
            raise ValueError(f"keyword {keyword!r} has no words")
        return cls(keyword, tuple(words))

    def find(self, tokens: Sequence[str]) -> list[int]:
        """Start positions where the phrase occurs in `tokens`."""
        size = len(self.words)
        return [
            start
            for start in range(len(tokens) - size + 1)
            if all(word.matches(tokens[start + i]) for i, word in enumerate(self.words))
        ]


@dataclass(frozen=True)
class TopicKeywords:
    topic: str
    keywords: tuple[tuple[Phrase, float], ...]

    @classmethod
    def build(cls, topic: str, weights: Mapping[str, float]) -> TopicKeywords:
        pairs = [(Phrase.parse(k), float(w)) for k, w in weights.items()]
        # Heaviest and longest first: they claim their words before weaker overlapping ones.
        pairs.sort(key=lambda pair: (-pair[1], -len(pair[0].words)))
        return cls(topic, tuple(pairs))

    def score(self, parts: Sequence[Sequence[str]]) -> tuple[float, float, list[str]]:
        """(weight of the keywords present, the same with negated ones discounted, which).

        Each word of the message counts once per topic: "creams" must not score for both
        "cream" and "creams" (typo tolerance makes them match each other), nor "hot yoga"
        again as "yoga".
        """
        full, discounted, hits = 0.0, 0.0, []
        for tokens in parts:
            claimed: set[int] = set()
            for phrase, weight in self.keywords:
                if phrase.source in hits:
                    continue
                for start in phrase.find(tokens):
                    span = set(range(start, start + len(phrase.words)))
                    if not span & claimed:
                        claimed |= span
                        full += weight
                        factor = NEGATED_WEIGHT if negated(tokens, start) else 1.0
                        discounted += weight * factor
                        hits.append(phrase.source)
                        break
        return full, discounted, hits


@dataclass(frozen=True)
class TopicScore:
    topic: str
    score: float  # negated keywords discounted: this decides the ranking
    evidence: float  # every keyword at full weight: this must reach the threshold
    hits: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    """The best topic, or `unknown` when nothing is clear enough; runners-up for context."""

    topic: str
    score: float
    ranking: tuple[TopicScore, ...] = field(default=())

    @property
    def secondary(self) -> str | None:
        """A second topic the message clearly asks about too, if any."""
        for item in self.ranking[1:]:
            if item.topic not in (self.topic, UNKNOWN):
                return item.topic
        return None


def rank(
    parts: Sequence[Sequence[str]], models: Iterable[Sequence[TopicKeywords]]
) -> list[TopicScore]:
    """Each topic's best score over the given keyword sets (one per locale), best first.

    Ties keep the order of the data file, so the file decides which topic wins a draw.
    """
    best: dict[str, TopicScore] = {}
    for model in models:
        for keywords in model:
            evidence, score, hits = keywords.score(parts)
            known = best.get(keywords.topic)
            if known is None or (score, evidence) > (known.score, known.evidence):
                best[keywords.topic] = TopicScore(keywords.topic, score, evidence, tuple(hits))
    ordered = [item for item in best.values() if item.evidence > 0]
    return sorted(ordered, key=lambda item: -item.score)


def classify(text: str, models: Iterable[Sequence[TopicKeywords]], threshold: float) -> Match:
    """The best-ranked topic if its evidence reaches `threshold`; `unknown` otherwise.

    Off-topic requests (prices, parking, other treatments) are an `unknown` keyword set of
    their own, so they can outscore a topic word they happen to contain.
    """
    ranking = rank(clauses(text), models)
    if not ranking or ranking[0].evidence < threshold:
        return Match(UNKNOWN, ranking[0].score if ranking else 0.0, tuple(ranking))
    strong = tuple(item for item in ranking if item.evidence >= threshold)
    return Match(strong[0].topic, strong[0].score, strong)


# --- language ----------------------------------------------------------------------------

_SPANISH_WORDS = _words(
    "que puedo puede puedes se me mi mis la las el los es esta estoy tengo tiene cuando cuanto "
    "cuantos cuantas como donde por para con sin pero muy mucho poco un una unos unas y o ya hoy "
    "ayer manana hola gracias buenas buenos dias tardes noches si no del al lo le les esto eso "
    "hace hacer usar cara piel normal despues antes otra vez hay duele ponerme volver nada ni "
    "tambien porfa xq q jaja cual quien ustedes tratamiento sesion"
)
_ENGLISH_WORDS = _words(
    "i im is it its the a an my me can cant when what how do does did should will would to of "
    "and or in on at for with after before yet still just really hi hello thanks thank "
    "you your is are was have has get go face skin normal again next day today tomorrow this "
    "that there theres any some not no lol pls please wanna gonna tmrw idk"
)
_SPANISH_MARKS = frozenset("ñ¿¡áéíóú")


def detect_language(text: str, default: str = "en") -> str:
    """`es` or `en` from common words and Spanish-only characters; `default` when unclear.

    Words both languages share ("no", "normal") count for neither.
    """
    tokens = tokenise(text)
    spanish = sum(1 for t in tokens if t in _SPANISH_WORDS and t not in _ENGLISH_WORDS)
    english = sum(1 for t in tokens if t in _ENGLISH_WORDS and t not in _SPANISH_WORDS)
    spanish += 2 * sum(1 for char in text.casefold() if char in _SPANISH_MARKS)
    if spanish > english:
        return "es"
    if english > spanish:
        return "en"
    return default
