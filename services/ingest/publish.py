"""Adding accepted articles to the raw streams: routed like `newswire.client`, idempotent, one script per partition.

Each article goes to the partition of its routing identity (`newswire.client.routing_identity`,
`NEWSWIRE_PARTITIONS`), the same one any other producer would pick, so its re-submissions meet its
revision state. A partition's share of a request is one Lua script: its XADDs and the
Idempotency-Key record are written together or not at all, so a retried request adds nothing twice,
even when the first attempt's reply was lost with the connection.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import orjson

from newswire.client import routing_identity
from newswire.ingest.keys import ApiKey
from newswire.ingest.problems import ArticleError, Problem
from newswire.ingest.request_body import ParsedArticle
from newswire.runtime.settings import Settings

_SCRIPT = files("newswire.ingest").joinpath("publish_once.lua").read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class AcceptedEntry:
    """Where one article was added."""

    id: str
    stream: str
    partition: int
    identity: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """A request's entries, in request order; `replayed` when an earlier attempt had written them all."""

    entries: list[AcceptedEntry]
    replayed: bool


@dataclass(frozen=True, slots=True)
class Submission:
    """One article ready to be written: its `data` JSON, routing identity and source."""

    data: bytes
    identity: str
    source: str | None
    traceparent: str | None


def submission(parsed: ParsedArticle, key: ApiKey) -> Submission:
    """What to write for a valid article: its JSON as sent, with the key's source when the article has none."""
    article = parsed.entry.article
    data, source = parsed.payload, article.source
    if key.source is not None and not source:
        document = article.model_dump(mode="json", exclude_unset=True)
        document["source"] = source = key.source
        data = orjson.dumps(document)
    fields = {"url": article.url, "id": article.id, "title": article.title, "text": article.text,
              "html": article.html}
    return Submission(data, routing_identity(fields), source, parsed.entry.traceparent)


def check_source(submissions: list[Submission], key: ApiKey, batch: bool) -> None:
    """403 when a key bound to a source is used for articles of another source (each one named in `errors`)."""
    if key.source is None:
        return
    errors = [
        ArticleError(
            index=index if batch else None,
            field="source",
            pointer=f"#/{index}/source" if batch else "#/source",
            error_type="source_not_allowed",
            detail=f"`source` is {item.source!r}; this key may only publish source {key.source!r}",
        )
        for index, item in enumerate(submissions)
        if item.source != key.source
    ]
    if errors:
        which = f"{len(errors)} of {len(submissions)} articles have" if batch else "the article has"
        raise Problem(
            403, "source-not-allowed", "Source not allowed",
            f"key {key.id} ({key.name}) may only publish articles of source {key.source!r}; {which} another "
            "source; nothing was written",
            errors=errors,
        )


def fingerprint(route: str, body: bytes) -> str:
    """What an Idempotency-Key is bound to: the route and the (decompressed) body."""
    return hashlib.sha256(route.encode() + b"\n" + body).hexdigest()


class RawPublisher:
    """Writes requests' articles with one script call per partition touched."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self.settings = settings
        self.partition_keys = settings.partition_keys()
        self.client = client
        self._script = client.register_script(_SCRIPT)

    async def publish(
        self,
        submissions: list[Submission],
        key: ApiKey,
        *,
        idempotency_key: str | None,
        request_fingerprint: str,
    ) -> Outcome:
        identities = [item.identity for item in submissions]
        partitions = [self.settings.partition_for(identity) for identity in identities]
        by_partition: dict[int, list[int]] = {}
        for position, partition in enumerate(partitions):
            by_partition.setdefault(partition, []).append(position)
        if idempotency_key is not None and len(self.partition_keys) > 1:
            await self._claim_idempotency_key(key, idempotency_key, request_fingerprint)
        ids: dict[int, str] = {}
        replayed = []
        for partition, positions in sorted(by_partition.items()):
            keys = self.partition_keys[partition]
            script_keys = [keys.raw]
            if idempotency_key is not None:
                script_keys.append(_record_key(keys.stream("ingest"), key.id, idempotency_key))
            args: list[Any] = [self.settings.ingest_idempotency_ttl_s, request_fingerprint, len(positions)]
            for position in positions:
                fields = _entry_fields(submissions[position], key)
                args.append(len(fields))
                args.extend(fields)
            reply = await self._script(keys=script_keys, args=args)
            status = _text(reply[0])
            if status == "mismatch":
                raise _key_reused()
            replayed.append(status == "replayed")
            for position, entry_id in zip(positions, reply[1:], strict=True):
                ids[position] = _text(entry_id)
        entries = [
            AcceptedEntry(ids[position], self.partition_keys[partition].raw, partition, identities[position])
            for position, partition in enumerate(partitions)
        ]
        return Outcome(entries, bool(replayed) and all(replayed))

    async def _claim_idempotency_key(self, key: ApiKey, idempotency_key: str, request_fingerprint: str) -> None:
        """With partitions, another body may route to partitions the first one never touched: bind the key to
        its body in one place first (the per-partition records still make each partition's write exact)."""
        claim = _record_key(self.settings.keys.stream("ingest"), key.id, idempotency_key) + ":fingerprint"
        ttl = self.settings.ingest_idempotency_ttl_s
        if not await self.client.set(claim, request_fingerprint, nx=True, ex=ttl):
            stored = await self.client.get(claim)
            if stored is not None and _text(stored) != request_fingerprint:
                raise _key_reused()


def _entry_fields(item: Submission, key: ApiKey) -> list[str | bytes]:
    """The raw entry: `data` as every producer writes it, the trace context, and who sent it."""
    fields: list[str | bytes] = ["data", item.data]
    if item.traceparent:
        fields += ["traceparent", item.traceparent]
    fields += ["scraper", key.name, "ingest_key", key.id]
    return fields


def _record_key(ingest_prefix: str, key_id: str, idempotency_key: str) -> str:
    """Per API key (two scrapers may pick the same Idempotency-Key), hashed (the header is free text)."""
    return f"{ingest_prefix}:idempotency:{key_id}:{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}"


def _key_reused() -> Problem:
    return Problem(
        422, "idempotency-key-reused", "Idempotency-Key reused",
        "this Idempotency-Key was used for a different request body; use a new key for new content",
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
