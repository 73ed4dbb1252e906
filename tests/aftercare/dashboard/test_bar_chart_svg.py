"""The weekly bar chart: bars to scale on a round-number axis, labels, titles, escaping."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from aftercare.dashboard.bar_chart_svg import (
    BOTTOM,
    TOP,
    BarSeries,
    bar_chart_html,
    bar_chart_svg,
    compact,
    nice_ceiling,
)
from aftercare.dashboard.svg import STATE_COLOURS

SVG = "{http://www.w3.org/2000/svg}"
WEEKS = ["2 Feb", "9 Feb", "16 Feb"]


def bars(root: ET.Element) -> list[ET.Element]:
    return [rect for rect in root.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]


def test_it_is_an_image_named_by_its_title() -> None:
    root = ET.fromstring(
        bar_chart_svg(
            "Enrolled by week", WEEKS, [BarSeries("Enrolled", [1, 2, 3])], element_id="c1"
        )
    )

    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.findtext(f"{SVG}title") == "Enrolled by week"
    assert root.findtext(f"{SVG}desc") == (
        "2 Feb, Enrolled: 1; 9 Feb, Enrolled: 2; 16 Feb, Enrolled: 3"
    )


def test_each_value_is_a_bar_with_its_number_in_a_title() -> None:
    series = [BarSeries("Sent", [10, 20, 40], "sent"), BarSeries("Failed", [1, 0, 2], "failed")]
    root = ET.fromstring(bar_chart_svg("Reminders", WEEKS, series))

    titles = [rect.findtext(f"{SVG}title") for rect in bars(root)]
    assert titles == [
        "2 Feb, Sent: 10",
        "2 Feb, Failed: 1",
        "9 Feb, Sent: 20",
        "9 Feb, Failed: 0",
        "16 Feb, Sent: 40",
        "16 Feb, Failed: 2",
    ]
    fills = {rect.get("fill") for rect in bars(root)}
    assert fills == {STATE_COLOURS["sent"], STATE_COLOURS["failed"]}


def test_bar_heights_are_to_scale_on_a_round_axis() -> None:
    height = 240
    root = ET.fromstring(
        bar_chart_svg("Sent", WEEKS, [BarSeries("Sent", [45, 90, 180])], height=height)
    )

    plot = height - TOP - BOTTOM  # the axis runs to 200
    heights = [float(rect.get("height", "nan")) for rect in bars(root)]
    assert heights == pytest.approx([plot * 45 / 200, plot * 90 / 200, plot * 180 / 200], abs=0.1)
    axis_labels = [t.text for t in root.findall(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert axis_labels == ["0", "50", "100", "150", "200"]


def test_category_labels_are_shown_and_thinned_when_crowded() -> None:
    few = ET.fromstring(bar_chart_svg("Sent", WEEKS, [BarSeries("Sent", [1, 2, 3])]))
    middle = [t.text for t in few.findall(f"{SVG}text") if t.get("text-anchor") == "middle"]
    assert middle == WEEKS

    weeks = [f"W{i:02d} of 2026" for i in range(26)]
    many = BarSeries("Sent", [5.0] * 26)
    narrow = ET.fromstring(bar_chart_svg("Sent", weeks, [many], layout_px=290))
    wide = ET.fromstring(bar_chart_svg("Sent", weeks, [many], layout_px=4000))

    def shown(root: ET.Element) -> list[str | None]:
        return [t.text for t in root.findall(f"{SVG}text") if t.get("text-anchor") == "middle"]

    every = next(k for k in range(2, 27) if shown(narrow) == weeks[::k])  # every k-th week
    assert 2 <= every < 26
    assert shown(wide) == weeks


def test_a_legend_appears_only_for_several_series() -> None:
    one = ET.fromstring(bar_chart_svg("Sent", WEEKS, [BarSeries("Sent", [1, 2, 3])]))
    two = ET.fromstring(
        bar_chart_svg("Sent", WEEKS, [BarSeries("Sent", [1, 2, 3]), BarSeries("Failed", [0, 1, 0])])
    )

    def legend(root: ET.Element) -> list[str | None]:
        return [t.text for t in root.findall(f"{SVG}g/{SVG}text")]

    assert legend(one) == []
    assert legend(two) == ["Sent", "Failed"]


def test_all_text_is_escaped() -> None:
    svg = bar_chart_svg(
        "<b>Stats</b>", ["<i>week</i>"], [BarSeries('a"&<b>', [1])], element_id='x"y'
    )

    assert "<b>" not in svg and "<i>" not in svg
    root = ET.fromstring(svg)
    assert root.findtext(f"{SVG}title") == "<b>Stats</b>"
    assert bars(root)[0].findtext(f"{SVG}title") == '<i>week</i>, a"&<b>: 1'


def test_bad_data_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="series 'Sent' has 2 values for 3 categories"):
        bar_chart_svg("Sent", WEEKS, [BarSeries("Sent", [1, 2])])
    with pytest.raises(ValueError, match="negative"):
        bar_chart_svg("Sent", WEEKS, [BarSeries("Sent", [1, -2, 3])])
    with pytest.raises(ValueError, match="at least one series"):
        bar_chart_svg("Sent", WEEKS, [])


def test_all_zero_and_empty_charts_still_draw_an_axis() -> None:
    zero = ET.fromstring(bar_chart_svg("Sent", WEEKS, [BarSeries("Sent", [0, 0, 0])]))
    assert [float(r.get("height", "nan")) for r in bars(zero)] == [0.0, 0.0, 0.0]
    empty = ET.fromstring(bar_chart_svg("Sent", [], [BarSeries("Sent", [])]))
    assert bars(empty) == []


@pytest.mark.parametrize(
    ("maximum", "whole", "expected"),
    [
        (0, True, (1, 1)),
        (3, True, (3, 1)),
        (7, True, (8, 2)),
        (180, True, (200, 50)),
        (1234, True, (1500, 500)),
        (0.3, False, (0.3, 0.1)),
        (0.31, False, (0.4, 0.1)),
    ],
)
def test_the_axis_top_is_a_round_number(
    maximum: float, whole: bool, expected: tuple[float, float]
) -> None:
    assert nice_ceiling(maximum, whole=whole) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "0"), (950, "950"), (1000, "1k"), (1200, "1.2k"), (35000, "35k"), (2_500_000, "2.5M")],
)
def test_axis_numbers_are_compact(value: float, shown: str) -> None:
    assert compact(value) == shown


def test_the_page_version_holds_a_phone_and_a_wide_layout() -> None:
    html = bar_chart_html("Sent", WEEKS, [BarSeries("Sent", [1, 2, 3])], element_id="c")
    root = ET.fromstring(f"<div>{html}</div>")

    assert [div.get("class") for div in root.findall("div")] == ["svg-narrow", "svg-wide"]
    assert [div[0].get("aria-labelledby") for div in root.findall("div")] == [
        "c-narrow-title c-narrow-desc",
        "c-wide-title c-wide-desc",
    ]
