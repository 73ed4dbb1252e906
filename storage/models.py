"""Typed models. All instants are stored as UTC and come back timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.values import OPEN_STATUSES as OPEN_STATUSES
from storage.values import ReminderStatus as ReminderStatus


class UTCDateTime(TypeDecorator[datetime]):
    """Naive UTC in the column (same on SQLite and PostgreSQL); aware UTC in Python."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is UTC:  # the common case, and the hot path of bulk inserts
            return value.replace(tzinfo=None)
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        # One step instead of two processors: bulk enrollment binds millions of instants.
        # The text is SQLAlchemy's own SQLite DATETIME format, so comparisons stay ordered.
        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is not UTC:
                if value.tzinfo is None:
                    raise ValueError("naive datetime given to a UTC column")
                value = value.astimezone(UTC)
            return value.isoformat(" ", "microseconds")[:-6]  # drop "+00:00"

        return to_text

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL on SQLite
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


class Clinic(Base):
    __tablename__ = "clinic"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2), default="US")
    language: Mapped[str] = mapped_column(String(8), default="en")
    date_format: Mapped[str | None] = mapped_column(String(32))
    api_key_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    staff_telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_sms_number: Mapped[str | None] = mapped_column(String(20))
    # The clinic's own header names, JSON {column: header cell} (migration 0009).
    column_map: Mapped[str | None] = mapped_column(Text)
    # How many days ahead an appointment may be enrolled (None: the built-in 90).
    days_ahead: Mapped[int | None] = mapped_column(Integer)
    # Whether booked patients get the protocol's reminders before the treatment, such as
    # the day-before one (migration 0014; off unless the clinic turns it on).
    day_before_reminder: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    created_at: Mapped[datetime] = mapped_column(default=_utcnow)


