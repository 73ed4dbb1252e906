"""Milestones before the treatment (kind = "before"): the built-in day-before reminder says
when the appointment is and nothing else, and a clinic's file gets precise errors when one
is written wrongly."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from messages import gsm7
from messages.durations import Duration
from messages.first_sms import with_opt_out_line
from messages.protocol import CHANNELS, DAY_BEFORE, SMS_CHAR_BUDGET, WORST_CASE_VALUES
from messages.protocol_files import ProtocolError, load_protocol, parse_protocol
from messages.render import RenderContext, render_text

PROTOCOL = load_protocol()
BUILTIN = (Path(__file__).parents[2] / "messages" / "protocols" / "microneedling.toml").read_text()
MADRID = ZoneInfo("Europe/Madrid")
MAKEUP_ENTRY = "# " + "-" * 75 + '\n[[milestones]]\nkey = "makeup"'
# Words that start the aftercare's topics (en and es): the day-before text names none.
ADVICE_STEMS = (
    "makeup",
    "maquill",
    "spf",
    "sun",
    "sol",
    "retinol",
    "acid",
    "cleanser",
    "limpiador",
    "sweat",
    "sudor",
    "workout",
    "ejercicio",
    "swim",
    "piscina",
    "skin",
    "piel",
    "touch",
    "toques",
    "redness",
    "rojez",
    "swell",
    "hinchaz",
    "pain",
    "dolor",
    "fever",
    "fiebre",
    "pus",
    "emergenc",
    "ahogo",
    "breath",
    "moistur",
    "hidrat",
    "scrub",
    "exfolia",
)


def words(text: str) -> set[str]:
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return set(re.findall(r"[a-z]+", plain))


def advice_words(text: str) -> set[str]:
    return {w for w in words(text) if w.startswith(ADVICE_STEMS)}


def every_text(key: str) -> list[str]:
    milestone = PROTOCOL.milestone(key)
    texts = list(milestone.title.values())
    for locale, text in milestone.text.items():
        texts += [text.sms, text.telegram]
        for part in (milestone.catch_up, milestone.still_off):
            if part is not None:
                texts += [part[locale].sms, part[locale].telegram]
    return texts


def tomorrow_context(locale: str) -> RenderContext:
    context = RenderContext("Mónica", "Clínica Sol", "+34911222333", locale, emergency_number="112")
    return context.with_appointment(
        datetime(2026, 3, 5, 9, 30, tzinfo=MADRID),
        MADRID,
        datetime(2026, 3, 4, 9, 30, tzinfo=MADRID),
    )


class TestTheBuiltInDayBeforeReminder:
    def test_is_a_milestone_a_day_before_outside_the_aftercare_plan(self) -> None:
        day_before = PROTOCOL.milestone(DAY_BEFORE)
        assert day_before.kind == "before" and str(day_before.offset) == "-1d"
        assert [m.key for m in PROTOCOL.before] == [DAY_BEFORE]
        assert DAY_BEFORE not in {m.key for m in PROTOCOL.timed}
        assert DAY_BEFORE not in {m.key for m in PROTOCOL.advice}
        assert DAY_BEFORE not in PROTOCOL.checkins

    @pytest.mark.parametrize("locale", PROTOCOL.locales)
    def test_says_when_the_appointment_is_in_one_line_with_the_clinics_phone(
        self, locale: str
    ) -> None:
        tomorrow = {"en": "tomorrow at 9:30 am", "es": "mañana a las 09:30"}[locale]
        for channel in CHANNELS:
            text = render_text(PROTOCOL, DAY_BEFORE, channel, tomorrow_context(locale))
            assert "\n" not in text
            assert tomorrow in text and "+34911222333" in text, text

    def test_gives_no_aftercare_advice(self) -> None:
        mentioned = set().union(*(advice_words(t) for t in every_text(DAY_BEFORE)))
        assert mentioned == set()

    def test_the_advice_vocabulary_checked_is_the_protocols_own(self) -> None:
        # Each stem above names something the aftercare texts do say, so the check above
        # would catch advice slipping into the reminder.
        said = set().union(
            *(
                words(t)
                for m in PROTOCOL.milestones
                if m.kind != "before"
                for t in every_text(m.key)
            )
        )
        unused = [s for s in ADVICE_STEMS if not any(w.startswith(s) for w in said)]
        assert unused == []

    @pytest.mark.parametrize("locale", PROTOCOL.locales)
    def test_sms_fits_two_gsm7_segments_with_the_longest_values_and_opt_out_line(
        self, locale: str
    ) -> None:
        context = RenderContext(**WORST_CASE_VALUES, locale=locale)
        text = with_opt_out_line(render_text(PROTOCOL, DAY_BEFORE, "sms", context), locale)
        cost = gsm7.cost(text)
        assert cost.encoding == "GSM-7" and cost.segments <= 2 and len(text) <= SMS_CHAR_BUDGET

    def test_cannot_be_rendered_without_the_appointment_time(self) -> None:
        context = RenderContext("Ana", "Glow", "+15551234567", "en", emergency_number="911")
        with pytest.raises(ValueError, match="needs the appointment time"):
            render_text(PROTOCOL, DAY_BEFORE, "sms", context)


def test_a_negative_duration_reads_as_before() -> None:
    assert Duration.parse("-1d") == Duration(-1, "days")
    assert Duration.parse(" - 90m ").nominal.total_seconds() == -90 * 60
    assert str(Duration.parse("-2h")) == "-2h"


class TestAClinicsBeforeMilestones:
    def errors(self, text: str) -> list[str]:
        with pytest.raises(ProtocolError) as caught:
            parse_protocol(text, "clinic.toml")
        return caught.value.problems

    def changed(self, old: str, new: str) -> str:
        assert old in BUILTIN
        return BUILTIN.replace(old, new, 1)

    def test_a_negative_offset_on_an_aftercare_step_is_refused(self) -> None:
        problems = self.errors(self.changed('offset = "24h"', 'offset = "-24h"'))
        assert any(
            p.startswith("milestones[2] (makeup):")
            and "-24h" in p
            and 'only a milestone with kind = "before"' in p
            for p in problems
        ), problems

    def test_a_before_milestone_needs_a_negative_offset(self) -> None:
        problems = self.errors(self.changed('offset = "-1d"', 'offset = "1d"'))
        assert any(
            p.startswith("milestones[1] (day_before):") and "needs a negative offset" in p
            for p in problems
        ), problems

    def test_a_before_milestone_has_no_catch_up_lines(self) -> None:
        text = self.changed(
            'kind = "before"\noffset = "-1d"\nwindow = "12h"\n',
            'kind = "before"\noffset = "-1d"\nwindow = "12h"\n'
            'catch_up = { en = { sms = "x", telegram = "x" }, '
            'es = { sms = "x", telegram = "x" } }\n',
        )
        problems = self.errors(text)
        assert any(
            p.startswith("milestones[1] (day_before):") and "catch_up: not for a milestone" in p
            for p in problems
        ), problems

    def test_the_welcome_cannot_come_before_the_treatment(self) -> None:
        text = self.changed(
            'key = "welcome"\noffset = "0h"', 'key = "welcome"\nkind = "before"\noffset = "-1h"'
        )
        problems = self.errors(text)
        assert any("the welcome cannot come before the treatment" in p for p in problems), problems

    def test_only_a_before_milestone_may_name_the_appointment_time(self) -> None:
        problems = self.errors(
            self.changed("makeup is OK again", "makeup is OK {appointment_time}")
        )
        assert any(
            p.startswith("milestones[2] (makeup):") and "{appointment_time} belongs" in p
            for p in problems
        ), problems

    def test_before_milestones_come_in_time_order(self) -> None:
        second = BUILTIN.split('[[milestones]]\nkey = "day_before"')[1].split("# ----")[0]
        extra = '[[milestones]]\nkey = "two_days_before"' + second.replace('"-1d"', '"-2d"')
        problems = self.errors(BUILTIN.replace(MAKEUP_ENTRY, extra + MAKEUP_ENTRY, 1))
        assert "milestones[2] (two_days_before).offset: must come after day_before" in problems

    def test_a_window_must_be_positive_and_the_welcome_delay_not_negative(self) -> None:
        problems = self.errors(
            self.changed(
                'window = "12h"\n\n[milestones.title]\nen = "Your appointment',
                'window = "-12h"\n\n[milestones.title]\nen = "Your appointment',
            )
        )
        assert any("(day_before)" in p and "window must be longer than zero" in p for p in problems)
        problems = self.errors(self.changed("version = 2", 'version = 2\nwelcome_delay = "-1h"'))
        assert any(p.startswith("welcome_delay:") and "must not be negative" in p for p in problems)

    def test_a_protocol_needs_a_step_after_the_treatment(self) -> None:
        head = BUILTIN.split(MAKEUP_ENTRY)[0]
        problems = self.errors(head)
        assert "milestones: at least one milestone after the welcome is needed" in problems


def test_a_copy_with_other_milestones_lists_its_own_plan() -> None:
    assert DAY_BEFORE in {m.key for m in PROTOCOL.before}  # worked out (and kept) once
    without = PROTOCOL.model_copy(
        update={"milestones": [m for m in PROTOCOL.milestones if m.kind == "advice"]}
    )
    assert without.before == [] and without.checkins == []
    assert [m.key for m in without.timed] == [m.key for m in PROTOCOL.advice]
