"""FAQ benchmark: top-1 topic accuracy, red-flag recall and false escalations on a labelled corpus.

Usage: .venv/bin/python bench/faq.py [CORPUS.jsonl ...] [--show]
(default corpora: tests/data/faq_questions.jsonl and, if present, tests/data/faq_holdout.jsonl)

A prediction is correct when it equals the label's topic or one of its `also` topics.
Red-flag recall: share of messages labelled escalate=true that escalated. False-escalation
rate: share of messages labelled escalate=false that escalated.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from messages.conversation import reply  # noqa: E402

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
    misses: list[tuple[dict[str, object], str, bool]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 1.0

    @property
    def recall(self) -> float:
        return self.caught / self.escalations if self.escalations else 1.0

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
        for key in ("all", str(row.get("lang", "?"))):
            tally = tallies.setdefault(key, Tally())
            tally.total += 1
            tally.correct += right
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
            f"false escalations {t.false_escalation_rate:6.2%} ({t.false_alarms}/{t.calm})"
        )
    misses = tallies["all"].misses
    print(f"  misclassified or wrongly (not) escalated: {len(misses)}")
    if show:
        for row, topic, escalated in misses:
            print(
                f"    [{row.get('lang')}] want {row['topic']}{row.get('also', '')} "
                f"esc={row['escalate']} got {topic} esc={escalated}: {row['text']}"
            )


def main(argv: list[str]) -> int:
    show = "--show" in argv
    paths = [Path(a) for a in argv if not a.startswith("--")] or [
        p for p in DEFAULT_CORPORA if p.exists()
    ]
    for path in paths:
        report(path.name, evaluate(load(path)), show)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
