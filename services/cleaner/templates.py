"""Source templates learned from the stream: lines a source repeats in article after article are its page furniture.

Each source (registered domain, else the scraper's `source`) has a count-min sketch in Redis of the lines
(normalised, hashed) its recent articles contained, shared by every cleaner worker. A line whose estimated
count reaches `min_count` articles and `min_share` of the source's recent articles is template and leaves the
body of later articles. Updates of one story (same article id, URL or headline) are counted once. Memory is
bounded per source (a fixed-size sketch, counters halved every `halve_after` articles, a capped list of
recent identities) and in total (at most `max_sources` sources, least recently seen evicted; a TTL on
every key). Template removal never empties an article: if every paragraph would go, none does.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import structlog
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import OutOfMemoryError, ResponseError

from newswire.cleaner.normalize import comparison_key, fold_case
from newswire.runtime.connection import is_cluster
from newswire.runtime.metrics import REGISTRY

log = structlog.get_logger("newswire.cleaner.templates")

_DIGITS = re.compile(r"\d+")
_MAX_FOLDED_WORDS = 5
# How long a batch waits for the template store (one script call, a few milliseconds when Redis is well). The
# store is shared by every partition, so under Redis Cluster it lives on one primary: when that primary stalls,
# the batch is cleaned without templates instead of holding every partition's cleaning until it answers.
STORE_TIMEOUT_S = 1.0

TEMPLATE_LINES_REMOVED = Counter(
    "newswire_template_lines_removed",
    "Body paragraphs removed because their source repeats them in most articles (source templates).",
    ["stage"],
    registry=REGISTRY,
)
TEMPLATE_ARTICLES = Counter(
    "newswire_template_articles",
    "Articles looked up in the source-template store, by outcome "
    "(learned, resubmission, no_source, kept_whole, store_full, store_error, store_slow).",
    ["stage", "outcome"],
    registry=REGISTRY,
)
TEMPLATE_SOURCES_EVICTED = Counter(
    "newswire_template_sources_evicted",
    "Sources dropped from the template store to keep it within its bound.",
    ["stage"],
    registry=REGISTRY,
)


@dataclass(frozen=True, slots=True)
class TemplatePolicy:
    """Bounds and thresholds of the template store (defaults sized for a few thousand sources)."""

    width: int = 4096
    depth: int = 3
    min_count: int = 3
    min_share: float = 0.5
    halve_after: int = 200
    max_identities: int = 120  # below zset-max-listpack-entries (128): the compact encoding
    max_sources: int = 5000
    ttl_s: int = 14 * 24 * 3600


@dataclass(slots=True)
class TemplateLookup:
    """One article's part in a batch lookup: its source, identities and line fingerprints."""

    source: str
    identities: list[str]
    lines: list[str]
    fingerprints: list[bytes] = field(default_factory=list)


def line_fingerprint(line: str) -> bytes | None:
    """8-byte hash of a line's comparison key; None if empty.

    In short lines digits are folded (`12 comments` == `3 comments`, `© 2024`); in longer ones they are kept, so
    a daily report whose sentences differ only in their figures is not mistaken for the site's template.
    """
    key = comparison_key(line)
    if key.count(" ") < _MAX_FOLDED_WORDS:
        key = _DIGITS.sub("0", key)
    return hashlib.blake2b(key.encode(), digest_size=8).digest() if key else None


def source_of(domain: str | None, source: str | None) -> str | None:
    """The key a source's template is kept under: its registered domain, else the scraper's `source` name."""
    if domain:
        return domain.lower()
    if source and source.strip():
        return fold_case(" ".join(source.split()))
    return None


# Script calls in flight at once on Redis Cluster (each takes a connection from the node's pool).
_CLUSTER_CONCURRENCY = 16


def _script_text() -> str:
    return resources.files("newswire.cleaner").joinpath("templates.lua").read_text(encoding="utf-8")


