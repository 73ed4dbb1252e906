"""The `aftercare` command: one Typer app made of a module per noun or command.

Commands: enroll, run, simulate, reminders, ask, example-csv, doctor, stats; groups: db,
clinic, patient, staff. A new command is a module here registered below; it reads the
settings, fails and opens the database with aftercare.cli.common.
"""

from __future__ import annotations

import typer

from aftercare.cli.ask import ask
from aftercare.cli.clinic import clinic_app
from aftercare.cli.columns import clinic_columns  # noqa: F401 (registers "clinic columns")
from aftercare.cli.common import error_line
from aftercare.cli.db import db_app
from aftercare.cli.doctor import doctor
from aftercare.cli.enroll import enroll
from aftercare.cli.example_csv import example_csv
from aftercare.cli.patient import patient_app
from aftercare.cli.protocols import clinic_protocol  # noqa: F401 (registers "clinic protocol")
from aftercare.cli.reminders import reminders
from aftercare.cli.run import run
from aftercare.cli.simulate import simulate
from aftercare.cli.staff import staff_app
from aftercare.cli.stats import stats
from aftercare.settings import load_settings

app = typer.Typer(
    help="Microneedling aftercare reminders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals hold tokens and patients' details
)
# In the order `aftercare --help` lists them.
app.command("enroll")(enroll)
app.command("run")(run)
app.command("simulate")(simulate)
app.command("reminders")(reminders)
app.command("ask")(ask)
app.command("example-csv")(example_csv)
app.command("doctor")(doctor)
app.command("stats")(stats)
app.add_typer(db_app, name="db")
app.add_typer(clinic_app, name="clinic")
app.add_typer(patient_app, name="patient")
app.add_typer(staff_app, name="staff")


def main() -> None:
    """The console script (pyproject.toml [project.scripts])."""
    from sqlalchemy.exc import DBAPIError

    from aftercare.cli.help_names import name_values
    from storage.readiness import connection_problem

    command = typer.main.get_command(app)
    name_values(command)
    try:
        command()
    except DBAPIError as exc:
        # The database went away or refused a write after the checks: one line, no traceback.
        error_line(connection_problem(load_settings().database_url, exc))
        raise SystemExit(1) from None
