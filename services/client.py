"""Python client for scrapers and subscribers: publish raw articles, read published events.

Publishing writes the language-neutral entry format of the README (one field `data` holding JSON),
so entries look the same whichever client wrote them. Each article goes to the partition chosen by
`routing_identity` (`NEWSWIRE_PARTITIONS`), so re-submissions of an article meet its revision state;
new articles are refused with `HeadroomExceeded` above the high-water mark (`newswire.runtime.pressure`);
`durable=True` returns only once a replica has the entries (`WAIT`). Reading covers every partition.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from newswire.runtime.connection import SyncRedis, is_cluster, sync_client
from newswire.runtime.pressure import HeadroomExceeded, check_headroom_sync
from newswire.runtime.settings import Settings, StreamKeys

PIPELINE_CHUNK = 500
DEFAULT_WAIT_TIMEOUT_MS = 5_000

__all__ = [
    "HeadroomExceeded",
    "NotDurable",
    "PublishedEvent",
    "PublishedReader",
    "RawEntry",
    "connect",
    "decode_event",
    "publish_raw",
    "routing_identity",
]


class NotDurable(Exception):
    """`WAIT` returned before enough replicas acknowledged the entries: they are on the primary only."""

    def __init__(self, message: str, entries: list[RawEntry]) -> None:
        super().__init__(message)
        self.entries = entries


@dataclass(frozen=True, slots=True)
class RawEntry:
    """Where one published raw article was added."""

    stream: str
    id: bytes
    partition: int


def connect(settings: Settings, url: str | None = None, **options: Any) -> SyncRedis:
    """A blocking client for `url` or NEWSWIRE_REDIS_URL (one server, Sentinel or Cluster)."""
    target = url or (settings.redis_url.get_secret_value() if settings.redis_url is not None else None)
    if target is None:
        raise ValueError("no Redis URL: pass one or set NEWSWIRE_REDIS_URL")
    return sync_client(target, **options)


def routing_identity(document: Mapping[str, Any]) -> str:
    """What routes an article to its partition: its URL without tracking parameters, else its id, else its content.

    Mirrors the publisher's article identity (URL, then id, then content), from what a producer has
    before cleaning: a page whose `<link rel=canonical>` differs from the URL it was submitted under
    is routed by the submitted URL.
    """
    url = document.get("url")
    if isinstance(url, str) and url.strip():
        from newswire.cleaner.urls import strip_tracking

        return "url:" + (strip_tracking(url) or url.strip())
    article_id = document.get("id")
    if isinstance(article_id, str) and article_id:
        return "id:" + article_id
    content = f"{document.get('title') or ''}\n{document.get('text') or ''}\n{document.get('html') or ''}"
    return "hash:" + hashlib.sha256(content.encode()).hexdigest()


def publish_raw(
    client: SyncRedis,
    settings: Settings,
    documents: Iterable[Mapping[str, Any]],
    *,
    traceparent: str | None = None,
    durable: bool = False,
    replicas: int = 1,
    wait_timeout_ms: int = DEFAULT_WAIT_TIMEOUT_MS,
    respect_high_water: bool = True,
) -> Iterator[RawEntry]:
    """XADD each document to its partition's raw stream, pipelined in chunks; yield where each was added, in order.

    Before each chunk the high-water mark is checked (`HeadroomExceeded`; what was yielded before is
    published). With `durable`, a chunk is yielded only after `WAIT` saw `replicas` replicas acknowledge
    it within `wait_timeout_ms`; otherwise `NotDurable` is raised, listing the entries of that chunk.
    """
    partition_keys = settings.partition_keys()
    chunk: list[tuple[int, dict[str, str]]] = []
    for document in documents:
        fields: dict[str, str] = {"data": json.dumps(document, ensure_ascii=False)}
        if traceparent:
            fields["traceparent"] = traceparent
        chunk.append((settings.partition_for(routing_identity(document)), fields))
        if len(chunk) == PIPELINE_CHUNK:
            yield from _write_chunk(client, settings, partition_keys, chunk, durable, replicas, wait_timeout_ms,
                                    respect_high_water)
            chunk = []
    if chunk:
        yield from _write_chunk(client, settings, partition_keys, chunk, durable, replicas, wait_timeout_ms,
                                respect_high_water)


def _write_chunk(
    client: SyncRedis,
    settings: Settings,
    partition_keys: list[StreamKeys],
    chunk: list[tuple[int, dict[str, str]]],
    durable: bool,
    replicas: int,
    wait_timeout_ms: int,
    respect_high_water: bool,
) -> list[RawEntry]:
    if respect_high_water:
        headroom = check_headroom_sync(client, settings)
        if not headroom.ok:
            raise HeadroomExceeded(headroom)
    # One connection per Redis node holding the chunk's streams: WAIT counts the writes of its own connection.
    by_node: dict[int, tuple[redis.Redis, list[int]]] = {}
    for position, (partition, _fields) in enumerate(chunk):
        node_client = _node_client(client, partition_keys[partition].raw)
        by_node.setdefault(id(node_client), (node_client, []))[1].append(position)
    ids: dict[int, bytes] = {}
    short: list[str] = []
    for node_client, positions in by_node.values():
        pipe = node_client.pipeline(transaction=False)
        for position in positions:
            partition, fields = chunk[position]
            pipe.xadd(partition_keys[partition].raw, fields)  # type: ignore[arg-type]
        if durable:
            pipe.execute_command("WAIT", replicas, wait_timeout_ms)  # type: ignore[no-untyped-call]
        replies = pipe.execute()
        for position, entry_id in zip(positions, replies, strict=False):
            ids[position] = entry_id
        if durable and int(replies[-1]) < replicas:
            short.append(f"{int(replies[-1])} of {replicas}")
    entries = [
        RawEntry(partition_keys[partition].raw, ids[position], partition)
        for position, (partition, _fields) in enumerate(chunk)
    ]
    if short:
        raise NotDurable(
            f"{len(entries)} articles were added but only {', '.join(short)} replicas acknowledged them within "
            f"{wait_timeout_ms} ms; a failover now could lose them, so publish them again if in doubt "
            "(a re-submission is recognised as unchanged)",
            entries,
        )
    return entries


def _node_client(client: SyncRedis, key: str) -> redis.Redis:
    """The client to write `key` with: the client itself, or on a cluster the client of the key's primary."""
    if is_cluster(client):
        cluster: Any = client
        connection: redis.Redis = cluster.get_redis_connection(cluster.get_node_from_key(key))
        return connection
    assert isinstance(client, redis.Redis)
    return client


