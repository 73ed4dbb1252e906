"""Files as booking systems and spreadsheets really export them: every bad row is named,
with the column and the reason, and every good row still gets in."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from aftercare.wiring import Core
from clinic.importer import Importer
from clinic.outcomes import RowOutcome
from clinic.reader import FileProblem, Limits
from clinic.report import summary_lines
from storage.enrollment import ClinicProfile
from storage.models import Patient
from tests.clinic.conftest import HEADER, Run, errors_of, make_importer


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Validation is not about storage: SQLite is enough here."""
    return sqlite_url


MESSY = (
    "\ufeffExternal ID; Treatment At ;First name;Phone;Channel;Notes\r\n"
    "A1;2026-03-01 10:00;Ana;(212) 555-0101;;vip\r\n"  # 2 ok
    "A2;02/28/2026 4:15 PM;Bob;1.555E+10;;\r\n"  # 3 mangled phone
    ";;;;;\r\n"  # 4 blank
    'A3;28/02/2026 16:15;"=HYPERLINK(""http://x"")";2125550102;sms;\r\n'  # 5 ok, European date
    "A4;03/04/2026 10:00;Dee;;telegram;\r\n"  # 6 ambiguous date
    "A1;2026-03-01 10:00;Ana;(212) 555-0101;;vip\r\n"  # 7 same as row 2
    "A5;2026-03-01 10:00;Caf\udce9;;telegram;\r\n"  # 8 Latin-1 byte
    "A6;2026-06-05 10:00;Eve;;telegram;\r\n"  # 9 too far ahead
    "A7;2026-02-01 10:00;Fay;;telegram;\r\n"  # 10 too old
    "A8;2026-03-01T09:00-05:00;Gil;1.2125550103E+10;sms;\r\n"  # 11 ok, exact scientific
    ";2026-03-01 10:00;NoId;;telegram;\r\n"  # 12 no id
    "A9;2026-03-01 10:00;Gus;;fax;\r\n"  # 13 bad channel
    "A10;2026-03-01 10:00;Hal;;telegram;\r\n"  # 14 conflicts with 15
    "A10;2026-03-01 11:00;Hal;;telegram;\r\n"  # 15
    "A11;2026-03-01 10:00;Ida;;sms;\r\n"  # 16 sms without phone
    "\r\n"  # 17 blank line
).encode("utf-8", errors="surrogateescape")


def test_a_messy_export_reports_each_bad_row_exactly_and_imports_the_rest(run: Run) -> None:
    result, outcomes = run(MESSY)

    assert errors_of(result) == [
        (
            3,
            "phone",
            "'1.555E+10' is a phone number a spreadsheet turned into scientific notation and "
            "digits were lost; format the column as Text and export again",
        ),
        (
            6,
            "treatment_at",
            "ambiguous date '03/04/2026 10:00': 3 April 2026 (day first) or 4 March 2026 "
            "(month first)? Use ISO 8601 (YYYY-MM-DD) or set the clinic's date format",
        ),
        (7, "external_id", "duplicate of row 2 (external_id 'A1', same data); ignored"),
        (
            8,
            "first_name",
            "is not valid UTF-8 (byte 0xE9); save the file as 'CSV UTF-8' and upload it again",
        ),
        (9, "treatment_at", "treatment time is more than 90 days ahead"),
        (
            10,
            "treatment_at",
            "treatment is older than 17 days, the import window (the protocol's last "
            "milestone, sunscreen at 14d, plus its 3d window)",
        ),
        (12, "external_id", "is required"),
        (13, "channel", "must be sms or telegram, got 'fax'"),
        (
            14,
            "external_id",
            "external_id 'A10' is also in row(s) 15 with different data; keep one row per patient",
        ),
        (
            15,
            "external_id",
            "external_id 'A10' is also in row 14 with different data; keep one row per patient",
        ),
        (16, "phone", "is required when the channel is sms"),
    ]
    assert result.as_dict()["warnings"] == [
        {"row": 1, "column": "Notes", "message": "unknown column; ignored"}
    ]
    assert (result.created, result.updated, result.unchanged, result.rejected) == (3, 0, 0, 11)
    assert result.blank_rows == 2  # counted, never reported row by row
    assert [(o.row, o.status) for o in outcomes] == [
        (2, "created"),
        (3, "rejected"),
        (5, "created"),
        (6, "rejected"),
        (7, "rejected"),
        (8, "rejected"),
        (9, "rejected"),
        (10, "rejected"),
        (11, "created"),
        (12, "rejected"),
        (13, "rejected"),
        (14, "rejected"),
        (15, "rejected"),
        (16, "rejected"),
    ]


def test_values_are_normalised_on_the_way_in(run: Run, core: Core) -> None:
    run(MESSY)
    with core.db.session() as session:
        stored = {
            p.external_id: (p.phone, p.channel, p.first_name, p.timezone)
            for p in session.scalars(select(Patient))
        }
    assert stored == {
        "A1": ("+12125550101", "sms", "Ana", "America/New_York"),
        "A3": ("+12125550102", "sms", '=HYPERLINK("http://x")', "America/New_York"),
        "A8": ("+12125550103", "sms", "Gil", "America/New_York"),
    }


