"""Dashboard CSV imports as jobs: an uploaded file kept on the server, checked (a dry run),
then imported on request, each run in a worker thread with its progress readable at any time.

The upload is kept in a temporary spool (in memory up to 1 MB, then an anonymous file) and
named by a random token bound to the staff session that uploaded it: another session, even
the same person's in another browser, cannot see or apply it. "Import" applies the very
bytes that were checked; a new upload is a new job. Uploads and their reports are dropped
`ttl` after their last run ends (or when the same session has uploaded too many since).

Runs go to a small pool of worker threads, so the event loop only ever reads a job's state.
A process restart forgets the jobs: the page then asks for the file again.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import IO, BinaryIO, Final

from clinic.csv_rows import ValidRow
from clinic.importer import Importer
from clinic.outcomes import ImportResult, RowOutcome
from clinic.preview import rows_as_stored
from clinic.reader import FileProblem, HeaderProblem
from clinic.report import ReportWriter
from scheduler.clock import Clock
from storage.enrollment import ClinicProfile

log = logging.getLogger(__name__)

SAMPLE_ROWS: Final = 10  # valid rows shown as they will be stored
INVITES_KEPT: Final = 200  # invite links shown on the result page (the report has all)
HELD_PER_SESSION: Final = 3
HELD_IN_ALL: Final = 24
IMPORTED: Final = frozenset({"created", "updated", "unchanged"})


class State(StrEnum):
    CHECKING = "checking"  # the dry run is under way
    CHECKED = "checked"  # the preview is ready; nothing written yet
    IMPORTING = "importing"
    IMPORTED = "imported"
    FAILED = "failed"  # the file cannot be read, or a run broke off (see `problem`)


RUNNING: Final = frozenset({State.CHECKING, State.IMPORTING})


class TooManyImports(Exception):
    """Every slot holds a running import; try again when one ends."""


@dataclass(frozen=True)
class Owner:
    clinic_id: int
    staff_id: int
    session_id: int


@dataclass(frozen=True)
class Progress:
    step: str  # "checking" (reading and validating) | "matching" (dry run) | "writing"
    done: int
    total: int

    @property
    def fraction(self) -> float:
        """Of the whole run: reading the file is its first half, the second pass the rest."""
        part = min(1.0, self.done / self.total) if self.total > 0 else 0.0
        return part / 2 if self.step == "checking" else 0.5 + part / 2


@dataclass
class RunReport:
    """What one run (the check or the import) found or did."""

    result: ImportResult
    report: Path  # the per-row report CSV, formula-escaped
    sample: list[tuple[RowOutcome, ValidRow]] = field(default_factory=list)  # check only
    invites: list[RowOutcome] = field(default_factory=list)  # import only: first links
    invite_count: int = 0  # links made in all (the report lists each one)


@dataclass
class ImportJob:
    token: str
    owner: Owner
    clinic: ClinicProfile
    filename: str
    size: int
    upload: IO[bytes]
    created_at: datetime
    state: State = State.CHECKING
    progress: Progress = Progress("checking", 0, 0)
    check: RunReport | None = None
    imported: RunReport | None = None
    problem: str | None = None  # why the file cannot be read (FileProblem's words)
    header: tuple[str, ...] = ()  # the header's cells, when it lacks a required column
    crashed: bool = False  # a run broke off unexpectedly (an import may be partly written)
    ended_at: datetime | None = None
    seen_at: datetime | None = None  # last opened: a preview being read is not dropped
    done: threading.Event = field(default_factory=threading.Event)  # the current run ended

    @property
    def running(self) -> bool:
        return self.state in RUNNING

    @property
    def can_import(self) -> bool:
        check = self.check
        return self.state == State.CHECKED and check is not None and _importable(check.result)


def _importable(result: ImportResult) -> bool:
    return result.created + result.updated + result.unchanged > 0


class ImportJobs:
    def __init__(
        self,
        importer: Importer,
        clock: Clock,
        *,
        ttl: timedelta = timedelta(minutes=30),
        workers: int = 2,
    ) -> None:
        self.importer = importer
        self.clock = clock
        self.ttl = ttl
        self._jobs: dict[str, ImportJob] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="csv-import")
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        # Called in the worker thread at each step of progress, outside any transaction:
        # tests use it to hold a run at a known point.
        self.observer: Callable[[ImportJob], None] | None = None

    # -- the event loop's side: all of it quick, none of it touching the database ---------

    def start(
        self, owner: Owner, clinic: ClinicProfile, upload: IO[bytes], size: int, filename: str
    ) -> ImportJob:
        """Hold the upload under a new token and start checking it (a dry run)."""
        now = self.clock.now()
        with self._lock:
            self._prune(now)
            self._make_room(owner)
            token = secrets.token_urlsafe(24)
            job = ImportJob(token, owner, clinic, filename, size, upload, now)
            self._jobs[token] = job
        self._pool.submit(self._run, job, dry_run=True)
        log.info("import %s: clinic %s checking %d bytes", _short(token), clinic.id, size)
        return job

    def get(self, token: str, owner: Owner) -> ImportJob | None:
        """The job, if it exists and belongs to this very session."""
        now = self.clock.now()
        with self._lock:
            self._prune(now)
            job = self._jobs.get(token)
            if job is None or job.owner != owner:
                return None
            job.seen_at = now
        return job

    def start_import(
        self, job: ImportJob, after: Callable[[ImportJob], None] | None = None
    ) -> bool:
        """Apply the checked file; False when it was not ready (already importing, say).
        `after` is called in the worker thread once the import has ended, however it ended."""
        with self._lock:
            if not job.can_import or self._jobs.get(job.token) is not job:
                return False
            job.state = State.IMPORTING
            job.progress = Progress("checking", 0, job.size)
            job.done.clear()
        self._pool.submit(self._run, job, dry_run=False, after=after)
        log.info("import %s: clinic %s importing", _short(job.token), job.clinic.id)
        return True

    def recheck(self, job: ImportJob, clinic: ClinicProfile) -> bool:
        """Check a file whose header could not be read again, with the clinic as it is now
        (its own column names just saved); False when the job is not such a file."""
        with self._lock:
            if job.state != State.FAILED or job.check is not None:
                return False
            if self._jobs.get(job.token) is not job:
                return False
            job.clinic = clinic
            job.state = State.CHECKING
            job.progress = Progress("checking", 0, job.size)
            job.problem, job.header, job.ended_at = None, (), None
            job.done.clear()
        self._pool.submit(self._run, job, dry_run=True)
        log.info("import %s: clinic %s checking again", _short(job.token), clinic.id)
        return True

    def discard(self, job: ImportJob) -> bool:
        """Forget a job that is not running (its file and reports are deleted)."""
        with self._lock:
            if job.running or self._jobs.get(job.token) is not job:
                return False
            self._drop(job)
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no run is under way (tests; a clean stop); False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                running = [job for job in self._jobs.values() if job.running]
            if not running:
                return True
            left = deadline - time.monotonic()
            if left <= 0 or not running[0].done.wait(left):
                return False

    def close(self) -> None:
        """Let running jobs finish, then delete everything held."""
        self._pool.shutdown(wait=True)
        with self._lock:
            for job in list(self._jobs.values()):
                self._drop(job)
            if self._folder is not None:
                self._folder.cleanup()
                self._folder = None

    def _reports(self) -> Path:
        """Reports live here until their job is dropped (0700: only this service reads them)."""
        with self._lock:
            if self._folder is None:
                self._folder = tempfile.TemporaryDirectory(prefix="aftercare-import-")
            return Path(self._folder.name)

    def _prune(self, now: datetime) -> None:
        for job in list(self._jobs.values()):
            if job.running or job.ended_at is None:
                continue
            if now - max(job.ended_at, job.seen_at or job.ended_at) >= self.ttl:
                self._drop(job)

    def _make_room(self, owner: Owner) -> None:
        mine = sorted(
            (j for j in self._jobs.values() if j.owner == owner and not j.running),
            key=lambda j: j.created_at,
        )
        for job in mine[: max(0, len(mine) + 1 - HELD_PER_SESSION)]:
            self._drop(job)
        if len(self._jobs) < HELD_IN_ALL:
            return
        idle = sorted((j for j in self._jobs.values() if not j.running), key=lambda j: j.created_at)
        if not idle:
            raise TooManyImports()
        self._drop(idle[0])

    def _drop(self, job: ImportJob) -> None:
        del self._jobs[job.token]
        job.upload.close()
        for run in (job.check, job.imported):
            if run is not None:
                run.report.unlink(missing_ok=True)

    # -- the worker threads' side ---------------------------------------------------------

    def _run(
        self,
        job: ImportJob,
        *,
        dry_run: bool,
        after: Callable[[ImportJob], None] | None = None,
    ) -> None:
        name = "check" if dry_run else "import"
        report_path = self._reports() / f"{job.token}-{name}.csv"
        state = State.FAILED
        try:
            run = self._read_and_report(job, report_path, dry_run=dry_run)
        except FileProblem as exc:
            job.problem = str(exc)
            job.header = exc.found if isinstance(exc, HeaderProblem) else ()
            log.info("import %s: the file cannot be read", _short(job.token))
        except Exception:
            log.exception("import %s: the %s broke off", _short(job.token), name)
            job.crashed = True
        else:
            if dry_run:
                job.check, state = run, State.CHECKED
            else:
                job.imported, state = run, State.IMPORTED
        finally:
            # ended_at first: a finished job is never judged by an earlier run's end
            job.ended_at = self.clock.now()
            job.state = state
            if after is not None:
                try:
                    after(job)
                except Exception:
                    log.exception("import %s: recording its end failed", _short(job.token))
            job.done.set()

    def _read_and_report(self, job: ImportJob, report_path: Path, *, dry_run: bool) -> RunReport:
        sample: list[RowOutcome] = []
        invites: list[RowOutcome] = []
        invite_count = 0

        def progress(step: str, done: int, total: int) -> None:
            if step == "importing":
                step = "matching" if dry_run else "writing"
            job.progress = Progress(step, done, total)
            if self.observer is not None:
                self.observer(job)

        with report_path.open("w", encoding="utf-8", newline="") as report_file:
            write_row = ReportWriter(report_file, dry_run=dry_run)

            def on_row(outcome: RowOutcome) -> None:
                nonlocal invite_count
                write_row(outcome)
                if dry_run and outcome.status in IMPORTED and len(sample) < SAMPLE_ROWS:
                    sample.append(outcome)
                if outcome.invite_url:
                    invite_count += 1
                    if len(invites) < INVITES_KEPT:
                        invites.append(outcome)

            job.upload.seek(0)
            result = self.importer.run(
                job.clinic,
                _binary(job.upload),
                dry_run=dry_run,
                on_row=on_row,
                progress=progress,
                total_bytes=job.size,
            )
        run = RunReport(result, report_path, invites=invites, invite_count=invite_count)
        if sample:
            job.upload.seek(0)
            values = rows_as_stored(
                _binary(job.upload),
                job.clinic,
                self.importer.context(job.clinic),
                [outcome.row for outcome in sample],
                self.importer.limits,
            )
            run.sample = [(o, values[o.row]) for o in sample if o.row in values]
        return run


def _binary(upload: IO[bytes]) -> BinaryIO:
    return upload  # type: ignore[return-value]  # a spooled file reads like any binary file


def _short(token: str) -> str:
    """A job's name in the logs: enough to follow it, not enough to open it."""
    return token[:6]
