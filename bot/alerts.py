"""Telling a clinic's staff that a patient needs a call back.

The alert carries ids only: no patient text, name or phone. Staff open the escalation in
their tools to see who it is; a staff chat or phone that leaks does not leak health data.
When the service has a public address, the alert links to the escalation's dashboard
page (an id in a URL that only signed-in staff of the clinic can open).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from scheduler.ports import Channel, OutboundMessage, SendStatus

log = logging.getLogger(__name__)

_LABELS = {"red_flag": "red flag", "emergency": "EMERGENCY, told to call the emergency number"}


@dataclass(frozen=True)
class StaffAlert:
    escalation_id: int
    category: str  # red_flag | emergency
    patient_id: int
    clinic_id: int
    clinic_slug: str
    staff_telegram_chat_id: int | None = None
    staff_sms_number: str | None = None


def escalation_url(base_url: str, escalation_id: int) -> str:
    return f"{base_url.rstrip('/')}/app/escalations/{escalation_id}"


def alert_text(alert: StaffAlert, base_url: str | None = None) -> str:
    label = _LABELS.get(alert.category, alert.category)
    urgency = "now" if alert.category == "emergency" else "as soon as you can"
    text = (
        f"Escalation {alert.escalation_id} ({label}) for patient {alert.patient_id} "
        f"of clinic {alert.clinic_slug}: please call them back {urgency}."
    )
    if base_url:
        text += f" {escalation_url(base_url, alert.escalation_id)}"
    return text


class StaffAlerter:
    """Sends alerts over the running channels, looked up when an alert is sent (the mapping
    is filled once the provider adapters exist). A clinic with no staff chat or number gets
    a log line instead, so the alert is never silently dropped."""

    def __init__(self, channels: Mapping[str, Channel], base_url: str | None = None) -> None:
        """`base_url`: the service's public address (PUBLIC_BASE_URL), for the link to the
        escalation's page; without it the alert has no link."""
        self._channels = channels
        self._base_url = base_url

    async def alert(self, alert: StaffAlert) -> bool:
        """True if at least one staff channel took the alert, or the log stood in for one."""
        text = alert_text(alert, self._base_url)
        targets = [
            (name, address)
            for name, address in (
                ("telegram", alert.staff_telegram_chat_id),
                ("sms", alert.staff_sms_number),
            )
            if address is not None and str(address).strip()
        ]
        if not targets:
            log.warning("staff alert (clinic %s has no staff channel): %s", alert.clinic_id, text)
            return True
        delivered = False
        for name, address in targets:
            channel = self._channels.get(name)
            if channel is None:
                log.warning(
                    "escalation %s: no %s channel running for clinic %s's staff alert",
                    alert.escalation_id,
                    name,
                    alert.clinic_id,
                )
                continue
            result = await channel.send(
                OutboundMessage(channel=name, address=str(address), text=text)
            )
            if result.status == SendStatus.SENT:
                delivered = True
                log.info(
                    "escalation %s: clinic %s alerted by %s",
                    alert.escalation_id,
                    alert.clinic_id,
                    name,
                )
            else:
                log.warning(
                    "escalation %s: %s alert to clinic %s failed (%s)",
                    alert.escalation_id,
                    name,
                    alert.clinic_id,
                    result.error_code or result.status,
                )
        if not delivered:
            log.error("staff alert could not be delivered: %s", text)
        return delivered
