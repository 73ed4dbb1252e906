"""What the Telegram bot reads and writes: chats bound to patients, their flags and plans.

A chat may be bound to more than one patient row (two clinics, or an invite after a
self-registration); commands act on the one bound most recently, while flags a person sets
for themselves (pause, language, blocked, erase) apply to every row of the chat.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.appointments import one_plan_at_a_time
from storage.conversations import record_inbound_id
from storage.db import Database
from storage.models import (
    Clinic,
    InboundMessage,
    Patient,
    Reminder,
    ReminderStatus,
    TelegramConversation,
    TelegramDraft,
    Treatment,
)
from storage.patients import ClinicView, current_treatment, erase_patients
from storage.plans import PatientPlan, patient_plan

PROVIDER = "telegram"


class NewSession(Protocol):
    """What the caller's planning returns for a new session (a registration)."""

    @property
    def treatment_id(self) -> int: ...


Planned = TypeVar("Planned", bound=NewSession)


@dataclass(frozen=True)
class ChatPatient:
    """The patient a chat speaks as, with what the bot needs to answer them."""

    id: int
    clinic_id: int
    first_name: str | None
    timezone: str
    language: str
    paused: bool
    clinic_name: str
    clinic_phone: str
    clinic_country: str
    treatment_id: int | None  # the current session at the time asked (`current_treatment`)
    performed_at: datetime | None
    registered_at: datetime | None


@dataclass(frozen=True)
class ChatDetails:
    """What a patient gives when registering from the chat."""

    timezone: str
    language: str
    first_name: str | None


def _for_chat(chat_id: int) -> Select[Patient]:
    return (
        select(Patient)
        .where(Patient.telegram_chat_id == chat_id, Patient.erased_at.is_(None))
        .order_by(Patient.updated_at.desc().nulls_last(), Patient.id.desc())
    )


class TelegramStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- reading ----------------------------------------------------------------------------

    def patient_for_chat(self, chat_id: int, now: datetime) -> ChatPatient | None:
        """The patient the chat speaks as, with their session current at `now`: the latest
        that has happened, else the one booked ahead."""
        with self._db.session() as session:
            patient = session.scalars(_for_chat(chat_id).limit(1)).first()
            return None if patient is None else self._view(session, patient, now)

    def patient(self, patient_id: int, now: datetime) -> ChatPatient | None:
        with self._db.session() as session:
            patient = session.get(Patient, patient_id)
            if patient is None or patient.erased_at is not None:
                return None
            return self._view(session, patient, now)

    def clinic(self, slug: str) -> ClinicView | None:
        """The clinic a public link names, or None."""
        with self._db.session() as session:
            clinic = session.scalar(select(Clinic).where(Clinic.slug == slug))
            return None if clinic is None else ClinicView.of(clinic)

    def patient_at_clinic(self, chat_id: int, clinic_id: int) -> int | None:
        with self._db.session() as session:
            patient = session.scalars(
                _for_chat(chat_id).where(Patient.clinic_id == clinic_id).limit(1)
            ).first()
            return None if patient is None else patient.id

    def plan(self, patient_id: int, now: datetime) -> PatientPlan | None:
        """What /plan shows: the current session's reminders and the next session."""
        with self._db.session() as session:
            return patient_plan(session, patient_id, now)

    # -- binding ----------------------------------------------------------------------------

    def bind(
        self,
        patient_id: int,
        chat_id: int,
        now: datetime,
        skip: Sequence[str] = (),
        treatment_id: int | None = None,
    ) -> bool:
        """Bind the chat to an invited patient and make Telegram their channel.

        Pending SMS reminders move to Telegram. The milestones in `skip` (the welcome, and
        those it already covers because the chat shows it now) are not sent again: those of
        `treatment_id` only when given (a session booked ahead keeps its own). False if the
        patient was erased meanwhile.
        """
        with self._db.session() as session:
            patient = session.get(Patient, patient_id)
            if patient is None or patient.erased_at is not None:
                return False
            patient.telegram_chat_id = chat_id
            patient.telegram_unreachable = False
            patient.channel = PROVIDER
            patient.updated_at = now
            session.execute(
                update(Reminder)
                .where(
                    Reminder.patient_id == patient_id,
                    Reminder.status == ReminderStatus.PENDING,
                    Reminder.channel != PROVIDER,
                )
                .values(channel=PROVIDER)
                .execution_options(synchronize_session=False)
            )
            if skip:
                session.execute(
                    update(Reminder)
                    .where(
                        Reminder.patient_id == patient_id,
                        Reminder.status == ReminderStatus.PENDING,
                        Reminder.milestone.in_(list(skip)),
                        *([Reminder.treatment_id == treatment_id] if treatment_id else []),
                    )
                    .values(status=ReminderStatus.SKIPPED, last_error="covered by the chat welcome")
                    .execution_options(synchronize_session=False)
                )
            return True

    def touch(self, patient_id: int, now: datetime) -> None:
        """This patient is now the one the chat speaks as."""
        with self._db.session() as session:
            session.execute(update(Patient).where(Patient.id == patient_id).values(updated_at=now))

    def renew_registration(
        self,
        patient_id: int,
        details: ChatDetails,
        now: datetime,
        plan: Callable[[Session, Patient], Planned],
    ) -> Planned:
        """A returning patient registers a new session from the chat: the details just
        given replace the stored ones, `plan` adds the session, and it takes its place
        among the others as an imported one does (`one_plan_at_a_time`: the plans of
        earlier sessions end, one the clinic booked ahead keeps its own), all in one
        transaction."""
        with self._db.session() as session:
            patient = session.get(Patient, patient_id)
            assert patient is not None
            patient.timezone = details.timezone
            patient.language = details.language
            patient.first_name = details.first_name or patient.first_name
            patient.channel = PROVIDER
            patient.paused = False
            patient.telegram_unreachable = False
            patient.updated_at = now
            session.flush()
            planned = plan(session, patient)
            treatment = session.get(Treatment, planned.treatment_id)
            assert treatment is not None
            one_plan_at_a_time(session, patient_id, treatment.id, treatment.performed_at, now)
            return planned

    # -- what the person sets for themselves ------------------------------------------------

    def set_reachable(self, chat_id: int, reachable: bool) -> int:
        return self._set(chat_id, telegram_unreachable=not reachable)

    def set_paused(self, chat_id: int, paused: bool, now: datetime) -> int:
        return self._set(chat_id, paused=paused, updated_at=now)

    def set_language(self, chat_id: int, language: str) -> int:
        return self._set(chat_id, language=language)

    def erase(self, chat_id: int, now: datetime) -> int:
        """Forget the person behind this chat: details, messages, invites; reminders cancelled.

        The rows stay (without personal data) so a clinic's counts remain right.
        """
        with self._db.session() as session:
            ids = list(
                session.scalars(select(Patient.id).where(Patient.telegram_chat_id == chat_id))
            )
            erase_patients(session, ids, now)
            # An unfinished registration may hold the name the person typed.
            _forget_chat(session, chat_id)
        return len(ids)

    # -- webhook redelivery -----------------------------------------------------------------

    def is_processed(self, update_id: int) -> bool:
        """Whether this update was handled before (a cheap early answer to a redelivery)."""
        with self._db.session() as session:
            found = session.scalar(
                select(InboundMessage.id).where(
                    InboundMessage.provider == PROVIDER,
                    InboundMessage.provider_message_id == str(update_id),
                )
            )
        return found is not None

    def first_delivery(self, update_id: int, now: datetime) -> bool:
        """Record a handled update's id; False if it was recorded already (the conversation
        core records a free-text update's id with what it stored, in one transaction)."""
        with self._db.session() as session:
            return record_inbound_id(session, PROVIDER, str(update_id), now)

    # -- helpers ----------------------------------------------------------------------------

    def _set(self, chat_id: int, **values: object) -> int:
        with self._db.session() as session:
            result = session.execute(
                update(Patient)
                .where(Patient.telegram_chat_id == chat_id, Patient.erased_at.is_(None))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    @staticmethod
    def _view(session: Session, patient: Patient, now: datetime) -> ChatPatient:
        clinic = session.get(Clinic, patient.clinic_id)
        assert clinic is not None
        treatment = current_treatment(session, patient.id, now)
        return ChatPatient(
            id=patient.id,
            clinic_id=patient.clinic_id,
            first_name=patient.first_name,
            timezone=patient.timezone,
            language=patient.language,
            paused=patient.paused,
            clinic_name=clinic.name,
            clinic_phone=clinic.phone,
            clinic_country=clinic.country,
            treatment_id=treatment.id if treatment else None,
            performed_at=treatment.performed_at if treatment else None,
            registered_at=treatment.registered_at if treatment else None,
        )


def _forget_chat(session: Session, chat_id: int) -> None:
    session.execute(delete(TelegramDraft).where(TelegramDraft.user_id == chat_id))
    session.execute(
        delete(TelegramConversation).where(
            (TelegramConversation.chat_id == chat_id) | (TelegramConversation.user_id == chat_id)
        )
    )


def _upsert(session: Session, model: type[TelegramConversation] | type[TelegramDraft]) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


class ConversationStateStore:
    """Unfinished conversations: PTB's conversation states and our drafts, by last answer.

    Rows older than the cutoff a caller passes are abandoned: reading drops them, so an
    expired conversation is never resumed, and `drop_older` clears them without a reader.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def states(self, handler: str, since: datetime) -> dict[tuple[int, int], int]:
        """(chat id, user id) -> state, for conversations touched since `since`."""
        with self._db.session() as session:
            session.execute(
                delete(TelegramConversation).where(
                    TelegramConversation.handler == handler,
                    TelegramConversation.updated_at < since,
                )
            )
            rows = session.execute(
                select(
                    TelegramConversation.chat_id,
                    TelegramConversation.user_id,
                    TelegramConversation.state,
                ).where(TelegramConversation.handler == handler)
            ).all()
        return {(chat_id, user_id): state for chat_id, user_id, state in rows}

    def save_state(
        self, handler: str, chat_id: int, user_id: int, state: int | None, now: datetime
    ) -> None:
        """Record the conversation's state; None means it ended."""
        with self._db.session() as session:
            if state is None:
                session.execute(
                    delete(TelegramConversation).where(
                        TelegramConversation.handler == handler,
                        TelegramConversation.chat_id == chat_id,
                        TelegramConversation.user_id == user_id,
                    )
                )
                return
            statement = _upsert(session, TelegramConversation).values(
                handler=handler, chat_id=chat_id, user_id=user_id, state=state, updated_at=now
            )
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["handler", "chat_id", "user_id"],
                    set_={"state": state, "updated_at": now},
                )
            )

    def drafts(self, since: datetime) -> dict[int, str]:
        """user id -> draft (JSON), for drafts touched since `since`."""
        with self._db.session() as session:
            session.execute(delete(TelegramDraft).where(TelegramDraft.updated_at < since))
            rows = session.execute(select(TelegramDraft.user_id, TelegramDraft.draft)).all()
        return {user_id: draft for user_id, draft in rows}

    def save_draft(self, user_id: int, draft: str | None, touched_at: datetime) -> None:
        """Record the user's draft; None forgets it."""
        with self._db.session() as session:
            if draft is None:
                session.execute(delete(TelegramDraft).where(TelegramDraft.user_id == user_id))
                return
            statement = _upsert(session, TelegramDraft).values(
                user_id=user_id, draft=draft, updated_at=touched_at
            )
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["user_id"],
                    set_={"draft": draft, "updated_at": touched_at},
                )
            )

    def drop_older(self, before: datetime) -> int:
        """Forget conversations abandoned before `before`; how many rows went."""
        with self._db.session() as session:
            states = session.execute(
                delete(TelegramConversation).where(TelegramConversation.updated_at < before)
            )
            drafts = session.execute(delete(TelegramDraft).where(TelegramDraft.updated_at < before))
        return int(states.rowcount) + int(drafts.rowcount)  # type: ignore[attr-defined]