def decode_event(fields: dict[bytes, bytes]) -> dict[str, Any]:
    """A published entry as a CloudEvent in JSON form (`data` parsed)."""
    event: dict[str, Any] = {name.decode(): value.decode() for name, value in fields.items()}
    if "data" in event:
        event["data"] = json.loads(event["data"])
    return event


@dataclass(frozen=True, slots=True)
class PublishedEvent:
    """One entry of a partition's published stream."""

    stream: str
    id: bytes
    partition: int
    fields: dict[bytes, bytes]

    def event(self) -> dict[str, Any]:
        """The CloudEvent in JSON form (`data` parsed)."""
        return decode_event(self.fields)


class PublishedReader:
    """Reads the published streams of every partition with one consumer group, fairly, and acknowledges.

    The group is created on each partition's stream (at its start with `from_start`, else at its end).
    Entries this consumer read earlier but did not acknowledge are returned first.
    """

    def __init__(
        self, client: SyncRedis, settings: Settings, group: str, consumer: str, *, from_start: bool = False
    ) -> None:
        self.client = client
        self.group = group
        self.consumer = consumer
        self.streams = [keys.published for keys in settings.partition_keys()]
        self._positions: dict[Any, Any] = {stream: "0" for stream in self.streams}
        self._turn = 0
        for stream in self.streams:
            self._create_group(stream, from_start)

    def _create_group(self, stream: str, from_start: bool) -> None:
        try:
            self.client.xgroup_create(stream, self.group, id="0" if from_start else "$", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
            if from_start:
                self.client.xgroup_setid(stream, self.group, id="0")

    def read(self, count: int = 100, block_ms: int = 1000) -> list[PublishedEvent]:
        """Up to `count` events from all partitions (about `count` per partition at most); waits up to `block_ms`."""
        if not is_cluster(self.client) and len(self.streams) > 1:
            reply: Any = self.client.xreadgroup(
                self.group, self.consumer, dict(self._positions), count=count, block=block_ms
            )
            return self._collect(reply)
        # On a cluster the partitions are in different hash slots: one read each, starting at a rotating one.
        order = self.streams[self._turn :] + self.streams[: self._turn]
        self._turn = (self._turn + 1) % len(self.streams)
        events: list[PublishedEvent] = []
        for stream in order:
            events += self._collect(self._read_one(stream, count, None))
        if events:
            return events
        # Nothing anywhere: wait on each in turn, for a share of the time.
        share = max(1, block_ms // len(self.streams))
        for stream in order:
            events = self._collect(self._read_one(stream, count, share))
            if events:
                return events
        return []

    def _read_one(self, stream: str, count: int, block_ms: int | None) -> Any:
        return self.client.xreadgroup(
            self.group, self.consumer, {stream: self._positions[stream]}, count=count, block=block_ms
        )

    def _collect(self, reply: Any) -> list[PublishedEvent]:
        events: list[PublishedEvent] = []
        returned = {}
        for stream_name, entries in reply or []:
            stream = stream_name.decode() if isinstance(stream_name, bytes) else stream_name
            returned[stream] = bool(entries)
            partition = self.streams.index(stream)
            events += [PublishedEvent(stream, entry_id, partition, fields) for entry_id, fields in entries]
        for stream, position in self._positions.items():
            # Past this consumer's own unacknowledged entries: continue with new ones.
            if position == "0" and not returned.get(stream):
                self._positions[stream] = ">"
        return events

    def ack(self, event: PublishedEvent) -> None:
        self.client.xack(event.stream, self.group, event.id)

    def destroy_group(self) -> None:
        """Delete the group from every partition (a temporary reader's clean-up)."""
        for stream in self.streams:
            self.client.xgroup_destroy(stream, self.group)
