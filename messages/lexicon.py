"""A patient's message as words, and which keyword words each of them matches. Pure.

Matching must stay linear in the length of the message: a 4,096-character Telegram message
(or a hostile 95 KB one) must not cost more than its words. So each distinct word of the
message is looked up once in a `Lexicon` of every keyword word (exact words and stems in
dictionaries, typo candidates only among keyword words of the same first letter and a
close length), and phrases are then found from the positions of their first word instead
of being tried at every position.

A keyword word ending in `*` is a stem and matches any word it starts. Words of six letters
or more tolerate one typo (two from nine letters), provided the first letter is right:
patients type fast on phones, but a wrong first letter usually means a different word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from rapidfuzz.distance import Levenshtein

_WORD = re.compile(r"[a-z0-9]+")
_APOSTROPHES = re.compile(r"['’`´]")
_ELONGATED = re.compile(r"([a-z])\1{2,}")  # "soooo" -> "so"
_CLAUSE_BREAK = re.compile(r"[.,;:!?¿¡()\n]+|\s-\s")
# Combining marks left by NFKD (accents on Latin letters): dropped in one C-level pass.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Words that open a new thought: what follows is not negated by what came before.
CLAUSE_WORDS = frozenset({"but", "though", "although", "just", "only", "pero", "aunque", "solo"})


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


NEGATORS = _words(
    "no not nothing none never without dont doesnt didnt isnt arent wasnt werent havent "
    "hasnt hadnt nor neither zero ni sin nada nunca tampoco ningun ninguna ninguno"
)
# "I don't know if...", "no sé si...": doubt, not denial.
DOUBT = frozenset({"know", "sure", "think", "se", "creo"})
NEGATION_REACH = 3
# Distinct words remembered per lexicon: real messages reuse a small vocabulary.
CACHE_SIZE = 1 << 15


def normalise(text: str) -> str:
    """Lower case, no accents, no apostrophes ("can't" -> "cant"), no stretched letters."""
    plain = _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold()))
    return _ELONGATED.sub(r"\1", _APOSTROPHES.sub("", plain))


def tokenise(text: str) -> list[str]:
    return _WORD.findall(normalise(text))


def clauses(text: str) -> list[list[str]]:
    """Token lists split at punctuation and at words such as "but" or "just"."""
    result: list[list[str]] = []
    for chunk in _CLAUSE_BREAK.split(normalise(text)):
        tokens = _WORD.findall(chunk)
        if CLAUSE_WORDS.isdisjoint(tokens):
            if tokens:
                result.append(tokens)
            continue
        current: list[str] = []
        for token in tokens:
            if token in CLAUSE_WORDS:
                if current:
                    result.append(current)
                current = []
            else:
                current.append(token)
        if current:
            result.append(current)
    return result


def typo_budget(length: int) -> int:
    if length >= 9:
        return 2
    if length >= 6:
        return 1
    return 0


class Word(NamedTuple):
    """A keyword word; a tuple, because it is hashed for every word of every message."""

    text: str
    stem: bool = False

    def matches(self, token: str) -> bool:
        """The definition of a match; `Lexicon.match` gives the same answers, faster."""
        if self.stem:
            if token.startswith(self.text):
                return True
        elif token == self.text:
            return True
        budget = typo_budget(len(self.text))
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
class Tokens:
    """A message's words in order, with the clause each belongs to."""

    words: tuple[str, ...]
    clause_of: tuple[int, ...]
    bounds: tuple[tuple[int, int], ...]  # (start, end) of each clause

    @classmethod
    def of(cls, text: str) -> Tokens:
        return cls.of_parts(clauses(text))

    @classmethod
    def of_parts(cls, parts: Sequence[Sequence[str]]) -> Tokens:
        words: list[str] = []
        clause_of: list[int] = []
        bounds: list[tuple[int, int]] = []
        for number, part in enumerate(parts):
            bounds.append((len(words), len(words) + len(part)))
            words.extend(part)
            clause_of.extend([number] * len(part))
        return cls(tuple(words), tuple(clause_of), tuple(bounds))

    def clause_end(self, position: int) -> int:
        return self.bounds[self.clause_of[position]][1]

    def negated(self, start: int) -> bool:
        """Whether the word at `start` follows a negation word closely, in the same clause."""
        clause_start = self.bounds[self.clause_of[start]][0]
        for index in range(max(clause_start, start - NEGATION_REACH), start):
            if self.words[index] in NEGATORS and self.words[index + 1] not in DOUBT:
                return True
        return False


def _one_deleted(text: str) -> list[str]:
    """`text` itself and every way of dropping one of its letters."""
    return [text, *[text[:i] + text[i + 1 :] for i in range(len(text))]]


def _near_prefix(token: str, stem: str, budget: int) -> bool:
    """Whether the token's first len(stem) - 1 or len(stem) + 1 letters are within
    `budget` edits of `stem`."""
    size = len(stem)
    return any(
        Levenshtein.distance(token[:cut], stem, score_cutoff=budget) <= budget
        for cut in (size - 1, size + 1)
        if cut <= len(token)
    )