class TemplateStore:
    """The shared template store of one Redis (key names from the settings' `StreamKeys`)."""

    def __init__(self, prefix: str, stage: str = "cleaner", policy: TemplatePolicy | None = None) -> None:
        # `prefix` ends with ':'; every key starts with the stream keys' hash tag.
        self.prefix = prefix
        self.policy = policy or TemplatePolicy()
        self.stage = stage
        self._script = _script_text()
        self._sha: str | None = None

    def _cells(self, fingerprint: bytes) -> list[int]:
        width = self.policy.width
        value = int.from_bytes(fingerprint, "big")
        # Two halves of the hash give `depth` independent-enough indices (Kirsch-Mitzenmacher).
        first, second = value >> 32, (value & 0xFFFFFFFF) | 1
        return [row * width + (first + row * second) % width for row in range(self.policy.depth)]

    def _arguments(self, lookup: TemplateLookup, now: float, learn: bool) -> tuple[list[str], list[Any]]:
        source_id = hashlib.blake2b(lookup.source.encode(), digest_size=8).hexdigest()
        base = f"{self.prefix}{source_id}"
        keys = [f"{base}:sketch", f"{base}:meta", f"{base}:seen", f"{self.prefix}sources"]
        cells = [cell for fingerprint in lookup.fingerprints for cell in self._cells(fingerprint)]
        policy = self.policy
        arguments: list[Any] = [
            int(now), policy.ttl_s, policy.width, policy.depth, policy.halve_after, policy.max_identities,
            policy.max_sources, self.prefix, source_id, lookup.source, 1 if learn else 0, len(lookup.fingerprints),
            len(lookup.identities), *cells, *lookup.identities,
        ]  # fmt: skip
        return keys, arguments

    async def _run(self, redis: Redis, lookups: list[TemplateLookup], now: float, learn: bool) -> list[Any]:
        if self._sha is None:
            self._sha = await redis.script_load(self._script)
        if is_cluster(redis):
            # Redis Cluster pipelines cannot carry EVALSHA: concurrent calls (each in one slot), a few at a time.
            replies: list[Any] = []
            for start in range(0, len(lookups), _CLUSTER_CONCURRENCY):
                calls = [
                    redis.evalsha(self._sha, len(keys), *keys, *arguments)
                    for keys, arguments in (
                        self._arguments(lookup, now, learn) for lookup in lookups[start : start + _CLUSTER_CONCURRENCY]
                    )
                ]
                replies += await asyncio.gather(*calls, return_exceptions=True)
            return replies
        pipe = redis.pipeline(transaction=False)
        for lookup in lookups:
            keys, arguments = self._arguments(lookup, now, learn)
            pipe.evalsha(self._sha, len(keys), *keys, *arguments)
        return list(await pipe.execute(raise_on_error=False))

    async def match_and_learn(self, redis: Redis, lookups: list[TemplateLookup], now: float) -> list[set[bytes]]:
        """For each article (in order), the fingerprints of its lines that are its source's template."""
        for lookup in lookups:
            seen: set[bytes] = set()
            for line in lookup.lines:
                fingerprint = line_fingerprint(line)
                if fingerprint is not None and fingerprint not in seen:
                    seen.add(fingerprint)
                    lookup.fingerprints.append(fingerprint)
        if not lookups:
            return []
        try:
            async with asyncio.timeout(STORE_TIMEOUT_S):
                replies = await self._run(redis, lookups, now, learn=True)
                if any(_is_missing_script(reply) for reply in replies):
                    self._sha = None
                    replies = await self._run(redis, lookups, now, learn=True)
        except TimeoutError:
            TEMPLATE_ARTICLES.labels(self.stage, "store_slow").inc(len(lookups))
            log.warning("template_store_slow", articles=len(lookups), timeout_s=STORE_TIMEOUT_S)
            return [set() for _ in lookups]
        except ResponseError as exc:
            # Redis refused the script itself (an ACL without SCRIPT LOAD, say): clean without templates.
            TEMPLATE_ARTICLES.labels(self.stage, "store_error").inc(len(lookups))
            log.warning("template_store_failed", error=f"{type(exc).__name__}: {exc}")
            return [set() for _ in lookups]
        results: list[set[bytes]] = []
        for lookup, reply in zip(lookups, replies, strict=True):
            if isinstance(reply, OutOfMemoryError) or (isinstance(reply, ResponseError) and "OOM" in str(reply)):
                # Redis is full: read the template as learned so far, learn nothing from this article.
                TEMPLATE_ARTICLES.labels(self.stage, "store_full").inc()
                reply = (await self._run(redis, [lookup], now, learn=False))[0]
            if isinstance(reply, Exception):
                TEMPLATE_ARTICLES.labels(self.stage, "store_error").inc()
                log.warning("template_store_failed", source=lookup.source, error=f"{type(reply).__name__}: {reply}")
                results.append(set())
                continue
            results.append(self._template_lines(lookup, reply))
        return results

    def _template_lines(self, lookup: TemplateLookup, reply: list[int]) -> set[bytes]:
        articles = int(reply[0])
        estimates = reply[1 : 1 + len(lookup.fingerprints)]
        learned, evicted = int(reply[-2]), int(reply[-1])
        TEMPLATE_ARTICLES.labels(self.stage, "learned" if learned else "resubmission").inc()
        if evicted:
            TEMPLATE_SOURCES_EVICTED.labels(self.stage).inc(evicted)
        needed = max(self.policy.min_count, self.policy.min_share * articles)
        return {
            fingerprint
            for fingerprint, estimate in zip(lookup.fingerprints, estimates, strict=True)
            if articles >= self.policy.min_count and int(estimate) >= needed
        }


def _is_missing_script(reply: Any) -> bool:
    return isinstance(reply, ResponseError) and str(reply).startswith("NOSCRIPT")
