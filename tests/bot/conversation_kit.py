"""What the conversation core stored, read back for tests of the channels, and the
clinic's staff contacts set the way an operator sets them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select, text, update

from storage.db import Database
from storage.models import Clinic, Conversation, Escalation


def conversations(db: Database) -> list[Conversation]:
    """Every stored conversation, oldest first."""
    with db.session() as session:
        return list(session.scalars(select(Conversation).order_by(Conversation.id)))


def escalations(db: Database) -> list[Escalation]:
    """Every stored escalation, oldest first."""
    with db.session() as session:
        return list(session.scalars(select(Escalation).order_by(Escalation.id)))


def set_staff_contacts(db: Database, clinic_id: int, **values: object) -> None:
    """Where a clinic's staff are alerted: staff_telegram_chat_id, staff_sms_number."""
    with db.session() as session:
        session.execute(update(Clinic).where(Clinic.id == clinic_id).values(**values))


@contextmanager
def conversation_store_down(db: Database) -> Iterator[None]:
    """The database refuses every new conversation row (a trigger) until the block ends:
    the inbound path fails mid-way, with a statement whose parameters are the patient's
    words."""
    with db.session() as session:
        if db.dialect == "sqlite":
            session.execute(
                text(
                    "CREATE TRIGGER refuse_conversation BEFORE INSERT ON conversation "
                    "BEGIN SELECT RAISE(ABORT, 'conversation store is down'); END"
                )
            )
        else:
            session.execute(
                text(
                    "CREATE FUNCTION refuse_conversation() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'conversation store is down'; END $$"
                )
            )
            session.execute(
                text(
                    "CREATE TRIGGER refuse_conversation BEFORE INSERT ON conversation "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_conversation()"
                )
            )
    try:
        yield
    finally:
        with db.session() as session:
            if db.dialect == "sqlite":
                session.execute(text("DROP TRIGGER IF EXISTS refuse_conversation"))
            else:
                session.execute(text("DROP TRIGGER IF EXISTS refuse_conversation ON conversation"))
                session.execute(text("DROP FUNCTION IF EXISTS refuse_conversation()"))
