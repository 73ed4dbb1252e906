"""Every piece of text the dashboard shows, in one place, so a translation can follow.

Templates call `t("key")` (or `t("key", name=value)` for text with placeholders); Python
code calls `text(...)`. An unknown key is an error, never a silent blank.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Final

EN: Final[Mapping[str, str]] = {
    "app.name": "Aftercare",
    "app.tagline": "Clinic dashboard",
    "skip_to_content": "Skip to main content",
    # navigation
    "nav.label": "Main",
    "nav.inbox": "Inbox",
    "nav.inbox_count": "{count} open",
    "nav.patients": "Patients",
    "nav.import": "Import",
    "nav.stats": "Stats",
    "nav.audit": "Audit",
    "nav.signed_in_as": "Signed in as {email}",
    "nav.sign_out": "Sign out",
    # sign-in
    "login.title": "Sign in",
    "login.intro": "Staff sign-in for {clinic}.",
    "login.intro_generic": "Staff sign-in for your clinic.",
    "login.email": "Email",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.failed": "Email or password is not right. Please try again.",
    "login.throttled": "Too many attempts. Please wait a few minutes and try again.",
    "login.signed_out": "You are signed out.",
    "login.expired": "Your session ended. Please sign in again.",
    "login.help": "Forgot your password? Ask your clinic's dashboard admin to reset it.",
    # reminder and delivery states (always shown as words, never by colour alone)
    "state.planned": "Planned",
    "state.sent": "Sent",
    "state.delivered": "Delivered",
    "state.failed": "Failed",
    "state.expired": "Expired",
    "state.in_doubt": "In doubt",
    "state.cancelled": "Cancelled",
    # the timeline picture
    "timeline.title": "Recovery timeline",
    "timeline.description": "Treatment on {treated}; {count} milestones up to day {days}.",
    "timeline.now": "Now",
    "timeline.now_at": "Now: {when}.",
    "timeline.day": "Day {day}",
    "timeline.milestone": "{label}: {state}, due {due}",
    # charts
    "chart.bar": "{category}, {series}: {value}",
    # SMS counter (app.js reads these from data attributes)
    "sms.counter": "{units} / {limit} characters · {segments} SMS · {encoding}",
    "sms.too_long": "Too long for {max} SMS. Please shorten it.",
    "sms.ucs2": "{chars}: these characters make each SMS shorter.",
    # common
    "common.confirm": "Are you sure?",
    "common.cancel": "Cancel",
    "common.save": "Save",
    "common.search": "Search",
    "common.previous": "Previous",
    "common.next": "Next",
    "common.none": "Nothing here yet.",
}

LANGUAGES: Final[Mapping[str, Mapping[str, str]]] = {"en": EN}


def text(key: str, language: str = "en", /, **values: object) -> str:
    """The UI text for `key`, with `{placeholders}` filled from `values`."""
    template = LANGUAGES.get(language, EN).get(key)
    if template is None:
        template = EN[key]  # KeyError names the missing key
    return template.format(**values) if values else template


def placeholders(key: str) -> set[str]:
    """The names a text expects (for tests that keep translations complete)."""
    return {name for _, name, _, _ in string.Formatter().parse(EN[key]) if name}
