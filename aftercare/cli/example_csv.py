"""`aftercare example-csv`: a sample enrollment file dated relative to now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from aftercare.cli.common import read_protocol, read_settings
from clinic.example_csv import example_csv as build_example

MAX_ROWS = 200_000  # the importer's limit for one file


def example_csv(
    rows: Annotated[
        int, typer.Option(min=1, max=MAX_ROWS, metavar="N", help="How many patient rows.")
    ] = 3,
) -> None:
    """Print a CSV for `aftercare enroll`, treated within the import window before now.

    For example: aftercare example-csv > patients.csv
    """
    protocol = read_protocol(read_settings())
    typer.echo(build_example(datetime.now(UTC), protocol, rows), nl=False)