class Lexicon:
    """Every keyword word of a matcher, indexed so that one message word is looked up in
    time that does not grow with the number of keywords."""

    def __init__(self, words: Iterable[Word]) -> None:
        self._exact: dict[str, list[Word]] = {}
        self._stems: dict[str, list[Word]] = {}
        stem_sizes: dict[str, set[int]] = {}
        # Typo candidates. Words with one typo allowed, by their first letter and each way
        # of dropping one later letter (a word and a token one edit apart, same first
        # letter, become equal after dropping at most one letter from each); longer words
        # by (first letter, length); stems by first letter, shortest first.
        self._one_typo: dict[str, dict[str, list[Word]]] = {}
        self._near_exact: dict[tuple[str, int], list[Word]] = {}
        self._near_stems: dict[str, list[tuple[Word, int, int]]] = {}
        self._all = frozenset(words)
        for word in self._all:
            table = self._stems if word.stem else self._exact
            table.setdefault(word.text, []).append(word)
            size = len(word.text)
            if word.stem:
                stem_sizes.setdefault(word.text[0], set()).add(size)
            budget = typo_budget(size)
            if budget and word.stem:
                self._near_stems.setdefault(word.text[0], []).append((word, size, budget))
            elif budget == 1:
                variants = self._one_typo.setdefault(word.text[0], {})
                for rest in _one_deleted(word.text[1:]):
                    variants.setdefault(rest, []).append(word)
            elif budget:
                self._near_exact.setdefault((word.text[0], size), []).append(word)
        self._stem_sizes = {first: sorted(sizes) for first, sizes in stem_sizes.items()}
        for stems in self._near_stems.values():
            stems.sort(key=lambda entry: entry[1])
        # A longer token matches exactly what its first `_cut` letters match (no word is
        # that long, and stems look at most one letter past themselves), so cached keys
        # stay short whatever a message holds.
        self._cut = max((len(word.text) + (2 if word.stem else 3) for word in self._all), default=1)
        self._cached = lru_cache(maxsize=CACHE_SIZE)(self._match)

    def match(self, token: str) -> frozenset[Word]:
        return self._cached(token[: self._cut])

    def _match(self, token: str) -> frozenset[Word]:
        if not token:
            return frozenset()
        found: set[Word] = set(self._exact.get(token, ()))
        first, length = token[0], len(token)
        for size in self._stem_sizes.get(first, ()):
            if size > length:
                break
            stems = self._stems.get(token[:size])
            if stems:
                found.update(stems)
        variants = self._one_typo.get(first)
        if variants and 5 <= length <= 9:  # one typo: words of 6 to 8 letters
            for rest in _one_deleted(token[1:]):
                for word in variants.get(rest, ()):
                    if word not in found and (
                        Levenshtein.distance(token, word.text, score_cutoff=1) <= 1
                    ):
                        found.add(word)
        # Two typos are allowed from nine letters, so only tokens of seven letters or more.
        for size in range(max(length - 2, 9), length + 3):
            words = self._near_exact.get((first, size))
            if not words:
                continue
            budget = typo_budget(size)
            if abs(size - length) > budget:
                continue
            for word in words:
                if (
                    word not in found
                    and Levenshtein.distance(token, word.text, score_cutoff=budget) <= budget
                ):
                    found.add(word)
        if length >= 5:
            for word, size, budget in self._near_stems.get(first, ()):
                if size - 1 > length:
                    break  # shortest first: no longer stem can match this token
                if word in found:
                    continue
                # Cutting one letter more or less changes the distance by at most one, so
                # the middle cut alone rules out most tokens in one call.
                middle = Levenshtein.distance(token[:size], word.text, score_cutoff=budget + 1)
                if middle <= budget or (
                    middle == budget + 1 and _near_prefix(token, word.text, budget)
                ):
                    found.add(word)
        return frozenset(found)

    def index(self, tokens: Tokens) -> Occurrences:
        return Occurrences(tokens, self)


class Occurrences:
    """Where each keyword word occurs in one message."""

    def __init__(self, tokens: Tokens, lexicon: Lexicon) -> None:
        self.tokens = tokens
        positions: dict[str, list[int]] = {}
        for position, token in enumerate(tokens.words):
            positions.setdefault(token, []).append(position)
        matches = {token: lexicon.match(token) for token in positions}
        self.matched = [matches[token] for token in tokens.words]
        self.at: dict[Word, list[int]] = {}
        for token, words in matches.items():
            for word in words:
                self.at.setdefault(word, []).extend(positions[token])
        for found in self.at.values():
            found.sort()

    def starts(self, words: Sequence[Word]) -> list[int]:
        """Positions where `words` occur one after another inside one clause, in order."""
        size = len(words)
        found = []
        for start in self.at.get(words[0], ()):
            if start + size > self.tokens.clause_end(start):
                continue
            if all(words[i] in self.matched[start + i] for i in range(1, size)):
                found.append(start)
        return found

    def clauses_with(self, words: Sequence[Word], *, negation: bool = False) -> set[int]:
        """The clauses where `words` occur (not negated, when `negation` is set)."""
        clause_of = self.tokens.clause_of
        return {
            clause_of[start]
            for start in self.starts(words)
            if not (negation and self.tokens.negated(start))
        }
