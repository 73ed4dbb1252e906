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
    # admin navigation and the account menu
    "nav.staff": "Staff",
    "nav.settings": "API key",
    "nav.password": "Password",
    # error pages
    "error.home": "Go to the inbox",
    "error.bad_request.title": "Something was wrong with that request",
    "error.bad_request.text": "Please go back and try again.",
    "error.csrf.title": "This form has expired",
    "error.csrf.text": "For your safety the form was not sent. Go back, reload the page "
    "and try again.",
    "error.forbidden.title": "Not for your role",
    "error.forbidden.text": "Only your clinic's dashboard admins can open this page.",
    "error.not_found.title": "Page not found",
    "error.not_found.text": "There is nothing at this address. It may have been removed, "
    "or the link may be incomplete.",
    "error.too_large.title": "That was too large",
    "error.too_large.text": "Please send less at a time.",
    "error.other.title": "Something went wrong",
    "error.other.text": "Please try again in a moment.",
    # home (the inbox fills this in)
    "home.title": "Inbox",
    "home.empty": "No open escalations. When a patient describes a warning sign, it appears here.",
    "home.intro": "Patients who need a call back, most urgent first.",
    "home.list": "Open escalations",
    "home.more": "Showing the {shown} most urgent of {count} open escalations.",
    "inbox.no_name": "No name given",
    "inbox.erased": "Erased patient",
    "inbox.unknown": "Unknown patient",
    "inbox.words_gone": "The message text is no longer kept.",
    # how long ago (the inbox)
    "ago.now": "just now",
    "ago.minutes": "{n} min ago",
    "ago.hours": "{n} h ago",
    "ago.day": "1 day ago",
    "ago.days": "{n} days ago",
    # channels and escalation categories (a category not listed shows as itself)
    "channel.sms": "SMS",
    "channel.telegram": "Telegram",
    "category.emergency": "Emergency",
    "category.red_flag": "Red flag",
    "category.checkin_concern": "Check-in concern",
    # one escalation
    "escalation.title": "Escalation {id}",
    "escalation.back": "Inbox",
    "escalation.open": "Open",
    "escalation.resolved": "Resolved",
    "escalation.details": "Details",
    "escalation.received": "Received",
    "escalation.external_id": "Patient ID",
    "escalation.phone": "Phone",
    "escalation.call": "Call {phone}",
    "escalation.no_phone": "No phone number",
    "escalation.channel": "Channel",
    "escalation.opted_out": "opted out of SMS",
    "escalation.unreachable": "cannot be reached",
    "escalation.paused": "Reminders paused",
    "escalation.patient_page": "Open the patient's page",
    "escalation.others": "This patient's other open escalations",
    "escalation.resolved_by": "Resolved by {who} on {when}.",
    # the conversation
    "conversation.title": "Conversation",
    "conversation.zone": "Times in {zone}.",
    "conversation.empty": "No messages yet.",
    "conversation.patient": "Patient",
    "conversation.automatic": "Automatic answer",
    "conversation.reminder": "Reminder: {title}",
    "conversation.staff_reply": "Reply by {email}",
    "conversation.removed": "The text is no longer kept.",
    "conversation.not_shown": "The text of this message is not shown here.",
    "conversation.invite": "Telegram invite",
    "conversation.this": "This escalation",
    "state.sending": "Sending",
    # replying
    "reply.title": "Reply to the patient",
    "reply.label": "Reply",
    "reply.via_sms": "Goes by SMS to {phone} straight away, also at night. Plain characters "
    "only, at most 2 text messages.",
    "reply.via_telegram": "Goes by Telegram straight away, also at night.",
    "reply.submit": "Send reply",
    "reply.queued": "Your reply is on its way. Its delivery shows in the conversation.",
    "reply.problem.empty": "Please write a reply first.",
    "reply.problem.too_long": "The reply has {length} characters; at most {max} can be sent.",
    "reply.problem.not_gsm7": "A text message cannot carry {chars}. Please use plain "
    "characters (no emoji or curly quotes).",
    "reply.problem.too_many_segments": "This reply needs {segments} text messages; at most "
    "{max} ({limit} characters) can be sent. Please shorten it.",
    "reply.refused.erased": "This patient's record was erased: nothing can be sent to them.",
    "reply.refused.no_channel": "The patient cannot be reached: they opted out of text "
    "messages or their number and Telegram do not work. Please call them.",
    "reply.refused.no_treatment": "This patient has no treatment on record to file the "
    "reply under. Please call them.",
    "reply.refused.channel_changed": "The patient's channel changed just now. Please check "
    "the reply and send it again.",
    # resolving
    "resolve.title": "Resolve",
    "resolve.hint": "When the patient has been called back, or nothing more is needed.",
    "resolve.note": "Note (optional)",
    "resolve.submit": "Resolve escalation",
    "resolve.done": "The escalation is resolved.",
    "resolve.already": "This escalation was already resolved.",
    # choosing a password
    "password.title": "Change your password",
    "password.first_time": "Welcome. Please choose your own password before you go on: "
    "the one you were given works only once.",
    "password.current": "Current password",
    "password.new": "New password",
    "password.repeat": "New password again",
    "password.rule": "At least {min} characters. A few unrelated words make a good one.",
    "password.submit": "Save password",
    "password.mismatch": "The two new passwords are not the same.",
    "password.changed": "Your password is changed. Your other sessions are signed out.",
    # staff
    "staff.title": "Staff",
    "staff.intro": "Who can sign in to {clinic}'s dashboard. Nurses read, reply and "
    "resolve; admins also import patients, manage staff and the API key.",
    "staff.list": "Accounts",
    "staff.email": "Email",
    "staff.role": "Role",
    "staff.last_sign_in": "Last sign-in",
    "staff.never": "Never",
    "staff.you": "You",
    "staff.pending": "Must choose a password",
    "staff.activity": "Recent activity",
    "staff.role.admin": "Admin",
    "staff.role.nurse": "Nurse",
    "staff.add": "Add a staff member",
    "staff.add_hint": "They get a one-time password, shown here once, and choose their "
    "own at the first sign-in.",
    "staff.add_submit": "Add staff member",
    "staff.added": "{email} can now sign in.",
    "staff.one_time": "One-time password for {email}",
    "staff.one_time_hint": "Give it to them in person or by phone. It is shown only "
    "this once; they choose their own password when they sign in.",
    "staff.reset": "Reset password",
    "staff.reset_confirm": "Sign {email} out everywhere and make a new one-time password?",
    "staff.reset_done": "{email} is signed out everywhere.",
    "staff.remove": "Remove",
    "staff.remove_confirm": "Remove {email}? They are signed out at once.",
    "staff.removed": "{email} was removed.",
    # API key
    "api_key.title": "API key",
    "api_key.intro": "Your practice software uses the API key to enroll patients "
    "(see the clinic API). Only a fingerprint of it is stored, so it cannot be shown "
    "again later.",
    "api_key.status_none": "This clinic has no API key yet.",
    "api_key.status_set": "This clinic has an API key.",
    "api_key.rotate": "Make a new API key",
    "api_key.rotate_hint": "The current key stops working at once: put the new one in "
    "your practice software straight away.",
    "api_key.rotate_confirm": "The current API key stops working at once. Make a new one?",
    "api_key.new": "Your new API key",
    "api_key.new_hint": "Copy it now and store it somewhere safe. It is shown only this "
    "once; if it is lost, make a new one.",
    # audit trail
    "audit.title": "Audit trail",
    "audit.intro": "Every sign-in, record opened and change made, newest first. Times in {zone}.",
    "audit.filters": "Filter",
    "audit.who": "Who",
    "audit.anyone": "Anyone",
    "audit.action": "Action",
    "audit.any_action": "Any action",
    "audit.from": "From",
    "audit.to": "To",
    "audit.apply": "Apply",
    "audit.clear": "Clear",
    "audit.export": "Export CSV",
    "audit.when": "When",
    "audit.record": "Record",
    "audit.address": "Address",
    "audit.none": "No entries match.",
    "audit.older": "Older entries",
    "audit.newest": "Newest entries",
    "audit.bad_date": '{field}: "{value}" is not a date (YYYY-MM-DD); it was ignored.',
    "audit.action.signin": "Signed in",
    "audit.action.signin.failed": "Sign-in failed",
    "audit.action.signin.throttled": "Sign-in refused (too many attempts)",
    "audit.action.signout": "Signed out",
    "audit.action.password.change": "Changed own password",
    "audit.action.staff.add": "Added staff member",
    "audit.action.staff.remove": "Removed staff member",
    "audit.action.staff.password": "Reset a password",
    "audit.action.api_key.rotate": "Made a new API key",
    "audit.action.patient.view": "Opened patient",
    "audit.action.patient.update": "Changed patient",
    "audit.action.patient.pause": "Paused a patient's reminders",
    "audit.action.patient.resume": "Resumed a patient's reminders",
    "audit.action.patient.channel": "Changed a patient's channel",
    "audit.action.patient.treatment": "Corrected a treatment time",
    "audit.action.patient.invite": "Made a Telegram invite link",
    "audit.action.patient.erase": "Erased patient",
    "audit.action.escalation.view": "Opened escalation",
    "audit.action.escalation.reply": "Replied to patient",
    "audit.action.escalation.resolve": "Resolved escalation",
    "audit.action.import": "Imported patients",
    "audit.action.audit.export": "Exported the audit trail",
    # CSV import (admins)
    "import.title": "Import patients",
    "import.intro": "Upload a CSV export from your practice software. You see a preview "
    "first: nothing is saved until you press Import.",
    "import.file": "CSV file",
    "import.file_hint": "CSV or text, up to {size_limit} and {max_rows} rows.",
    "import.check": "Check file",
    "import.columns_title": "What the file holds",
    "import.columns_intro": "One row per patient under a header row. Column names may be "
    "written as your software writes them (External ID works too); other columns are "
    "ignored.",
    "import.column.external_id": "Required. Your system's patient ID.",
    "import.column.treatment_at": "Required. Date and time of the treatment, such as "
    "2026-03-01 14:30, in the patient's time zone.",
    "import.column.first_name": "Used to greet the patient.",
    "import.column.phone": "Needed for SMS, such as (212) 555-0142.",
    "import.column.timezone": "Such as America/New_York. Empty: the clinic's.",
    "import.column.language": "en or es. Empty: the clinic's.",
    "import.column.channel": "sms or telegram. Empty: SMS when there is a phone number.",
    "import.column.appointment_id": "Your booking system's appointment ID.",
    "import.column.service": "The booked service. Rows for other services are skipped.",
    "import.column.status": "booked, confirmed, checked in or completed; cancelled, no-show "
    "or missed cancels the reminders.",
    "import.no_file": "Choose a CSV file to upload.",
    "import.too_large": "The file is larger than {limit}. Split it into smaller files.",
    "import.use_form": "Upload the file with the form on this page.",
    "import.malformed": "The upload could not be read. Please choose the file again.",
    "import.busy": "Too many imports are under way. Please try again in a few minutes.",
    "import.gone": "That upload is no longer here (uploads are kept for {minutes} minutes "
    "after their last use). Please upload the file again.",
    "import.file_meta": "{size} · uploaded {when}",
    "import.checking_title": "Checking the file",
    "import.importing_title": "Importing",
    "import.step.checking": "Reading and checking rows",
    "import.step.matching": "Comparing with your patients",
    "import.step.writing": "Saving patients: {done} of {total}",
    "import.progress": "Progress",
    "import.refresh": "Refresh",
    "import.progress_hint": "This page updates by itself. You may leave it: the work carries on.",
    "import.preview_title": "Preview",
    "import.preview_note": "This is a preview. Nothing has been saved yet.",
    "import.count.rows": "Rows with data: {rows}.",
    "import.count.create": "New patients",
    "import.count.update": "Updates",
    "import.count.created": "Added",
    "import.count.updated": "Updated",
    "import.count.unchanged": "Unchanged",
    "import.count.rejected": "Rejected",
    "import.blank_rows": "Blank rows skipped: {count}.",
    "import.skipped_rows": "Rows skipped (another service, or nothing to cancel): {count}.",
    "import.warnings": "Columns",
    "import.rejected_title": "Rejected rows",
    "import.rejected_intro": "These rows will not be imported. Fix them in your file and "
    "upload it again; rows already imported stay as they are.",
    "import.row": "Row",
    "import.column": "Column",
    "import.reason": "Reason",
    "import.whole_row": "Whole row",
    "import.more_errors": "{count} more problems are listed in the check report.",
    "import.sample_title": "First rows as they will be saved",
    "import.sample_intro": "Phone numbers in international format; treatment times in "
    "each patient's time zone.",
    "import.external_id": "External ID",
    "import.treatment": "Treatment",
    "import.timezone": "Time zone",
    "import.first_name": "First name",
    "import.phone": "Phone",
    "import.language": "Language",
    "import.channel": "Channel",
    "import.outcome": "Result",
    "import.status.created": "New",
    "import.status.updated": "Update",
    "import.status.unchanged": "Unchanged",
    "import.apply": "Import",
    "import.apply_hint": "{create} new patients will be added and {update} updated. "
    "Rejected rows are skipped.",
    "import.nothing_to_import": "No row of this file can be imported. Fix the rejected rows "
    "and upload the file again.",
    "import.discard": "Discard this file",
    "import.check_report": "Check report (CSV)",
    "import.done_title": "Import finished",
    "import.done": "{created} patients added, {updated} updated, {unchanged} unchanged, "
    "{rejected} rejected.",
    "import.invites_title": "Telegram invite links",
    "import.invites_intro": "Each link is for one patient and works once. They are shown "
    "only here and in the report.",
    "import.invite": "Invite link",
    "import.more_invites": "{count} more links are in the report.",
    "import.no_invites": "No Telegram invite links were made: the Telegram bot is not set "
    "up. Patients with a phone number get their reminders by SMS.",
    "import.report": "Download the report (CSV)",
    "import.report_hint": "One line per row with its result and invite link. It names your "
    "patients: keep it safe. It can be downloaded for {minutes} minutes.",
    "import.another": "Import another file",
    "import.failed_title": "This file cannot be imported",
    "import.crashed": "The import stopped unexpectedly. Patients saved before it stopped "
    "are kept; importing the same file again adds only what is missing.",
    "import.check_crashed": "The file could not be checked. Nothing was saved. Try again.",
    # delivery statistics
    "stats.title": "Delivery statistics",
    "stats.intro": "What was sent to {clinic}'s patients and what came back. Weeks start on "
    "Monday; times in {zone}.",
    "stats.period": "Period",
    "stats.from": "From",
    "stats.to": "To",
    "stats.by": "Group by",
    "stats.by.week": "Week",
    "stats.by.day": "Day",
    "stats.apply": "Show",
    "stats.preset.week": "Last {n} weeks",
    "stats.preset.day": "Last {n} days",
    "stats.export": "Export CSV",
    "stats.bad_date": '{field}: "{value}" is not a date (YYYY-MM-DD); it was ignored.',
    "stats.too_long.week": "Showing the last {count} weeks: a longer period does not fit.",
    "stats.too_long.day": "Showing the last {count} days: group by week for a longer period.",
    "stats.summary": "In this period",
    "stats.card.enrolled": "Patients enrolled",
    "stats.card.sent": "Reminders sent",
    "stats.card.sms_delivered": "{percent}% of SMS delivered",
    "stats.card.escalations": "Escalations",
    "stats.card.reply": "Median time to first reply",
    "stats.no_replies": "No replies yet",
    "stats.answered_of": "{answered} of {total} escalations answered",
    "stats.charts": "Charts",
    "stats.chart_total": "{total} in this period",
    "stats.chart.enrolled": "Patients enrolled",
    "stats.chart.sms": "SMS reminders",
    "stats.chart.telegram": "Telegram reminders",
    "stats.chart.segments": "SMS segments (billed)",
    "stats.chart.escalations": "Escalations by category",
    "stats.chart.opt_outs": "SMS opt-outs",
    "stats.enrolled": "Enrolled",
    "stats.opt_outs": "Opted out of SMS",
    "stats.sent": "Sent",
    "stats.delivered": "Delivered",
    "stats.failed": "Failed",
    "stats.expired": "Expired",
    "stats.segments": "Segments",
    "stats.answered": "Answered",
    "stats.median_reply": "Median time to first reply",
    "stats.table": "All numbers",
    "stats.measure": "Measure",
    "stats.total": "Total",
    "stats.group.patients": "Patients",
    "stats.group.escalations": "Escalations",
    "stats.notes": "Sent: handed to the SMS or Telegram service. Delivered: the phone "
    "company confirmed it (Telegram does not report delivery). Failed: it could not be "
    "sent, or was reported undelivered. Expired: its moment passed before it could go out. "
    "Segments: SMS parts billed, staff replies included. Opt-outs count in the week the "
    "patient's record last changed.",
    "stats.no_reply_feature": "Staff replies are not recorded in this database yet, so "
    "there is no reply time to show.",
    "stats.duration.under_minute": "under 1 min",
    "stats.duration.minutes": "{m} min",
    "stats.duration.hours": "{h} h {m} min",
    "stats.duration.hours_only": "{h} h",
    "stats.duration.days": "{d} d {h} h",
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
