"""The answers of an unfinished conversation (a registration or a /treatment correction).

A draft lives in PTB's user_data while the patient answers, and is persisted with the
conversation state (bot/telegram/persistence.py), so a restart continues where the patient
was. It is plain data with a JSON form of its own: no pickles in the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

DRAFT_KEY = "draft"  # where the draft lives in PTB's user_data
# An abandoned conversation is forgotten after this long without an answer.
DRAFT_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Draft:
    """A treatment time being chosen, for a new registration or a /treatment correction."""

    flow: str  # "register" | "treatment"
    zone: str
    language: str
    day_first: bool
    clinic_id: int | None = None
    clinic_name: str = ""
    day: date | None = None
    local: datetime | None = None  # naive wall-clock time in `zone`
    first_name: str | None = None
    treatment_id: int | None = None
    confirming: bool = False  # the patient saw the plan and is correcting the time
    touched_at: datetime | None = None  # the patient's last answer (aware UTC)

    def expired(self, now: datetime) -> bool:
        return self.touched_at is None or now - self.touched_at > DRAFT_TTL

    def to_json(self) -> str:
        return json.dumps(
            {
                "flow": self.flow,
                "zone": self.zone,
                "language": self.language,
                "day_first": self.day_first,
                "clinic_id": self.clinic_id,
                "clinic_name": self.clinic_name,
                "day": self.day.isoformat() if self.day else None,
                "local": self.local.isoformat() if self.local else None,
                "first_name": self.first_name,
                "treatment_id": self.treatment_id,
                "confirming": self.confirming,
                "touched_at": self.touched_at.isoformat() if self.touched_at else None,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str) -> Draft:
        """The draft `to_json` wrote; ValueError if the text is not one."""
        try:
            data: dict[str, Any] = json.loads(raw)
            return cls(
                flow=str(data["flow"]),
                zone=str(data["zone"]),
                language=str(data["language"]),
                day_first=bool(data["day_first"]),
                clinic_id=_optional_int(data.get("clinic_id")),
                clinic_name=str(data.get("clinic_name") or ""),
                day=date.fromisoformat(data["day"]) if data.get("day") else None,
                local=datetime.fromisoformat(data["local"]) if data.get("local") else None,
                first_name=data.get("first_name"),
                treatment_id=_optional_int(data.get("treatment_id")),
                confirming=bool(data.get("confirming")),
                touched_at=(
                    datetime.fromisoformat(data["touched_at"]) if data.get("touched_at") else None
                ),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a stored draft ({type(exc).__name__})") from None


def _optional_int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("expected an integer")
    return value
