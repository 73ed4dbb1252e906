"""Rendering a milestone for one patient, channel and locale."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from messages import gsm7

if TYPE_CHECKING:
    from messages.protocol import Channel, Protocol

_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.!?;:])")


@dataclass(frozen=True)
class RenderContext:
    first_name: str | None
    clinic_name: str
    clinic_phone: str
    locale: str

    def with_locale(self, locale: str) -> RenderContext:
        return replace(self, locale=locale)


def _values(protocol: Protocol, channel: Channel, context: RenderContext) -> dict[str, str]:
    first_name = (context.first_name or "").strip() or protocol.first_name_fallback.get(
        context.locale, ""
    )
    values = {
        "first_name": first_name,
        "clinic_name": context.clinic_name,
        "clinic_phone": context.clinic_phone,
    }
    if channel == "sms":
        # A name such as "Mónica" would push the whole SMS into UCS-2 and double its cost.
        return {key: gsm7.to_gsm7(value) for key, value in values.items()}
    return {key: html.escape(value, quote=False) for key, value in values.items()}


def _fill(template: str, values: dict[str, str]) -> str:
    return _SPACE_BEFORE_PUNCT.sub(r"\1", template.format(**values)).strip()


def render_text(
    protocol: Protocol,
    key: str,
    channel: Channel,
    context: RenderContext,
    passed: list[str] | tuple[str, ...] = (),
) -> str:
    """The text of milestone `key`; for the welcome, `passed` names milestones already behind
    the patient, in which case the welcome says what applies now instead of the first-day rules."""
    locale = context.locale if context.locale in protocol.locales else protocol.locales[0]
    context = context.with_locale(locale)
    values = _values(protocol, channel, context)
    milestone = protocol.milestone(key)
    if milestone.late_intro is not None and passed:
        lines = [milestone.late_intro[locale].get(channel)]
        for passed_key in passed:
            catch_up = protocol.milestone(passed_key).catch_up
            if catch_up is not None:
                lines.append(catch_up[locale].get(channel))
        return "\n".join(_fill(line, values) for line in lines)
    return _fill(milestone.text[locale].get(channel), values)
