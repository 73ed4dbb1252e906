"""Which texts are a number's first, for the dispatcher: those carry the opt-out line
(messages.first_sms), and once one is sent the number is recorded as texted
(storage.sms_numbers), so later texts don't.

One text per number in a chunk is the first (two patients at one number, the invite and the
welcome due together). A number is recorded only once its text was sent, after the outcome,
so a retry carries the same body, and a crash in between costs one more opt-out line, never
a missing one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from storage.sms_numbers import SmsFirstContacts
from storage.values import ClaimedReminder, Outcome, ReminderStatus

# Numbers known to have had a text (never undone), so most chunks need no lookup; bounded.
KNOWN_CACHE_SIZE = 20_000


class FirstTexts:
    def __init__(self, numbers: SmsFirstContacts) -> None:
        self._numbers = numbers
        self._known: set[str] = set()
        self._carrying: dict[int, str] = {}  # reminder id -> number, for texts with the line

    def never_texted(self, chunk: Sequence[ClaimedReminder]) -> set[str]:
        """Blocking (database): the chunk's numbers that never had a text from us."""
        phones = {r.phone for r in chunk if r.phone} - self._known
        never = self._numbers.never_texted(phones) if phones else set()
        self._remember(phones - never)
        return never

    def carries(self, reminder_id: int, number: str) -> None:
        """This reminder's text carries the line: record its number once it is sent."""
        self._carrying[reminder_id] = number

    def forget(self, reminder_ids: Iterable[int]) -> None:
        """These texts were never handed to a provider."""
        for reminder_id in reminder_ids:
            self._carrying.pop(reminder_id, None)

    def settled(self, outcomes: Sequence[Outcome], at: datetime) -> None:
        """Blocking (database): record the numbers whose first text was sent."""
        texted = []
        for outcome in outcomes:
            number = self._carrying.pop(outcome.reminder_id, None)
            if number is not None and outcome.status == ReminderStatus.SENT:
                texted.append(number)
        if texted:
            self._numbers.mark(texted, at)
            self._remember(texted)

    def _remember(self, numbers: Iterable[str]) -> None:
        if len(self._known) > KNOWN_CACHE_SIZE:
            self._known.clear()  # the database still knows
        self._known.update(numbers)
