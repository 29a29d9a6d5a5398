"""Adding accepted articles to the raw streams: routed like `newswire.client`, idempotent, one script per partition.

Each article goes to the partition of its routing identity (`newswire.client.routing_identity`,
`NEWSWIRE_PARTITIONS`), the same one any other producer would pick, so its re-submissions meet its
revision state. A partition's share of a request is one Lua script: its XADDs and the
Idempotency-Key record are written together or not at all, so a retried request adds nothing twice,
even when the first attempt's reply was lost with the connection.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from newswire.cleaner.intake import RawEntry
from newswire.client import routing_identity
from newswire.ingest.keys import ApiKey
from newswire.ingest.problems import ArticleError, Problem
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


def article_document(entry: RawEntry, key: ApiKey) -> dict[str, Any]:
    """The JSON to publish for a validated article: as sent, with the key's source when the article has none."""
    document = entry.article.model_dump(mode="json", exclude_unset=True)
    if key.source is not None and not document.get("source"):
        document["source"] = key.source
    return document


def check_source(documents: list[dict[str, Any]], key: ApiKey, batch: bool) -> None:
    """403 when a key bound to a source is used for articles of another source (each one named in `errors`)."""
    if key.source is None:
        return
    errors = [
        ArticleError(
            index=index if batch else None,
            field="source",
            pointer=f"#/{index}/source" if batch else "#/source",
            error_type="source_not_allowed",
            detail=f"`source` is {document.get('source')!r}; this key may only publish source {key.source!r}",
        )
        for index, document in enumerate(documents)
        if document.get("source") != key.source
    ]
    if errors:
        which = f"{len(errors)} of {len(documents)} articles have" if batch else "the article has"
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
        self._script = client.register_script(_SCRIPT)

    async def publish(
        self,
        documents: list[dict[str, Any]],
        traceparents: list[str | None],
        key: ApiKey,
        *,
        idempotency_key: str | None,
        request_fingerprint: str,
    ) -> Outcome:
        identities = [routing_identity(document) for document in documents]
        partitions = [self.settings.partition_for(identity) for identity in identities]
        by_partition: dict[int, list[int]] = {}
        for position, partition in enumerate(partitions):
            by_partition.setdefault(partition, []).append(position)
        ids: dict[int, str] = {}
        replayed = []
        for partition, positions in sorted(by_partition.items()):
            keys = self.partition_keys[partition]
            script_keys = [keys.raw]
            if idempotency_key is not None:
                script_keys.append(_record_key(keys.stream("ingest"), key.id, idempotency_key))
            args: list[Any] = [self.settings.ingest_idempotency_ttl_s, request_fingerprint, len(positions)]
            for position in positions:
                fields = _entry_fields(documents[position], traceparents[position], key)
                args.append(len(fields))
                args.extend(fields)
            reply = await self._script(keys=script_keys, args=args)
            status = _text(reply[0])
            if status == "mismatch":
                raise Problem(
                    422, "idempotency-key-reused", "Idempotency-Key reused",
                    "this Idempotency-Key was used for a different request body; use a new key for new content",
                )
            replayed.append(status == "replayed")
            for position, entry_id in zip(positions, reply[1:], strict=True):
                ids[position] = _text(entry_id)
        entries = [
            AcceptedEntry(ids[position], self.partition_keys[partition].raw, partition, identities[position])
            for position, partition in enumerate(partitions)
        ]
        return Outcome(entries, bool(replayed) and all(replayed))


def _entry_fields(document: dict[str, Any], traceparent: str | None, key: ApiKey) -> list[str]:
    """The raw entry: `data` as every producer writes it, the trace context, and who sent it."""
    fields = ["data", json.dumps(document, ensure_ascii=False)]
    if traceparent:
        fields += ["traceparent", traceparent]
    fields += ["scraper", key.name, "ingest_key", key.id]
    return fields


def _record_key(ingest_prefix: str, key_id: str, idempotency_key: str) -> str:
    """Per API key (two scrapers may pick the same Idempotency-Key), hashed (the header is free text)."""
    return f"{ingest_prefix}:idempotency:{key_id}:{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
