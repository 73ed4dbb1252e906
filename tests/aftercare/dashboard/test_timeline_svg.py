"""The recovery timeline picture: markers placed by time, state by colour and by word,
a "now" marker, an accessible name and description, and everything escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aftercare.dashboard.svg import STATE_COLOURS
from aftercare.dashboard.timeline_svg import STATES, Milestone, timeline_html, timeline_svg

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York
NEW_YORK = ZoneInfo("America/New_York")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def milestones_of(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if "milestone" in g.get("class", "")]


def texts(group: ET.Element) -> list[str]:
    return [t.text or "" for t in group.findall(f"{SVG}text")]


def percent(value: str | None) -> float:
    assert value is not None and value.endswith("%")
    return float(value[:-1])


def test_it_is_an_image_named_by_its_title_and_description() -> None:
    root = parse(timeline_svg(T0, T0, [Milestone("Welcome", T0, "sent")], element_id="tl-7"))

    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "tl-7-title tl-7-desc"
    assert root.find(f"{SVG}title[@id='tl-7-title']") is not None
    assert root.find(f"{SVG}desc[@id='tl-7-desc']") is not None
    assert root.findtext(f"{SVG}title") == "Recovery timeline"


def test_each_milestone_is_placed_by_its_due_time_between_treatment_and_day_14() -> None:
    milestones = [
        Milestone("Sunscreen", T0 + timedelta(days=14), "planned"),
        Milestone("Welcome", T0, "delivered"),
        Milestone("Check-in", T0 + timedelta(days=7), "planned"),
    ]
    root = parse(timeline_svg(T0, T0, milestones))

    placed = {
        texts(g)[0]: percent(g.find(f"{SVG}circle").get("cx"))  # type: ignore[union-attr]
        for g in milestones_of(root)
    }
    assert placed == {"Welcome": 3.0, "Check-in": 50.0, "Sunscreen": 97.0}


def test_times_outside_the_line_are_held_at_its_ends() -> None:
    milestones = [
        Milestone("Early", T0 - timedelta(days=1), "expired"),
        Milestone("Late", T0 + timedelta(days=30), "planned"),
    ]
    root = parse(timeline_svg(T0, T0 + timedelta(days=40), milestones))

    xs = [percent(g.find(f"{SVG}circle").get("cx")) for g in milestones_of(root)]  # type: ignore[union-attr]
    assert xs == [3.0, 97.0]
    now_line = root.find(f"{SVG}g[@class='timeline-now']/{SVG}line")
    assert now_line is not None and percent(now_line.get("x1")) == 97.0


@pytest.mark.parametrize("state", STATES)
def test_a_state_is_shown_by_its_colour_and_in_words(state: str) -> None:
    root = parse(timeline_svg(T0, T0, [Milestone("Makeup", T0 + timedelta(days=1), state)]))  # type: ignore[arg-type]

    (group,) = milestones_of(root)
    circle = group.find(f"{SVG}circle")
    assert circle is not None
    assert STATE_COLOURS[state] in (circle.get("fill"), circle.get("stroke"))
    words = {"in_doubt": "In doubt"}.get(state, state.capitalize())
    assert texts(group) == ["Makeup", words]
    assert group.get("class") == f"milestone state-{state}"


def test_the_states_have_distinct_colours() -> None:
    assert len(set(STATE_COLOURS.values())) == len(STATES)


def test_the_now_marker_stands_where_the_patient_is() -> None:
    now = T0 + timedelta(days=3, hours=12)
    root = parse(timeline_svg(T0, now, [], zone=NEW_YORK))

    group = root.find(f"{SVG}g[@class='timeline-now']")
    assert group is not None
    line = group.find(f"{SVG}line")
    assert line is not None
    assert percent(line.get("x1")) == pytest.approx(3 + 94 * 3.5 / 14, abs=0.001)
    assert texts(group) == ["Now"]
    assert group.findtext(f"{SVG}title") == "Now: Thu 5 Mar 22:00"


def test_a_session_booked_ahead_has_no_now_marker_on_its_line_but_says_when_now_is() -> None:
    now = T0 - timedelta(days=3)
    root = parse(timeline_svg(T0, now, [Milestone("Welcome", T0, "planned")], zone=NEW_YORK))

    assert root.find(f"{SVG}g[@class='timeline-now']") is None
    assert (root.findtext(f"{SVG}desc") or "").endswith("Now: Fri 27 Feb 10:00.")


def test_the_description_names_every_milestone_with_its_local_due_time() -> None:
    milestones = [
        Milestone("Makeup", T0 + timedelta(days=1), "sent"),
        Milestone("Welcome", T0, "delivered"),
    ]
    root = parse(timeline_svg(T0, T0 + timedelta(hours=30), milestones, zone=NEW_YORK))

    assert root.findtext(f"{SVG}desc") == (
        "Treatment on Mon 2 Mar 10:00; 2 milestones up to day 14. "
        "Welcome: Delivered, due Mon 2 Mar 10:00. "
        "Makeup: Sent, due Tue 3 Mar 10:00. "
        "Now: Tue 3 Mar 16:00."
    )
    titles = [g.findtext(f"{SVG}title") for g in milestones_of(root)]
    assert titles == [
        "Welcome: Delivered, due Mon 2 Mar 10:00",
        "Makeup: Sent, due Tue 3 Mar 10:00",
    ]


def test_labels_and_ids_are_escaped() -> None:
    label = '<script>alert("x")</script> & Co'
    svg = timeline_svg(T0, T0, [Milestone(label, T0, "sent")], element_id='a"b<c')

    assert "<script>" not in svg
    root = parse(svg)  # well-formed: nothing broke out of its text or attribute
    (group,) = milestones_of(root)
    assert texts(group)[0] == label
    assert root.get("aria-labelledby") == 'a"b<c-title a"b<c-desc'


def test_labels_that_would_collide_go_to_separate_rows() -> None:
    near = [
        Milestone("Welcome", T0, "delivered"),
        Milestone("Makeup", T0 + timedelta(hours=24), "sent"),
    ]
    far = [
        Milestone("Welcome", T0, "delivered"),
        Milestone("Sunscreen", T0 + timedelta(days=14), "planned"),
    ]

    def label_heights(milestones: list[Milestone], width: int) -> list[str | None]:
        root = parse(timeline_svg(T0, T0, milestones, layout_px=width))
        return [g.find(f"{SVG}text").get("y") for g in milestones_of(root)]  # type: ignore[union-attr]

    assert len(set(label_heights(near, 290))) == 2
    assert len(set(label_heights(far, 290))) == 1
    assert len(set(label_heights(near, 2000))) == 1  # on a very wide screen they fit side by side


def test_a_picture_with_more_rows_is_taller() -> None:
    one_row = parse(timeline_svg(T0, T0, [Milestone("Welcome", T0, "sent")]))
    crowded = [Milestone(f"Tip {i}", T0 + timedelta(hours=i), "planned") for i in range(4)]
    four_rows = parse(timeline_svg(T0, T0, crowded))

    assert int(four_rows.get("height", "0")) > int(one_row.get("height", "0"))


def test_a_lead_starts_the_line_days_before_the_treatment() -> None:
    """A reminder the day before sits on the line at day -1, not held at the treatment."""
    milestones = [
        Milestone("Day before", T0 - timedelta(days=1), "sent"),
        Milestone("Welcome", T0, "planned"),
        Milestone("Sunscreen", T0 + timedelta(days=14), "planned"),
    ]
    root = parse(timeline_svg(T0, T0 - timedelta(hours=12), milestones, lead_days=1))

    ticks = [t.text for t in root.findall(f"{SVG}text")][:16]
    assert ticks == [str(day) for day in range(-1, 15)]
    xs = [percent(g.find(f"{SVG}circle").get("cx")) for g in milestones_of(root)]  # type: ignore[union-attr]
    assert xs == pytest.approx([3.0, 3 + 94 / 15, 97.0], abs=0.001)  # printed to 3 places
    now_line = root.find(f"{SVG}g[@class='timeline-now']/{SVG}line")  # between the two
    assert now_line is not None
    assert percent(now_line.get("x1")) == pytest.approx(3 + 94 * 0.5 / 15, abs=0.001)
    with pytest.raises(ValueError, match="lead"):
        timeline_svg(T0, T0, [], lead_days=-1)


def test_day_ticks_run_from_treatment_to_the_horizon() -> None:
    root = parse(timeline_svg(T0, T0, []))
    ticks = [t.text for t in root.findall(f"{SVG}text")]
    assert ticks[:15] == [str(day) for day in range(15)]

    long = parse(timeline_svg(T0, T0, [], horizon=timedelta(days=56)))
    assert [t.text for t in long.findall(f"{SVG}text")][:9] == [
        "0",
        "7",
        "14",
        "21",
        "28",
        "35",
        "42",
        "49",
        "56",
    ]


def test_bad_input_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="unknown milestone state 'lost'"):
        timeline_svg(T0, T0, [Milestone("Welcome", T0, "lost")])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="horizon"):
        timeline_svg(T0, T0, [], horizon=timedelta(0))


def test_the_page_version_holds_a_phone_and_a_wide_layout_with_their_own_ids() -> None:
    html = timeline_html(T0, T0, [Milestone("Welcome", T0, "sent")], element_id="tl")
    root = ET.fromstring(f"<div>{html}</div>")

    narrow, wide = root.findall("div")
    assert narrow.get("class") == "svg-narrow" and wide.get("class") == "svg-wide"
    assert narrow[0].get("aria-labelledby") == "tl-narrow-title tl-narrow-desc"
    assert wide[0].get("aria-labelledby") == "tl-wide-title tl-wide-desc"
