"""What an operator watches, added to the HTTP app: `/readyz`, `/metrics` and the request
counting middleware (`aftercare.web` registers them)."""

from __future__ import annotations

from functools import partial

from starlette.routing import BaseRoute

from aftercare.health import HealthMonitor
from aftercare.http_metrics import metrics_route
from aftercare.metrics import Metrics, QueueDepth
from aftercare.readiness import ReadinessMonitor, readyz_route
from aftercare.wiring import Runtime
from storage.activity import queue_depth
from storage.reading import read_only_engine


def runtime_metrics(runtime: Runtime) -> Metrics:
    """The runtime's metrics; made here for a runtime assembled without them (tests)."""
    if runtime.metrics is None:
        runtime.metrics = Metrics(runtime.core.clock)
    return runtime.metrics


def operations_routes(runtime: Runtime, health: HealthMonitor) -> list[BaseRoute]:
    metrics = runtime_metrics(runtime)
    lanes = list(runtime.dispatcher.lanes)
    reader = read_only_engine(runtime.core.db)
    metrics.add_collector(
        QueueDepth(partial(queue_depth, reader, channels=lanes), runtime.core.clock, lanes)
    )
    settings = runtime.core.settings
    return [
        readyz_route(ReadinessMonitor(runtime, health, metrics)),
        metrics_route(metrics, settings.metrics_username, settings.metrics_password),
    ]
