"""Keyword matching for patient questions. Pure: text in, scores out, no I/O.

Keywords are data (messages/faq/<locale>.toml). A keyword is one or more words; a word
ending in `*` is a stem (see messages/lexicon.py for how words match, typos included).
The work per message is linear in its words: each distinct word is looked up once, and
only the keywords whose first word occurs in the message are scored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from messages.language import detect_language
from messages.lexicon import (
    Lexicon,
    Occurrences,
    Tokens,
    Word,
    clauses,
    normalise,
    tokenise,
)

__all__ = [
    "UNKNOWN",
    "KeywordModels",
    "Match",
    "Phrase",
    "TopicKeywords",
    "TopicScore",
    "classify",
    "clauses",
    "detect_language",
    "normalise",
    "rank",
    "tokenise",
]

UNKNOWN = "unknown"
# A negated keyword still says what the message is about ("what if I don't use sunscreen?"),
# but weighs less than one that is not ("didn't go in the water, got some sun").
NEGATED_WEIGHT = 0.5


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
        """Start positions where the phrase occurs in one clause's `tokens`."""
        return Lexicon(self.words).index(Tokens.of_parts([tokens])).starts(self.words)

    def starts(self, found: Occurrences) -> list[int]:
        return found.starts(self.words)


@dataclass(frozen=True)
class TopicKeywords:
    topic: str
    keywords: tuple[tuple[Phrase, float], ...]
    wins: bool = False  # once its keywords reach the threshold, it beats every other topic

    @classmethod
    def build(
        cls, topic: str, weights: Mapping[str, float], *, wins: bool = False
    ) -> TopicKeywords:
        pairs = [(Phrase.parse(k), float(w)) for k, w in weights.items()]
        # Heaviest and longest first: they claim their words before weaker overlapping ones.
        pairs.sort(key=lambda pair: (-pair[1], -len(pair[0].words)))
        return cls(topic, tuple(pairs), wins)

    def score(
        self, found: Occurrences, candidates: Iterable[int] | None = None
    ) -> tuple[float, float, list[str]]:
        """(weight of the keywords present, the same with negated ones discounted, which).

        Each word of the message counts once per topic: "creams" must not score for both
        "cream" and "creams" (typo tolerance makes them match each other), nor "hot yoga"
        again as "yoga". `candidates` (indexes into `keywords`, ascending) narrows the work
        to keywords whose first word occurs in the message.
        """
        full, discounted, hits = 0.0, 0.0, []
        claimed: set[int] = set()
        indexes = range(len(self.keywords)) if candidates is None else candidates
        for index in indexes:
            phrase, weight = self.keywords[index]
            size = len(phrase.words)
            for start in phrase.starts(found):
                span = range(start, start + size)
                if not any(position in claimed for position in span):
                    claimed.update(span)
                    full += weight
                    factor = NEGATED_WEIGHT if found.tokens.negated(start) else 1.0
                    discounted += weight * factor
                    hits.append(phrase.source)
                    break
        return full, discounted, hits


class KeywordModels:
    """Every locale's topic keywords, with one lexicon of all their words."""

    def __init__(self, models: Iterable[Sequence[TopicKeywords]]) -> None:
        self.models = tuple(tuple(model) for model in models)
        self.words = frozenset(
            w for m in self.models for t in m for p, _ in t.keywords for w in p.words
        )
        self.lexicon = Lexicon(self.words)
        # first word -> (model, topic, keyword) indexes: only these keywords can be present.
        self._by_first: dict[Word, list[tuple[int, int, int]]] = {}
        for m, model in enumerate(self.models):
            for t, topic in enumerate(model):
                for k, (phrase, _) in enumerate(topic.keywords):
                    self._by_first.setdefault(phrase.words[0], []).append((m, t, k))

    def __iter__(self) -> Iterator[tuple[TopicKeywords, ...]]:
        return iter(self.models)

    def scores(self, found: Occurrences) -> list[tuple[TopicKeywords, float, float, list[str]]]:
        candidates: dict[tuple[int, int], list[int]] = {}
        for word in found.at:
            for m, t, k in self._by_first.get(word, ()):
                candidates.setdefault((m, t), []).append(k)
        results = []
        for (m, t), indexes in sorted(candidates.items()):
            keywords = self.models[m][t]
            evidence, score, hits = keywords.score(found, sorted(set(indexes)))
            results.append((keywords, evidence, score, hits))
        return results


@dataclass(frozen=True)
class TopicScore:
    topic: str
    score: float  # negated keywords discounted: this decides the ranking
    evidence: float  # every keyword at full weight: this must reach the threshold
    hits: tuple[str, ...]
    wins: bool = False


@dataclass(frozen=True)
class Match:
    """The best topic, or `unknown` when nothing is clear enough; runners-up for context."""

    topic: str
    score: float
    ranking: tuple[TopicScore, ...] = field(default=())

    @property
    def secondary(self) -> str | None:
        """A second topic the message clearly asks about too, if any. A topic that wins by
        rule (a price question) has none: the topic it mentions is what it asks the price of."""
        if self.ranking and self.ranking[0].wins:
            return None
        for item in self.ranking[1:]:
            if item.topic not in (self.topic, UNKNOWN):
                return item.topic
        return None


def _as_models(models: KeywordModels | Iterable[Sequence[TopicKeywords]]) -> KeywordModels:
    return models if isinstance(models, KeywordModels) else KeywordModels(models)


def rank(
    text: str | Sequence[Sequence[str]] | Occurrences,
    models: KeywordModels | Iterable[Sequence[TopicKeywords]],
) -> list[TopicScore]:
    """Each topic's best score over the given keyword sets (one per locale), best first.

    Ties keep the order of the data file, so the file decides which topic wins a draw.
    `text` may come already indexed by a lexicon that holds the models' words.
    """
    keyword_models = _as_models(models)
    if isinstance(text, Occurrences):
        found = text
    else:
        tokens = Tokens.of(text) if isinstance(text, str) else Tokens.of_parts(text)
        found = keyword_models.lexicon.index(tokens)
    order: dict[str, int] = {}
    best: dict[str, TopicScore] = {}
    for model in keyword_models.models:
        for keywords in model:
            order.setdefault(keywords.topic, len(order))
    for keywords, evidence, score, hits in keyword_models.scores(found):
        known = best.get(keywords.topic)
        if evidence > 0 and (known is None or (score, evidence) > (known.score, known.evidence)):
            best[keywords.topic] = TopicScore(
                keywords.topic, score, evidence, tuple(hits), keywords.wins
            )
    ordered = sorted(best.values(), key=lambda item: order[item.topic])
    return sorted(ordered, key=lambda item: -item.score)


def classify(
    text: str | Occurrences,
    models: KeywordModels | Iterable[Sequence[TopicKeywords]],
    threshold: float,
) -> Match:
    """The best-ranked topic if its evidence reaches `threshold`; `unknown` otherwise.

    Off-topic requests (parking, other treatments) are an `unknown` keyword set of their
    own, so they can outscore a topic word they happen to contain. A topic marked `wins`
    (prices) beats every other once its own evidence reaches the threshold.
    """
    ranking = rank(text, models)
    clear = bool(ranking) and (
        ranking[0].evidence >= threshold
        or any(item.wins and item.evidence >= threshold for item in ranking)
    )
    if not clear:
        return Match(UNKNOWN, ranking[0].score if ranking else 0.0, tuple(ranking))
    strong = [item for item in ranking if item.evidence >= threshold]
    strong.sort(key=lambda item: not item.wins)  # stable: the score order stays otherwise
    return Match(strong[0].topic, strong[0].score, tuple(strong))
