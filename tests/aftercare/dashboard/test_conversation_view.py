"""A patient's conversation as staff read it: one list, oldest first, in the clinic's zone,
reminders written out again, Telegram's HTML as plain text, and every state in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aftercare.dashboard.conversation_view import Renderer, bubbles, plain
from messages.protocol_files import load_protocol
from messages.render import RenderContext
from storage.patient_messages import PatientMessages, PatientWrote, SentToPatient

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York
NEW_YORK = ZoneInfo("America/New_York")
PROTOCOL = load_protocol(None)
RENDERER = Renderer(
    {PROTOCOL.name: PROTOCOL},
    PROTOCOL,
    RenderContext("Ana", "Glow Skin Clinic", "+12125550100", "en", emergency_number="911"),
    "America/New_York",
)


def sent(milestone: str, at: datetime, channel: str = "sms", **values: object) -> SentToPatient:
    fields: dict[str, object] = {
        "reminder_id": 1,
        "milestone": milestone,
        "channel": channel,
        "status": "sent",
        "at": at,
        "delivery_status": None,
        "attempts": 1,
        "last_error": None,
        "body": None,
        "staff_email": None,
        "escalation_id": None,
        "performed_at": T0 - timedelta(hours=1),
        "registered_at": T0 - timedelta(hours=1),
        "protocol": PROTOCOL.name,
    }
    fields.update(values)
    return SentToPatient(**fields)  # type: ignore[arg-type]


def test_everything_said_comes_in_order_with_times_in_the_clinics_zone() -> None:
    messages = PatientMessages(
        wrote=[
            PatientWrote(
                7, T0 + timedelta(minutes=5), "telegram", "it's <hot>", "<b>Call</b> us", True
            )
        ],
        sent=[
            sent("welcome", T0, "telegram", delivery_status="delivered"),
            sent(
                "staff_reply",
                T0 + timedelta(minutes=9),
                "sms",
                status="failed",
                body="Call us.",
                staff_email="nurse@glow.example",
                last_error="patient opted out of SMS",
            ),
        ],
    )

    shown = bubbles(messages, RENDERER, NEW_YORK, current_conversation=7)

    assert [(b.kind, b.when, b.state_label) for b in shown] == [
        ("reminder", "2 Mar 2026, 10:00", "Delivered"),
        ("patient", "2 Mar 2026, 10:05", ""),
        ("automatic", "2 Mar 2026, 10:05", "Sent"),
        ("staff", "2 Mar 2026, 10:09", "Failed"),
    ]
    welcome, wrote, answer, reply = shown
    assert welcome.who.startswith("Reminder: ") and welcome.text and "Ana" in welcome.text
    assert "<" not in welcome.text  # Telegram's HTML, read as plain text
    assert (wrote.text, wrote.current, answer.text) == ("it's <hot>", True, "Call us")
    assert (reply.who, reply.text, reply.note) == (
        "Reply by nurse@glow.example",
        "Call us.",
        "patient opted out of SMS",
    )


def test_a_text_that_cannot_be_shown_says_so() -> None:
    messages = PatientMessages(
        wrote=[PatientWrote(1, T0, "sms", None, None, False)],
        sent=[sent("invite", T0), sent("gone_from_the_protocol", T0)],
    )

    shown = bubbles(messages, RENDERER, NEW_YORK)

    assert [(b.who, b.text, b.gone) for b in shown] == [
        ("Patient", None, "The text is no longer kept."),
        ("Reminder: Telegram invite", None, "The text of this message is not shown here."),
        ("Reminder: gone_from_the_protocol", None, "The text of this message is not shown here."),
    ]


def test_telegram_html_becomes_plain_text() -> None:
    assert plain("<b>Makeup</b> &amp; <i>SPF</i> &lt;30") == "Makeup & SPF <30"
