"""Prometheus metrics, in a registry of each app's own (nothing global at import time).

Counters are fed as things happen: the dispatch engine through `scheduler.observe` (this
class is its observer), the conversation core through `CountingInbound`, HTTP through
`aftercare.http_metrics`. The queue depth is read from the database when scraped, with two
indexed counts per channel, and reused for a few seconds. Labels are ids of kinds (channel,
milestone, outcome, code, route template), never anything about a patient.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.channel import InboundHandler, InboundReply, InboundSource
from scheduler.clock import Clock
from scheduler.observe import Settled, Swept
from storage.values import ReminderStatus

log = logging.getLogger(__name__)

# Seconds after the due time: a wake-up is milliseconds late; quiet hours and retries
# after an outage are minutes to hours.
LATENESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 30, 60, 300, 900, 3600, 4 * 3600)
QUEUE_CACHE_FOR = timedelta(seconds=5)
_CODE = re.compile(r"[A-Za-z0-9_]{1,24}")
OUTCOME_NAMES = {ReminderStatus.PENDING: "retried"}  # a retry is planned


def outcome_label(status: ReminderStatus) -> str:
    return OUTCOME_NAMES.get(status, status.value)


@dataclass(frozen=True)
class LastAttempt:
    """The latest provider call on a channel, for readiness."""

    at: datetime
    ok: bool
    error_code: str | None = None


class Metrics:
    """One app's metrics; also the dispatch engine's observer."""

    def __init__(self, clock: Clock, registry: CollectorRegistry | None = None) -> None:
        self.clock = clock
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.reminders = Counter(
            "aftercare_reminders",
            "Reminders settled by the dispatcher, by channel, milestone and outcome "
            "(sent, failed, expired, in_doubt, retried, cancelled, skipped).",
            ["channel", "milestone", "outcome"],
            registry=r,
        )
        self.lateness = Histogram(
            "aftercare_dispatch_lateness_seconds",
            "How long after its due time a reminder was sent.",
            ["channel"],
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        self.provider_errors = Counter(
            "aftercare_provider_errors",
            "Failed provider calls, by channel and the provider's error code.",
            ["channel", "code"],
            registry=r,
        )
        self.inbound = Counter(
            "aftercare_inbound_messages",
            "Patient messages answered by the conversation core, by channel.",
            ["channel"],
            registry=r,
        )
        self.escalations = Counter(
            "aftercare_escalations",
            "Messages that described a warning sign, by category (red_flag, emergency).",
            ["category"],
            registry=r,
        )
        self.http_requests = Counter(
            "aftercare_http_requests",
            "HTTP requests, by method, route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.last_attempts: dict[str, LastAttempt] = {}

    # -- the dispatch engine's observer -------------------------------------------------------

    def settled(self, event: Settled) -> None:
        self.reminders.labels(event.channel, event.milestone, outcome_label(event.status)).inc()
        if event.lateness is not None:
            self.lateness.labels(event.channel).observe(max(event.lateness.total_seconds(), 0))
        if event.error_code is not None:
            self.provider_errors.labels(event.channel, code_label(event.error_code)).inc()
        if event.attempted:
            self.last_attempts[event.channel] = LastAttempt(
                self.clock.now(),
                ok=not event.transient_error,
                error_code=event.error_code if event.transient_error else None,
            )

    def swept(self, event: Swept) -> None:
        for status, tally in (
            (ReminderStatus.EXPIRED, event.expired),
            (ReminderStatus.IN_DOUBT, event.in_doubt),
        ):
            for (channel, milestone), count in tally.items():
                self.reminders.labels(channel, milestone, outcome_label(status)).inc(count)

    # -- the conversation core ----------------------------------------------------------------

    def inbound_answered(self, channel: str, reply: InboundReply) -> None:
        self.inbound.labels(channel).inc()
        if reply.escalated:
            # An escalated reply's topic is its category (red_flag or emergency).
            self.escalations.labels(reply.topic).inc()

    def add_collector(self, collector: Collector) -> None:
        self.registry.register(collector)


def code_label(code: str) -> str:
    """Provider codes are short tokens (21610, 429, timeout); anything else is `other`, so a
    surprising value can neither carry data nor grow the series without bound."""
    return code if _CODE.fullmatch(code) else "other"


class CountingInbound:
    """The conversation core, counted: an `InboundHandler` around the real one."""

    def __init__(self, inner: InboundHandler, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def handle(
        self,
        *,
        channel: str,
        text: str,
        patient_id: int | None,
        language: str | None = None,
        source: InboundSource | None = None,
    ) -> InboundReply:
        reply = await self._inner.handle(
            channel=channel, text=text, patient_id=patient_id, language=language, source=source
        )
        self._metrics.inbound_answered(channel, reply)
        return reply


QueueCounts = dict[str, tuple[int, int]]  # channel -> (pending due now, pending in all)


class QueueDepth:
    """Gauges read at scrape time: pending reminders due now and in all, per channel.

    Collected in the scrape's thread (the endpoint renders off the event loop); the answer
    is kept for QUEUE_CACHE_FOR on the injected clock, so frequent scrapes cost one read.
    """

    def __init__(
        self,
        read: Callable[[datetime], QueueCounts],
        clock: Clock,
        channels: list[str],
        cache_for: timedelta = QUEUE_CACHE_FOR,
    ) -> None:
        self._read = read
        self._clock = clock
        self._channels = channels
        self._cache_for = cache_for
        self._lock = threading.Lock()
        self._cached: tuple[datetime, QueueCounts] | None = None

    def counts(self) -> QueueCounts:
        with self._lock:
            now = self._clock.now()
            if self._cached is None or now - self._cached[0] >= self._cache_for:
                self._cached = (now, self._read(now))
            return self._cached[1]

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("aftercare_reminders_due", "", labels=["channel"])
        yield GaugeMetricFamily("aftercare_reminders_pending", "", labels=["channel"])

    def collect(self) -> Iterator[Metric]:
        try:
            counts = self.counts()
        except Exception as exc:
            # The other metrics are still worth a scrape; /readyz names the database.
            log.warning("metrics: the queue depth could not be read (%s)", type(exc).__name__)
            yield from self.describe()
            return
        due = GaugeMetricFamily(
            "aftercare_reminders_due",
            "Pending reminders already due (waiting for a rate slot or a free engine).",
            labels=["channel"],
        )
        pending = GaugeMetricFamily(
            "aftercare_reminders_pending",
            "Pending reminders, due now or later.",
            labels=["channel"],
        )
        for channel in sorted({*self._channels, *counts}):
            due_now, total = counts.get(channel, (0, 0))
            due.add_metric([channel], due_now)
            pending.add_metric([channel], total)
        yield due
        yield pending
