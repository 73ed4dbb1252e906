"""`aftercare patient add`: one patient and treatment, by hand; the reminders are planned."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from aftercare.cli.common import (
    TREATMENT_HELP,
    fail,
    open_database,
    out,
    read_protocol,
    read_settings,
)
from clinic.dates import parse_typed_treatment, treatment_window_problem
from scheduler.clock import SystemClock
from scheduler.localtime import zone_named
from scheduler.planning import NewPatient
from storage.clinic_fields import normalise_phone
from storage.patients import DuplicateError, NotFoundError, PatientRepository
from storage.values import ChannelName, Language

patient_app = typer.Typer(help="Patients.", no_args_is_help=True)


@patient_app.command("add")
def patient_add(
    clinic: Annotated[str, typer.Option(help="Clinic slug.")],
    external_id: Annotated[str, typer.Option(help="The clinic's id for the patient.")],
    treatment: Annotated[str, typer.Option(help=TREATMENT_HELP)],
    first_name: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[
        str | None, typer.Option(help="Phone; local numbers use the clinic's country.")
    ] = None,
    tz: Annotated[str | None, typer.Option(help="Time zone (default: the clinic's).")] = None,
    lang: Annotated[Language | None, typer.Option(help="Default: the clinic's.")] = None,
    channel: Annotated[ChannelName | None, typer.Option()] = None,
) -> None:
    """Register one patient and treatment; its reminders are planned at once."""
    # The composition root pulls in the web stack: loaded only by the commands that plan.
    from aftercare.wiring import build_planner

    settings = read_settings()
    clock = SystemClock()
    with open_database(settings) as db:
        protocol = read_protocol(settings)
        planner = build_planner(db, protocol, settings, clock)
        try:
            owner = PatientRepository(db).clinic(clinic)
            zone = zone_named(tz or owner.timezone)
            # The CSV importer's rules: a date without a time is refused, the window named.
            treated = parse_typed_treatment(treatment, zone, clock.now())
            problem = treatment_window_problem(treated, clock.now(), protocol)
            if problem:
                raise ValueError(f"--treatment: {problem}")
            e164 = normalise_phone(phone, owner.country) if phone else None
            registration = planner.register(
                owner.id,
                NewPatient(
                    external_id=external_id,
                    timezone=zone.key,
                    language=lang or owner.language,
                    first_name=first_name,
                    phone=e164,
                    channel=channel,
                ),
                treated,
            )
        except (ValueError, NotFoundError, DuplicateError) as exc:
            raise fail(str(exc)) from None
    table = Table("reminder", "due (patient's time)")
    for item in registration.planned:
        table.add_row(item.key, f"{item.due_at.astimezone(zone):%a %d %b %H:%M %Z}")
    out.print(
        f"patient {registration.patient_id} registered, treatment {registration.treatment_id}"
    )
    out.print(table)
