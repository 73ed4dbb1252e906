"""The staff alert: ids only, and a link to the escalation's page when the service has a
public address."""

from __future__ import annotations

from bot.alerts import StaffAlert, StaffAlerter, alert_text
from bot.memory import MemoryChannel
from scheduler.ports import Channel

ALERT = StaffAlert(
    escalation_id=12,
    category="red_flag",
    patient_id=34,
    clinic_id=1,
    clinic_slug="glow",
    staff_telegram_chat_id=-100123,
    staff_sms_number="+15550009999",
)


def test_without_a_public_address_the_alert_names_ids_only() -> None:
    assert alert_text(ALERT) == (
        "Escalation 12 (red flag) for patient 34 of clinic glow: "
        "please call them back as soon as you can."
    )


async def test_with_a_public_address_every_staff_channel_gets_the_link() -> None:
    telegram, sms = MemoryChannel("telegram"), MemoryChannel("sms")
    channels: dict[str, Channel] = {"telegram": telegram, "sms": sms}
    alerter = StaffAlerter(channels, "https://care.example.org/")

    assert await alerter.alert(ALERT)

    expected = (
        "Escalation 12 (red flag) for patient 34 of clinic glow: please call them back as "
        "soon as you can. https://care.example.org/app/escalations/12"
    )
    assert [d.message.text for d in telegram.sent + sms.sent] == [expected, expected]
