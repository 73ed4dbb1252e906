"""Readable `--help`: values named for what they hold (SLUG, TIME, ZONE), flags bare.

Typer shows each option's Python type (`--clinic <str>`, `--dry-run <bool>`), which tells a
reader nothing. This names them once for every command, including ones added later: a
parameter's own metavar wins, then its name, then a plain word for its type.
"""

from __future__ import annotations

from typing import Any

BY_NAME = {
    "clinic": "SLUG",
    "slug": "SLUG",
    "treatment": "TIME",
    "now": "TIME",
    "tz": "ZONE",
    "timezone": "ZONE",
    "phone": "PHONE",
    "clinic_phone": "PHONE",
    "country": "CC",
    "date_format": "FORMAT",
    "external_id": "ID",
    "name": "NAME",
    "first_name": "NAME",
    "clinic_name": "NAME",
    "file": "FILE",
    "report": "FILE",
    "status": "STATUS",  # the help lists the values: a long list would not fit the column
}
BY_TYPE = {
    "<bool>": "",  # a flag takes no value
    "<str>": "TEXT",
    "<int>": "N",
    "<int range>": "N",
    "<float>": "NUMBER",
    "<float range>": "NUMBER",
    "<path>": "PATH",
}


def name_values(command: Any) -> None:
    """Give every parameter of `command` and its subcommands a readable metavar, in place.

    `command` is what `typer.main.get_command` returns.
    """
    context = command.context_class(command)
    help_option = command.get_help_option(context)
    for param in [*command.params, *([help_option] if help_option else [])]:
        if param.metavar is not None:
            continue
        shown = str(param.display_type_rich(context) or "")
        if shown == "<bool>":
            param.metavar = ""
        elif param.name in BY_NAME:
            param.metavar = BY_NAME[param.name]
        elif shown in BY_TYPE:
            param.metavar = BY_TYPE[shown]
        elif shown.startswith("<") and "|" in shown:  # choices: listed as the shell would
            param.metavar = "[" + shown.strip("<>") + "]"
    for subcommand in getattr(command, "commands", {}).values():
        name_values(subcommand)