def test_comma_separated_without_bom_with_header_in_any_case(run: Run) -> None:
    result, _ = run(
        "EXTERNALID, treatment_AT ,PHONE\n"
        'B1,2026-03-01 10:00,"+1 212 555 0104"\n'
        "B2,2026-03-01T10:00:00+01:00,\n"
    )
    assert (result.created, result.rejected, result.errors.listed()) == (2, 0, [])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty"),
        (b"external_id,treatment_at\n", "the file has a header but no patient rows"),
        (
            b"id,when\nB1,2026-03-01 10:00\n",
            "missing required column(s) external_id, treatment_at in the header "
            "(found 'id', 'when'); expected columns: external_id, treatment_at, first_name, "
            "phone, timezone, language, channel",
        ),
        (
            b"external_id,treatment_at,Phone,phone\n",
            "column 'phone' appears twice in the header",
        ),
        (b"PK\x03\x04rest-of-a-zip", "this is an Excel workbook (.xlsx), not CSV"),
    ],
)
def test_files_that_cannot_be_read_at_all(run: Run, data: bytes, reason: str) -> None:
    with pytest.raises(FileProblem) as caught:
        run(data)
    assert str(caught.value).startswith(reason)


def test_row_and_byte_limits_refuse_the_file_before_anything_is_written(
    core: Core, profile: ClinicProfile
) -> None:
    rows = "".join(f"L{i},2026-03-01 10:00,,,,,telegram\n" for i in range(5))
    data = ("external_id,treatment_at,first_name,phone,timezone,language,channel\n" + rows).encode()
    small_rows: Importer = make_importer(core, limits=Limits(max_rows=4))
    with pytest.raises(FileProblem, match="more than 4 patient rows; split it"):
        small_rows.run(profile, io.BytesIO(data))
    small_bytes: Importer = make_importer(core, limits=Limits(max_bytes=100))
    with pytest.raises(FileProblem, match="larger than 100 bytes"):
        small_bytes.run(profile, io.BytesIO(data))
    with core.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 0


def test_an_unquoted_separator_inside_a_value_rejects_the_row(run: Run) -> None:
    result, _ = run("external_id,treatment_at,first_name\nC1,2026-03-01 10:00,Smith, John\n")
    assert errors_of(result) == [
        (
            2,
            None,
            "the row has 4 cells but the header has 3 (a separator inside an unquoted value?)",
        )
    ]


def test_a_value_running_past_the_csv_field_limit_names_its_row(run: Run) -> None:
    never_closed = 'C1,2026-03-01 10:00,"Smith\n' + "more notes\n" * 20_000
    with pytest.raises(FileProblem) as caught:
        run("external_id,treatment_at,first_name\n" + never_closed)
    assert str(caught.value) == (
        "row 2: cannot read the CSV (a value is longer than 131,072 characters; "
        "a quote that is never closed?)"
    )


def test_a_record_longer_than_the_cap_is_refused_without_reading_it_whole(
    core: Core, profile: ClinicProfile
) -> None:
    capped = make_importer(core, limits=Limits(max_record_chars=1000))
    data = "external_id,treatment_at,first_name\nC1,2026-03-01 10:00,Ann\nC2,x," + "y" * 2000
    with pytest.raises(FileProblem) as caught:
        capped.run(profile, io.BytesIO(data.encode()))
    assert str(caught.value) == (
        "row 3 is longer than 1,000 characters (a quote that is never closed?)"
    )


def test_blank_rows_before_the_header_count_toward_the_cap(
    core: Core, profile: ClinicProfile
) -> None:
    capped = make_importer(core, limits=Limits(max_blank_rows=3))
    data = b" \n,,\n\n , \nexternal_id,treatment_at\nC1,2026-03-01 10:00\n"
    with pytest.raises(FileProblem) as caught:
        capped.run(profile, io.BytesIO(data))
    assert str(caught.value) == "no header row in the first 3 rows: they are blank"


def test_the_error_list_is_capped_but_the_report_has_every_row(run: Run) -> None:
    rows = "".join(f"F{i},2026-03-01 10:00,,,,,fax\n" for i in range(1050))
    result, outcomes = run(HEADER + rows)
    listed = errors_of(result)
    assert len(listed) == 1001
    assert listed[0] == (2, "channel", "must be sms or telegram, got 'fax'")
    assert listed[999][0] == 1001
    assert listed[-1] == (
        1002,
        None,
        "and 50 more errors from this row on, not listed; the command line's --report lists "
        "every row",
    )
    assert [o.row for o in outcomes] == list(range(2, 1052))
    assert all(o.status == "rejected" and o.errors for o in outcomes)
    lines = summary_lines(result)
    assert lines[0] == "1050 rows: 0 created, 0 updated, 0 unchanged, 1050 rejected"
    assert lines[-1] == "... and 1030 more (see --report)"


def test_long_runs_of_rejected_rows_go_through_in_batches_in_file_order(
    core: Core, profile: ClinicProfile
) -> None:
    small_batches = make_importer(core, batch_size=2)
    bad = "".join(f"F{i},2026-03-01 10:00,,fax\n" for i in range(5))
    data = "external_id,treatment_at,first_name,channel\n" + bad + "G1,2026-03-01 10:00,,\n" + bad
    outcomes: list[RowOutcome] = []
    result = small_batches.run(profile, io.BytesIO(data.encode()), on_row=outcomes.append)
    assert [(o.row, o.status) for o in outcomes] == [
        *[(row, "rejected") for row in range(2, 7)],
        (7, "created"),
        *[(row, "rejected") for row in range(8, 13)],
    ]
    # the second five repeat the first five: each has its own error and is a duplicate
    assert (result.created, result.rejected, result.errors.total) == (1, 10, 15)
