"""The `aftercare` command line (console script `aftercare.cli:main`)."""

from aftercare.cli.entry import app, main

__all__ = ["app", "main"]
