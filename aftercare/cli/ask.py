"""`aftercare ask`: put a question to the conversation core as an unregistered sender.

No database is touched, so it works on a fresh install. Answers are the general ones (no
patient timeline); warning signs are recognised exactly as for a patient.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated, Any, TextIO

import typer

from aftercare.cli.common import read_settings
from messages.conversation import Reply, reply
from messages.protocol import Channel
from storage.values import ChannelName, Language


def answer_line(answer: Reply) -> dict[str, Any]:
    return {
        "topic": answer.topic,
        "escalate": answer.escalate,
        "answer": answer.text,
        "category": answer.category,
        "language": answer.language,
    }


def ask_many(
    lines: TextIO,
    out: TextIO,
    *,
    lang: str | None,
    channel: Channel,
    emergency_number: str,
    default_language: str,
) -> int:
    """One JSON object per non-blank input line; returns how many were answered."""
    count = 0
    now = datetime.now(UTC)
    for line in lines:
        text = line.strip()
        if not text:
            continue
        answer = reply(
            None,
            text,
            now,
            channel,
            language=lang,
            emergency_number=emergency_number,
            default_language=lang or default_language,
        )
        out.write(json.dumps(answer_line(answer), ensure_ascii=False) + "\n")
        out.flush()
        count += 1
    return count


def ask(
    text: Annotated[str, typer.Argument(help='The question, or "-" to read one per line.')],
    lang: Annotated[Language | None, typer.Option(help="Default: detected from the text.")] = None,
    channel: Annotated[
        ChannelName, typer.Option(help="Rendering: sms (plain) or telegram (HTML).")
    ] = "sms",
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Ask the FAQ a question the way a patient would. No database needed."""
    rendering: Channel = channel
    settings = read_settings()
    if text == "-":
        ask_many(
            sys.stdin,
            sys.stdout,
            lang=lang,
            channel=rendering,
            emergency_number=settings.emergency_number,
            default_language=settings.default_language,
        )
        return
    if not text.strip():
        raise typer.BadParameter("the question is empty", param_hint="TEXT")
    answer = reply(
        None,
        text,
        datetime.now(UTC),
        rendering,
        language=lang,
        emergency_number=settings.emergency_number,
        default_language=lang or settings.default_language,
    )
    if as_json:
        typer.echo(json.dumps(answer_line(answer), ensure_ascii=False))
        return
    typer.echo(answer.text)
    note = f"[topic: {answer.topic}, language: {answer.language}"
    note += f", ESCALATE: {answer.category}]" if answer.escalate else "]"
    typer.echo(note, err=True)
