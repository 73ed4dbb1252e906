"""Loading a protocol file with every check: its structure (`messages.protocol`) and, once it
renders, that every SMS fits its budget (`messages.render`).

A clinic may supply its own file (`PROTOCOL_FILE`); it is validated with the same rules as the
built-in one and every problem is reported with the entry and the field it concerns.
"""

from __future__ import annotations

import contextlib
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from messages.checkins import reply_budget_problems
from messages.protocol import Protocol
from messages.render import sms_budget_problems


class ProtocolError(ValueError):
    """The protocol file is unusable; `problems` lists `where: why` lines."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def _format_errors(exc: ValidationError, data: dict[str, Any]) -> list[str]:
    problems = []
    for error in exc.errors():
        loc = list(error["loc"])
        parts: list[str] = []
        for index, item in enumerate(loc):
            if isinstance(item, int):
                parts[-1] = f"{parts[-1]}[{item}]"
                if loc[index - 1] == "milestones":
                    with contextlib.suppress(KeyError, IndexError, TypeError):
                        parts[-1] += f" ({data['milestones'][item]['key']})"
            else:
                parts.append(str(item))
        message = str(error["msg"]).removeprefix("Value error, ")
        if not parts:
            # Whole-file checks already name where each problem is.
            problems.extend(message.split("; "))
            continue
        problems.append(f"{'.'.join(parts)}: {message}")
    return problems


def parse_protocol(text: str, source: str = "protocol") -> Protocol:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(source, [f"not valid TOML ({exc})"]) from None
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(source, _format_errors(exc, data)) from None
    # Only a structurally sound protocol can be rendered to measure its texts.
    problems = sms_budget_problems(protocol) + reply_budget_problems(protocol)
    if problems:
        raise ProtocolError(source, problems)
    return protocol


def load_protocol(path: str | Path | None = None) -> Protocol:
    """The clinic's own protocol file if given, else the built-in microneedling protocol."""
    if path is None:
        text = (
            resources.files("messages").joinpath("protocols/microneedling.toml").read_text("utf-8")
        )
        return parse_protocol(text, "built-in microneedling protocol")
    file = Path(path)
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(str(file), [f"cannot read ({exc})"]) from None
    return parse_protocol(text, str(file))
