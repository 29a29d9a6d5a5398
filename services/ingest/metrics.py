"""Prometheus metrics of the ingest API, per key (labelled with the key's name), in the workers' registry."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from newswire.runtime.metrics import REGISTRY

# The label of requests whose key is missing or unknown.
ANONYMOUS = "-"

REQUESTS = Counter(
    "newswire_ingest_requests",
    "Ingest API requests, by key name, route and status code.",
    ["key", "route", "status"],
    registry=REGISTRY,
)
ARTICLES_ACCEPTED = Counter(
    "newswire_ingest_articles_accepted",
    "Articles added to the raw stream over HTTP (replayed idempotent requests not counted), by key name.",
    ["key"],
    registry=REGISTRY,
)
ARTICLES_REFUSED = Counter(
    "newswire_ingest_articles_refused",
    "Articles refused as bad input (400/413), by key name and error type.",
    ["key", "error_type"],
    registry=REGISTRY,
)
THROTTLED = Counter(
    "newswire_ingest_throttled",
    "Requests answered 429, by key name and reason (`rate_limit`, `high_water`, `out_of_memory`).",
    ["key", "reason"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "newswire_ingest_request_seconds",
    "Time to answer an ingest request, by route.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