class ClinicProtocol(Base):
    """One upload of a clinic's protocol (migration 0013): the clinic's default when
    `service` is None, else the protocol of that booking service. A row without `source`
    records a reset (the built-in again; for a service, its mapping removed). Append-only
    (a trigger refuses UPDATE and DELETE): a treatment planned with a version names it
    ("clinic:<id>") and renders with its texts for good."""

    __tablename__ = "clinic_protocol"
    __table_args__ = (UniqueConstraint("clinic_id", "version", name="uq_clinic_protocol_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per clinic, every scope
    service: Mapped[str | None] = mapped_column(String(200))  # as the clinic typed it
    source: Mapped[str | None] = mapped_column(Text)  # the TOML as uploaded
    file_name: Mapped[str | None] = mapped_column(String(255))  # its name, without folders
    created_at: Mapped[datetime] = mapped_column()


class Patient(Base):
    __tablename__ = "patient"
    __table_args__ = (
        UniqueConstraint("clinic_id", "external_id", name="uq_patient_clinic_external"),
        Index("ix_patient_phone", "phone"),
        Index("ix_patient_telegram_chat", "telegram_chat_id"),
        # The dashboard's patient list: one clinic's patients, newest first (migration 0011).
        # Its name search reads ix_patient_clinic_name (clinic_id, lower(first_name), id),
        # which only the migration declares: it differs by dialect (COLLATE "C" on
        # PostgreSQL), and Alembic cannot compare an index on an expression anyway.
        Index("ix_patient_clinic_newest", "clinic_id", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    external_id: Mapped[str] = mapped_column(String(128))
    first_name: Mapped[str | None] = mapped_column(String(80))
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="en")
    channel: Mapped[str] = mapped_column(String(16), default="sms")  # preferred: sms | telegram
    sms_opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    telegram_unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    erased_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=_utcnow)
    updated_at: Mapped[datetime | None] = mapped_column()


class Treatment(Base):
    __tablename__ = "treatment"
    __table_args__ = (
        # A booking system's appointment id names one session of a patient (migration 0009).
        UniqueConstraint("patient_id", "appointment_id", name="uq_treatment_appointment"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    performed_at: Mapped[datetime] = mapped_column()
    registered_at: Mapped[datetime] = mapped_column()
    protocol: Mapped[str] = mapped_column(String(64), default="microneedling")
    cancelled_at: Mapped[datetime | None] = mapped_column()
    appointment_id: Mapped[str | None] = mapped_column(String(128))
    # The booking's service as the export wrote it (migration 0015); None without one.
    service: Mapped[str | None] = mapped_column(String(200))


class Reminder(Base):
    __tablename__ = "reminder"
    __table_args__ = (
        # One reminder per treatment and milestone; a treatment may have any number of
        # staff replies (storage.values.STAFF_REPLY), so those are left out (migration 0010).
        Index(
            "uq_reminder_treatment_milestone",
            "treatment_id",
            "milestone",
            unique=True,
            sqlite_where=text("milestone <> 'staff_reply'"),
            postgresql_where=text("milestone <> 'staff_reply'"),
        ),
        # Staff replies by escalation (statistics; the retention purge of their texts).
        Index(
            "ix_reminder_staff_reply",
            "escalation_id",
            sqlite_where=text("milestone = 'staff_reply'"),
            postgresql_where=text("milestone = 'staff_reply'"),
        ),
        # By treatment alone (rescheduling, cancelling, /plan): the unique index above is
        # partial, so it serves no such query (migration 0012).
        Index("ix_reminder_treatment", "treatment_id"),
        Index("ix_reminder_queue", "status", "channel", "next_attempt_at"),
        # Partial: most rows have neither a lease nor a provider id, and every bulk insert
        # would otherwise pay for two index entries that no query reads.
        Index(
            "ix_reminder_lease",
            "status",
            "lease_until",
            sqlite_where=text("lease_until IS NOT NULL"),
            postgresql_where=text("lease_until IS NOT NULL"),
        ),
        Index(
            "ix_reminder_provider_id",
            "provider_message_id",
            sqlite_where=text("provider_message_id IS NOT NULL"),
            postgresql_where=text("provider_message_id IS NOT NULL"),
        ),
        Index(
            "ix_reminder_settled",
            "settled_at",
            sqlite_where=text("settled_at IS NOT NULL"),
            postgresql_where=text("settled_at IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    treatment_id: Mapped[int] = mapped_column(ForeignKey("treatment.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    milestone: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    next_attempt_at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default=ReminderStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column()
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(500))
    error_code: Mapped[str | None] = mapped_column(String(16))
    sent_at: Mapped[datetime | None] = mapped_column()
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    delivered_at: Mapped[datetime | None] = mapped_column()
    encoding: Mapped[str | None] = mapped_column(String(8))
    segments: Mapped[int | None] = mapped_column(Integer)
    # When it reached sent, failed, expired or in doubt (for the last day's statistics).
    settled_at: Mapped[datetime | None] = mapped_column()
    # A staff reply (milestone "staff_reply") carries its own text, who wrote it (no
    # foreign key: the record outlives the account) and the escalation it answers.
    body: Mapped[str | None] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(Integer)
    staff_email: Mapped[str | None] = mapped_column(String(254))
    escalation_id: Mapped[int | None] = mapped_column(
        ForeignKey("escalation.id", name="fk_reminder_escalation_id")
    )


class Conversation(Base):
    """One inbound message and what we answered. After RETENTION_DAYS the texts of a
    finished treatment's conversations are purged; the row (topic, escalation) stays."""

    __tablename__ = "conversation"
    __table_args__ = (
        Index("ix_conversation_created", "created_at"),
        Index(
            "ix_conversation_unpurged",
            "created_at",
            sqlite_where=text("inbound_text IS NOT NULL OR reply_text IS NOT NULL"),
            postgresql_where=text("inbound_text IS NOT NULL OR reply_text IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"))
    channel: Mapped[str] = mapped_column(String(16))
    inbound_text: Mapped[str | None] = mapped_column(Text)
    reply_text: Mapped[str | None] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column()


class Escalation(Base):
    """A patient described a warning sign; the clinic was (or is to be) alerted."""

    __tablename__ = "escalation"
    __table_args__ = (
        # The inbox: a clinic's open escalations.
        Index(
            "ix_escalation_open",
            "clinic_id",
            "created_at",
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversation.id"))
    category: Mapped[str] = mapped_column(String(32))  # red_flag | emergency
    created_at: Mapped[datetime] = mapped_column()
    alerted_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    # Who resolved it (no foreign key: the record outlives the account) and their note.
    resolved_by_staff_id: Mapped[int | None] = mapped_column(Integer)
    resolved_by: Mapped[str | None] = mapped_column(String(254))
    resolution_note: Mapped[str | None] = mapped_column(Text)


class AlertWindow(Base):
    """The last staff alert for a patient and category. Every alert decision for the pair
    goes through this one row (an upsert on its key), so two messages arriving together
    cannot both alert the clinic."""

    __tablename__ = "alert_window"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalation.id"))
    alerted_at: Mapped[datetime | None] = mapped_column()  # None: that alert failed


class Invite(Base):
    """A single-use onboarding token; only its hash is stored."""

    __tablename__ = "invite"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()


class LaneLease(Base):
    """Which engine sends on a rate-limited lane (one sender), so the sender's rate holds
    across every engine on the database. Another engine takes over once `lease_until` has
    passed; `next_send_at` is the earliest instant the next holder may send."""

    __tablename__ = "lane_lease"
    lane: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    lease_until: Mapped[datetime] = mapped_column()
    next_send_at: Mapped[datetime | None] = mapped_column()


class CheckinAnswer(Base):
    """A patient's answer (1, 2 or 3) to a symptom check-in, per treatment, for the clinic
    to see. Answer 2 and 3 also have an escalation (low priority, or a red flag)."""

    __tablename__ = "checkin_answer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    treatment_id: Mapped[int] = mapped_column(ForeignKey("treatment.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    reminder_id: Mapped[int] = mapped_column(ForeignKey("reminder.id"))  # the check-in asked
    milestone: Mapped[str] = mapped_column(String(32))
    answer: Mapped[int] = mapped_column(Integer)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id"))
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalation.id"))
    answered_at: Mapped[datetime] = mapped_column()


class SmsFirstContact(Base):
    """Phone numbers that have had an SMS from us, so only the first one a number gets
    carries the opt-out line. Kept by a hash of the number, and kept after erasure."""

    __tablename__ = "sms_first_contact"
    number_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_sent_at: Mapped[datetime] = mapped_column()


class InboundMessage(Base):
    """Provider message ids already processed, so a redelivered webhook is handled once."""

    __tablename__ = "inbound_message"
    __table_args__ = (
        UniqueConstraint("provider", "provider_message_id", name="uq_inbound_provider_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_message_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column()


class TelegramConversation(Base):
    """Where an unfinished Telegram conversation stands (PTB ConversationHandler state), so a
    restart continues it. Rows untouched for a day are abandoned and dropped."""

    __tablename__ = "telegram_conversation"
    handler: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(index=True)


class TelegramDraft(Base):
    """The answers so far of a Telegram user's unfinished conversation (JSON)."""

    __tablename__ = "telegram_draft"
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    draft: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(index=True)


class Staff(Base):
    """A clinic's dashboard account. The email (lower-cased) is the sign-in name, so it is
    unique across clinics; only an Argon2 hash of the password is kept."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | nurse
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column()
    password_changed_at: Mapped[datetime] = mapped_column()
    last_sign_in_at: Mapped[datetime | None] = mapped_column()


class StaffSession(Base):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is kept.
    A session idle for longer than the setting is over; removing the staff member ends
    their sessions with them."""

    __tablename__ = "staff_session"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column(index=True)


class SignInThrottle(Base):
    """Recent failed sign-ins for one key (an account, an address, a known browser)."""

    __tablename__ = "sign_in_throttle"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
    blocked_until: Mapped[datetime | None] = mapped_column()


class SigningKey(Base):
    """Secrets this service signs cookies with, made on first use and shared by every
    process on the database."""

    __tablename__ = "signing_key"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column()


class AuditEvent(Base):
    """Who did what, when, to which record: ids only, never message text. Append-only:
    the repository has no update or delete, and a trigger refuses both. No foreign keys,
    so the trail outlives the staff accounts and patients it names."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_clinic_id", "clinic_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column()
    clinic_id: Mapped[int | None] = mapped_column(Integer)
    staff_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(254))  # the email at the time
    action: Mapped[str] = mapped_column(String(40))
    target_kind: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(64))
