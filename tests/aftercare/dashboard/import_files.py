"""A messy patient CSV, dated relative to the moment it is made, and what an import of it
should report: shared by the HTTP and the browser tests of /app/import."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")


def _at(moment: datetime) -> str:
    return moment.astimezone(NEW_YORK).isoformat(timespec="minutes")


def messy_csv(now: datetime) -> str:
    """Header with an unknown column; rows 2, 5 and 8 import, the others are refused."""
    return "".join(
        [
            "External ID,Treatment At,First name,Phone,Language,Channel,Notes\r\n",
            f"P-101,{_at(now - timedelta(hours=3))},Ana,(212) 555-0101,en,sms,vip\r\n",
            f"P-102,{_at(now - timedelta(hours=5))},Bob,1.555E+10,en,,\r\n",
            ",,,,,,\r\n",
            f"=1+1,{_at(now - timedelta(days=2))},Cy,+1 212 555 0103,,,\r\n",
            f"P-104,{_at(now + timedelta(days=100))},Dee,(212) 555-0104,en,sms,\r\n",
            "P-105,yesterday,Eve,(212) 555-0105,en,sms,\r\n",
            f"P-106,{_at(now - timedelta(days=1))},Fátima,,es,telegram,\r\n",
            f"P-101,{_at(now - timedelta(hours=3))},Ana,(212) 555-0101,en,sms,vip\r\n",
            f"P-107,{_at(now - timedelta(hours=7))},Gus,(212) 555-0107,en,fax,\r\n",
        ]
    )


VALID_IDS = ["P-101", "=1+1", "P-106"]
REJECTED_ROWS = {  # row -> (column, a few words of the reason)
    3: ("phone", "scientific notation"),
    6: ("treatment_at", "more than 90 days ahead"),
    7: ("treatment_at", "yesterday"),
    9: ("external_id", "duplicate of row 2"),
    10: ("channel", "must be sms or telegram"),
}
