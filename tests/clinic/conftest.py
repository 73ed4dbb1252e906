"""Fixtures for enrollment: a store, an importer on the real planner, CSV text to bytes."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

import pytest

from aftercare.wiring import Core, invite_links
from clinic.importer import Importer
from clinic.outcomes import ImportResult, RowOutcome
from storage.enrollment import ClinicProfile, EnrollmentStore
from storage.patients import ClinicView

HEADER = "external_id,treatment_at,first_name,phone,timezone,language,channel\n"


@pytest.fixture
def store(core: Core) -> EnrollmentStore:
    return EnrollmentStore(core.db)


@pytest.fixture
def profile(store: EnrollmentStore, clinic: ClinicView) -> ClinicProfile:
    return store.profile(clinic.slug)


def make_importer(
    core: Core, bot_username: str | None = "GlowClinicBot", **overrides: object
) -> Importer:
    options: dict[str, object] = {
        "invite_ttl": timedelta(days=14),
        "invite_link": invite_links(bot_username),
    }
    options.update(overrides)
    return Importer(EnrollmentStore(core.db), core.planner, **options)  # type: ignore[arg-type]


@pytest.fixture
def importer(core: Core) -> Importer:
    return make_importer(core)


Run = Callable[..., tuple[ImportResult, list[RowOutcome]]]


@pytest.fixture
def run(importer: Importer, profile: ClinicProfile) -> Run:
    """Import CSV text (or bytes); returns the result and every row's outcome, in order."""

    def go(
        data: str | bytes, *, using: Importer | None = None, **options: object
    ) -> tuple[ImportResult, list[RowOutcome]]:
        raw = data.encode() if isinstance(data, str) else data
        outcomes: list[RowOutcome] = []
        result = (using or importer).run(
            profile,
            io.BytesIO(raw),
            on_row=outcomes.append,
            collect_patients=True,
            **options,  # type: ignore[arg-type]
        )
        return result, outcomes

    return go


def errors_of(result: ImportResult) -> list[tuple[int, str | None, str]]:
    return [(e["row"], e["column"], e["message"]) for e in result.as_dict()["errors"]]
