"""FAQ benchmark: top-1 topic accuracy, red-flag recall and false escalations on a labelled corpus,
and how long one answer takes for long messages.

Usage: .venv/bin/python bench/faq.py [CORPUS.jsonl ...] [--show] [--no-latency]
(default corpora: tests/data/faq_questions.jsonl and, if present, tests/data/faq_holdout.jsonl)

A prediction is correct when it equals the label's topic or one of its `also` topics.
Red-flag recall: share of messages labelled escalate=true that escalated. False-escalation
rate: share of messages labelled escalate=false that escalated. Language: share of
messages whose language is recognised with no hint (a sender we don't know yet).

Latency: the whole answer (`messages.conversation.reply`, SMS) for 200 messages of 4,096
characters (Telegram's cap) per language, made of corpus messages strung together, then
the same with random letter words that no cache has seen (the worst case), and one 95 KB
message. Target: p99 <= 5 ms at 4,096 characters.
"""

from __future__ import annotations

import json
import random
import string
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from messages.conversation import reply  # noqa: E402
from messages.faq import detect_language  # noqa: E402
from messages.inbound_text import TELEGRAM_MAX_CHARS  # noqa: E402

DEFAULT_CORPORA = [ROOT / "tests/data/faq_questions.jsonl", ROOT / "tests/data/faq_holdout.jsonl"]
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@dataclass
class Tally:
    total: int = 0
    correct: int = 0
    escalations: int = 0
    caught: int = 0
    calm: int = 0
    false_alarms: int = 0
    language_right: int = 0
    misses: list[tuple[dict[str, object], str, bool]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 1.0

    @property
    def recall(self) -> float:
        return self.caught / self.escalations if self.escalations else 1.0

    @property
    def language_accuracy(self) -> float:
        return self.language_right / self.total if self.total else 1.0

    @property
    def false_escalation_rate(self) -> float:
        return self.false_alarms / self.calm if self.calm else 0.0


def load(path: Path) -> list[dict[str, object]]:
    rows = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{number}: not JSON ({exc})") from None
    return rows


def evaluate(rows: list[dict[str, object]]) -> dict[str, Tally]:
    """Tallies per language and overall ("all")."""
    tallies: dict[str, Tally] = {"all": Tally()}
    for row in rows:
        text, topic, escalate = str(row["text"]), str(row["topic"]), bool(row["escalate"])
        also = [str(t) for t in row.get("also", [])]  # type: ignore[attr-defined]
        answer = reply(None, text, NOW, "sms", language=str(row.get("lang", "en")))
        right = answer.topic == topic or answer.topic in also
        language = str(row.get("lang", "?"))
        for key in ("all", language):
            tally = tallies.setdefault(key, Tally())
            tally.total += 1
            tally.correct += right
            tally.language_right += detect_language(text) == language
            if escalate:
                tally.escalations += 1
                tally.caught += answer.escalate
            else:
                tally.calm += 1
                tally.false_alarms += answer.escalate
            if key == "all" and (not right or answer.escalate != escalate):
                tally.misses.append((row, answer.topic, answer.escalate))
    return tallies


def report(name: str, tallies: dict[str, Tally], show: bool) -> None:
    print(f"== {name}")
    for key in ["all", *sorted(k for k in tallies if k != "all")]:
        t = tallies[key]
        print(
            f"  {key:>3}: n={t.total:4d}  top-1 accuracy {t.accuracy:7.2%}  "
            f"red-flag recall {t.recall:7.2%} ({t.caught}/{t.escalations})  "
            f"false escalations {t.false_escalation_rate:6.2%} ({t.false_alarms}/{t.calm})  "
            f"language {t.language_accuracy:7.2%}"
        )
    misses = tallies["all"].misses
    print(f"  misclassified or wrongly (not) escalated: {len(misses)}")
    if show:
        for row, topic, escalated in misses:
            print(
                f"    [{row.get('lang')}] want {row['topic']}{row.get('also', '')} "
                f"esc={row['escalate']} got {topic} esc={escalated}: {row['text']}"
            )


def _strung(texts: list[str], size: int, rng: random.Random) -> str:
    parts: list[str] = []
    length = 0
    while length < size:
        parts.append(rng.choice(texts))
        length += len(parts[-1]) + 1
    return " ".join(parts)[:size]


def _random_words(size: int, rng: random.Random) -> str:
    words: list[str] = []
    length = 0
    while length < size:
        words.append("".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 10))))
        length += len(words[-1]) + 1
    return " ".join(words)[:size]


def _timed(texts: list[str]) -> list[float]:
    seconds = []
    for text in texts:
        start = time.perf_counter()
        reply(None, text, NOW, "sms")
        seconds.append(time.perf_counter() - start)
    return sorted(seconds)


def _line(name: str, seconds: list[float]) -> str:
    def at(share: float) -> float:
        return seconds[min(len(seconds) - 1, int(share * len(seconds)))] * 1000

    return (
        f"  {name:<34} n={len(seconds):3d}  p50 {at(0.5):6.2f} ms  p99 {at(0.99):6.2f} ms  "
        f"max {seconds[-1] * 1000:6.2f} ms"
    )


def latency(rows: list[dict[str, object]], count: int = 200) -> None:
    print(f"== latency of one answer (SMS), {TELEGRAM_MAX_CHARS:,}-character messages")
    rng = random.Random(9)
    reply(None, "warm up", NOW, "sms")
    for language in sorted({str(row.get("lang")) for row in rows}):
        texts = [str(row["text"]) for row in rows if row.get("lang") == language]
        messages = [_strung(texts, TELEGRAM_MAX_CHARS, rng) for _ in range(count)]
        print(_line(f"{language}: corpus messages strung", _timed(messages)))

    def unseen(size: int) -> str:
        return _random_words(size, rng)

    print(_line("random letter words (cold)", _timed([unseen(4096) for _ in range(count)])))
    big = 95 * 1024
    every = [str(row["text"]) for row in rows]
    print(_line("95 KB of corpus messages", _timed([_strung(every, big, rng) for _ in range(5)])))
    print(_line("95 KB of random letter words", _timed([unseen(big) for _ in range(5)])))


def main(argv: list[str]) -> int:
    show = "--show" in argv
    paths = [Path(a) for a in argv if not a.startswith("--")] or [
        p for p in DEFAULT_CORPORA if p.exists()
    ]
    every: list[dict[str, object]] = []
    for path in paths:
        rows = load(path)
        every.extend(rows)
        report(path.name, evaluate(rows), show)
    if "--no-latency" not in argv:
        latency(every)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
