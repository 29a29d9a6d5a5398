"""Prometheus metrics of the sinks, in the workers' registry, labelled by sink (`postgres`, `webhook-<name>`)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from newswire.runtime.metrics import REGISTRY

SINK_EVENTS = Counter(
    "newswire_sink_events",
    "Published events a sink finished with: `delivered` (written or POSTed), `filtered` (skipped by its filters) "
    "or `dead_lettered`.",
    ["sink", "outcome"],
    registry=REGISTRY,
)
SINK_WRITE_SECONDS = Histogram(
    "newswire_sink_write_seconds",
    "Time of one write: a PostgreSQL transaction (one batch) or one webhook request.",
    ["sink"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
SINK_RETRIES = Counter(
    "newswire_sink_retries",
    "Failed attempts that a sink will retry (PostgreSQL unavailable, a webhook timeout or 5xx).",
    ["sink"],
    registry=REGISTRY,
)
