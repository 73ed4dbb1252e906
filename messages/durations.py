"""Offsets and windows in the protocol: `24h`, `90m`, `14d`, `2w`; `-1d` is a day before.

Only a milestone before the treatment may have a negative offset (`messages.protocol`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

_DURATION = re.compile(r"^\s*(-?)\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True, order=True)
class Duration:
    amount: int  # negative: before the moment it counts from
    unit: str  # minutes | hours | days | weeks

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _DURATION.match(text)
        if not match:
            raise ValueError(
                f"expected a number and a unit m/h/d/w (for example 24h, 14d or -1d), got {text!r}"
            )
        sign = -1 if match.group(1) else 1
        return cls(sign * int(match.group(2)), _UNITS[match.group(3)])

    @property
    def is_calendar(self) -> bool:
        """Days and weeks move the calendar date; minutes and hours are elapsed time."""
        return self.unit in ("days", "weeks")

    @cached_property
    def nominal(self) -> timedelta:
        """The length ignoring DST; exact for elapsed units."""
        return timedelta(**{self.unit: self.amount})

    def __str__(self) -> str:
        return f"{self.amount}{self.unit[0]}"
