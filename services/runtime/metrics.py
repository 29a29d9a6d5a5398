"""Prometheus metrics, all prefixed `newswire_` and labelled by stage."""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

_SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_AGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
_BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)

ARTICLES_PROCESSED = Counter(
    "newswire_articles_processed", "Entries forwarded to the next stream.", ["stage"], registry=REGISTRY
)
ARTICLES_DEAD_LETTERED = Counter(
    "newswire_articles_dead_lettered",
    "Entries sent to the dead-letter stream, by error type.",
    ["stage", "error_type"],
    registry=REGISTRY,
)
ARTICLES_UNCHANGED = Counter(
    "newswire_articles_unchanged_resubmissions",
    "Re-submitted articles whose content had not changed (acknowledged, not published).",
    ["stage"],
    registry=REGISTRY,
)
ARTICLES_NEAR_DUPLICATE = Counter(
    "newswire_articles_near_duplicates",
    "Articles published with `duplicate_of` set (same story from another URL).",
    ["stage"],
    registry=REGISTRY,
)
ENTRIES_STALE = Counter(
    "newswire_entries_already_acknowledged",
    "Entries another consumer had already forwarded (a reclaim race); nothing was added for them.",
    ["stage"],
    registry=REGISTRY,
)
ENTRIES_RECLAIMED = Counter(
    "newswire_entries_reclaimed",
    "Entries claimed from consumers that held them too long.",
    ["stage"],
    registry=REGISTRY,
)
PROCESSING_FAILURES = Counter(
    "newswire_processing_failures",
    "Entries whose processing raised an unexpected error (left pending for a retry).",
    ["stage"],
    registry=REGISTRY,
)
PROCESSING_SECONDS = Histogram(
    "newswire_processing_seconds",
    "Time to transform one entry.",
    ["stage"],
    buckets=_SECONDS_BUCKETS,
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "newswire_batch_size", "Entries per batch read.", ["stage"], buckets=_BATCH_BUCKETS, registry=REGISTRY
)
ARTICLE_AGE_SECONDS = Histogram(
    "newswire_article_age_seconds",
    "Time from the raw entry's id (when it was added) to its publication.",
    ["stage"],
    buckets=_AGE_BUCKETS,
    registry=REGISTRY,
)
STREAM_LENGTH = Gauge(
    "newswire_stream_length", "Entries in the stage's input stream (all partitions).", ["stage"], registry=REGISTRY
)
GROUP_LAG = Gauge(
    "newswire_group_lag",
    "Entries in the input stream not yet delivered to the stage's group (all partitions).",
    ["stage"],
    registry=REGISTRY,
)
GROUP_PENDING = Gauge(
    "newswire_group_pending",
    "Entries delivered to the stage's group and not yet acknowledged (all partitions).",
    ["stage"],
    registry=REGISTRY,
)
PARTITION_STREAM_LENGTH = Gauge(
    "newswire_partition_stream_length",
    "Entries in the stage's input stream of one partition.",
    ["stage", "partition"],
    registry=REGISTRY,
)
PARTITION_GROUP_LAG = Gauge(
    "newswire_partition_group_lag",
    "Entries of one partition's input stream not yet delivered to the stage's group.",
    ["stage", "partition"],
    registry=REGISTRY,
)
PARTITION_GROUP_PENDING = Gauge(
    "newswire_partition_group_pending",
    "Entries of one partition delivered to the stage's group and not yet acknowledged.",
    ["stage", "partition"],
    registry=REGISTRY,
)
REDIS_OUT_OF_MEMORY = Gauge(
    "newswire_redis_out_of_memory",
    "1 while Redis refuses the stage's writes with OOM (maxmemory reached) and the stage backs off.",
    ["stage"],
    registry=REGISTRY,
)
REDIS_OUT_OF_MEMORY_ERRORS = Counter(
    "newswire_redis_out_of_memory_errors",
    "Writes Redis refused with OOM, by operation; each was retried with its entries left pending.",
    ["stage", "operation"],
    registry=REGISTRY,
)
RESOLVE_SKIPPED = Counter(
    "newswire_resolve_skipped",
    "Entries forwarded without the stage's per-batch Redis step (source templates, near-duplicate index) because "
    "Redis stayed out of memory.",
    ["stage"],
    registry=REGISTRY,
)
REDIS_MEMORY_USED = Gauge(
    "newswire_redis_memory_used_bytes", "Redis used_memory (the fullest primary of a cluster).", registry=REGISTRY
)
REDIS_MAXMEMORY = Gauge(
    "newswire_redis_maxmemory_bytes", "Redis maxmemory (0: no limit) of the node reported above.", registry=REGISTRY
)
REDIS_HIGH_WATER = Gauge(
    "newswire_redis_high_water_bytes",
    "Memory above which producers refuse new articles (NEWSWIRE_HIGH_WATER_PERCENT of maxmemory; 0: no limit).",
    registry=REGISTRY,
)


# The latest (length, lag, pending) of every (stage, partition) this process serves, summed per stage.
_BACKLOG: dict[tuple[str, int | None], tuple[int, int | None, int]] = {}
_BACKLOG_LOCK = threading.Lock()


class StageMetrics:
    """The metric children of one stage (and partition), resolved once so the hot path does no label lookups."""

    def __init__(self, stage: str, partition: int | None = None) -> None:
        self.stage = stage
        self.partition = partition
        part = "0" if partition is None else str(partition)
        self.processed = ARTICLES_PROCESSED.labels(stage=stage)
        self.dead_lettered = ARTICLES_DEAD_LETTERED
        self.unchanged = ARTICLES_UNCHANGED.labels(stage=stage)
        self.near_duplicates = ARTICLES_NEAR_DUPLICATE.labels(stage=stage)
        self.stale = ENTRIES_STALE.labels(stage=stage)
        self.reclaimed = ENTRIES_RECLAIMED.labels(stage=stage)
        self.failures = PROCESSING_FAILURES.labels(stage=stage)
        self.resolve_skipped = RESOLVE_SKIPPED.labels(stage=stage)
        self.processing_seconds = PROCESSING_SECONDS.labels(stage=stage)
        self.batch_size = BATCH_SIZE.labels(stage=stage)
        self.article_age_seconds = ARTICLE_AGE_SECONDS.labels(stage=stage)
        # The stage-wide children exist from the start, as every other series of the stage.
        self.stream_length = STREAM_LENGTH.labels(stage=stage)
        self.group_lag = GROUP_LAG.labels(stage=stage)
        self.group_pending = GROUP_PENDING.labels(stage=stage)
        self.partition_stream_length = PARTITION_STREAM_LENGTH.labels(stage=stage, partition=part)
        self.partition_group_lag = PARTITION_GROUP_LAG.labels(stage=stage, partition=part)
        self.partition_group_pending = PARTITION_GROUP_PENDING.labels(stage=stage, partition=part)

    def set_backlog(self, length: int, lag: int | None, pending: int) -> None:
        """Report this partition's input backlog; the stage-wide gauges show the sum over its partitions."""
        self.partition_stream_length.set(length)
        self.partition_group_pending.set(pending)
        if lag is not None:
            self.partition_group_lag.set(lag)
        with _BACKLOG_LOCK:
            _BACKLOG[(self.stage, self.partition)] = (length, lag, pending)
            rows = [value for (stage, _), value in _BACKLOG.items() if stage == self.stage]
        self.stream_length.set(sum(row[0] for row in rows))
        self.group_pending.set(sum(row[2] for row in rows))
        lags = [row[1] for row in rows if row[1] is not None]
        if lags:
            self.group_lag.set(sum(lags))
