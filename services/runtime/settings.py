"""One Settings object per process, read from `NEWSWIRE_*` environment variables."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """A setting is invalid; the message is one sentence naming the variable."""


class Settings(BaseSettings):
    """Every setting of newswire, with its default. Environment variable: `NEWSWIRE_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_", extra="ignore", frozen=True)

    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis to use (`redis://`, `rediss://` for TLS, `unix://`, `redis+sentinel://`, "
        "`redis+cluster://`; see Operations). Unset: start an embedded Redis.",
    )
    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("newswire")),
        description="Where the embedded Redis keeps its data.",
    )
    prefix: str = Field(default="newswire", pattern=r"^[A-Za-z0-9_.-]+$", description="Key prefix of the streams.")
    batch_size: int = Field(default=100, ge=1, le=10_000, description="Entries read per XREADGROUP call.")
    block_ms: int = Field(default=1000, ge=1, le=60_000, description="How long a read waits for new entries (ms).")
    claim_idle_ms: int = Field(
        default=30_000, ge=100, description="Idle time after which another consumer's pending entry is reclaimed (ms)."
    )
    reclaim_interval_ms: int = Field(default=5_000, ge=50, description="How often the reclaim loop runs (ms).")
    max_deliveries: int = Field(
        default=5, ge=1, le=1000, description="Deliveries after which a failing entry goes to the dead-letter stream."
    )
    max_article_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="Largest raw entry accepted, in bytes."
    )
    max_analysed_chars: int = Field(
        default=100_000,
        ge=1_000,
        description="Characters of a body searched for entities, quotes, amounts and topics (the rest is kept).",
    )
    shutdown_timeout_s: float = Field(
        default=20.0, gt=0, le=600, description="Time a worker has to finish its batch after SIGTERM (s)."
    )
    published_maxlen: int = Field(
        default=1_000_000, ge=0, description="Approximate length the published stream is trimmed to; 0 keeps all."
    )
    published_max_bytes: int = Field(
        default=0,
        ge=0,
        description="Approximate memory the published stream may use (bytes, per partition); 0: no limit.",
    )
    partitions: int = Field(
        default=1, ge=1, le=1024, description="Independent copies of the stream set; articles are routed by identity."
    )
    high_water_percent: float = Field(
        default=80.0, gt=0, le=100, description="Share of Redis `maxmemory` above which new articles are refused (%)."
    )
    max_raw_backlog: int = Field(
        default=0,
        ge=0,
        description="Raw entries not yet read by the cleaner above which new articles are refused; 0: no limit.",
    )
    dedup_retention_s: int = Field(
        default=30 * 24 * 3600, ge=60, description="How long re-submission state is kept per article (s)."
    )
    near_duplicate_window_s: int = Field(
        default=7 * 24 * 3600, ge=60, description="Time window for near-duplicate detection (s)."
    )
    near_duplicate_threshold: float = Field(
        default=0.5, gt=0, le=1, description="Estimated similarity above which an article is a near-duplicate."
    )
    http_port: int = Field(
        default=9100, ge=0, le=65535, description="Port for /metrics, /healthz, /readyz; 0 picks a free one."
    )
    http_host: str = Field(default="0.0.0.0", description="Address the HTTP endpoints bind to.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="Log level.")
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="`auto`: readable on a terminal, JSON otherwise."
    )
    consumer_name: str | None = Field(
        default=None, description="Consumer name in the groups; default `<hostname>-<pid>-<random>`."
    )
    event_source: str = Field(
        default="newswire", description="CloudEvents `source` used when an article has no URL."
    )
    schema_base_url: str = Field(
        default="urn:newswire:schemas",
        pattern=r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$",
        description="Base of the CloudEvents `dataschema` URI; serve the repository's `schemas/` folder there "
        "to make it resolve (the default names the schema without a location).",
    )
    postgres_dsn: SecretStr | None = Field(
        default=None, description="PostgreSQL for `newswire sink postgres` (libpq URI or key=value string)."
    )
    otel_enabled: bool = Field(default=False, description="Emit OpenTelemetry spans (needs an exporter configured).")
    console_port: int = Field(
        default=8600, ge=0, le=65535, description="Port of `newswire console`; 0 picks a free one."
    )
    console_host: str = Field(default="127.0.0.1", description="Address `newswire console` binds to.")
    console_token: SecretStr | None = Field(
        default=None, description="Token that unlocks the console's replay and purge; unset: the console is read-only."
    )
    ingest_port: int = Field(
        default=8700,
        ge=0,
        le=65535,
        description="Port of the HTTP ingest API (`run ingest`, `run all`); 0 picks a free one.",
    )
    ingest_max_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Largest ingest request body, after gzip decompression (bytes)."
    )
    ingest_max_batch: int = Field(default=500, ge=1, le=500, description="Most articles in one ingest batch request.")
    ingest_rate_limit: float = Field(
        default=100.0,
        ge=0,
        description="Articles per second each API key may publish (unless the key has its own); 0: no limit.",
    )
    ingest_rate_burst: int = Field(
        default=1000, ge=1, description="Articles an API key may publish at once before its rate applies."
    )
    ingest_idempotency_ttl_s: int = Field(
        default=86400, ge=60, description="How long an ingest `Idempotency-Key` is remembered (s)."
    )
    identity_transforms: bool = Field(
        default=False, description="Benchmark-only: every stage passes messages through unchanged."
    )

    @field_validator("redis_url", "console_token", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("redis_url")
    @classmethod
    def _known_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from newswire.runtime.connection import RedisUrlError, parse_redis_url

            try:
                parse_redis_url(value.get_secret_value())
            except RedisUrlError as exc:
                raise ValueError(str(exc)) from None
        return value

    @property
    def keys(self) -> StreamKeys:
        """The keys without a partition: the only stream set when `partitions` is 1, else the shared keys."""
        return StreamKeys(self.prefix)

    def partition_keys(self) -> list[StreamKeys]:
        """The stream set of every partition, in partition order (one set, `settings.keys`, when partitions is 1)."""
        if self.partitions == 1:
            return [self.keys]
        return [StreamKeys(self.prefix, partition) for partition in range(self.partitions)]

    def partition_for(self, identity: str) -> int:
        """The partition of an article's routing identity (`newswire.client.routing_identity`)."""
        return partition_for(identity, self.partitions)

    def keys_for(self, identity: str) -> StreamKeys:
        """The stream set an article with this routing identity is published to."""
        return self.partition_keys()[self.partition_for(identity)]


def partition_for(identity: str, partitions: int) -> int:
    """Partition of a routing identity: the first 8 bytes of its SHA-256, big-endian, modulo the partition count.

    Stable across processes, hosts and Python versions (unlike `hash()`), so every producer routes a
    re-submission of an article to the partition that holds its revision state.
    """
    if partitions <= 1:
        return 0
    digest = hashlib.sha256(identity.encode()).digest()
    return int.from_bytes(digest[:8], "big") % partitions


class StreamKeys:
    """Stream names. One hash tag per partition, so a stage's read and write can be one atomic script
    (and, on Redis Cluster, one hash slot): `{newswire}:raw` unpartitioned, `{newswire:<p>}:raw` for partition p.
    """

    def __init__(self, prefix: str, partition: int | None = None) -> None:
        self.prefix = prefix
        self.partition = partition
        self.tag = self._tag = tag = "{" + prefix + ("" if partition is None else f":{partition}") + "}"
        self.raw = f"{tag}:raw"
        self.cleaned = f"{tag}:cleaned"
        self.enriched = f"{tag}:enriched"
        self.published = f"{tag}:published"
        self.dlq = f"{tag}:dlq"
        self.revisions = f"{tag}:rev"
        self.near_duplicates = f"{tag}:lsh"
        # The cleaner's source templates (one sketch per source; see newswire.cleaner.templates).
        self.templates = f"{tag}:templates"
        self._rate = f"{tag}:rate"

    def rate(self, stage: str, now: float) -> str:
        """Counter of entries a stage finished during the minute containing `now` (epoch seconds)."""
        return f"{self._rate}:{stage}:{int(now // 60)}"

    def stream(self, name: str) -> str:
        """The key of the stream called `name` (`raw`, `cleaned`, ...) under this prefix."""
        return f"{self._tag}:{name}"


def load_settings() -> Settings:
    """Read and validate the settings; raise SettingsError with one sentence on the first problem."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "NEWSWIRE_" + str(first["loc"][0]).upper() if first["loc"] else "a NEWSWIRE_ variable"
        raise SettingsError(f"{name} is invalid: {first['msg']}.") from None
