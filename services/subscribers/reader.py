"""Reading the published stream with a sink's own consumer group: batches in, acknowledgements out.

A sink acknowledges an entry only after it has done its work (a committed transaction, a delivered
request, a dead letter), so a sink killed mid-batch gets the same entries again: from its own pending
list when it restarts under the same consumer name, or through XAUTOCLAIM by another instance once the
entries have been idle for `NEWSWIRE_CLAIM_IDLE_MS`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import redis

from newswire.runtime.connection import SyncRedis, is_cluster
from newswire.runtime.settings import Settings
from newswire.subscribers.sink_support import RedisOutage


@dataclass(frozen=True, slots=True)
class PublishedEntry:
    """One entry of a published stream, as read."""

    stream: str
    entry_id: str
    fields: dict[bytes, bytes]

    @property
    def event_id(self) -> str:
        return self.fields.get(b"id", b"").decode()


def published_streams(settings: Settings) -> list[str]:
    """The published stream of every partition."""
    return [keys.published for keys in settings.partition_keys()]


class PublishedReader:
    """Batches of published entries for one consumer of a group, across every published stream."""

    def __init__(
        self,
        client: SyncRedis,
        streams: list[str],
        group: str,
        consumer: str,
        *,
        batch_size: int,
        block_ms: int,
        claim_idle_ms: int,
        reclaim_interval_s: float,
        start: Literal["earliest", "latest"] = "earliest",
        on_read: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.streams = streams
        self.group = group
        self.consumer = consumer
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.reclaim_interval_s = reclaim_interval_s
        self.start = start
        # Called on every read, idle or not (the sink's liveness heartbeat).
        self.on_read = on_read
        # Own pending entries first (a restart under the same name resumes them), then new ones.
        self._backlog = dict.fromkeys(streams, "0")
        self._next_reclaim = 0.0
        # On Redis Cluster the partitions live in different hash slots: one stream per command.
        self._one_stream_per_read = is_cluster(client) and len(streams) > 1
        self._turn = 0

    def ensure_group(self) -> None:
        """Create the group on every stream (idempotent); a new group starts at `start`."""
        for stream in self.streams:
            try:
                self.client.xgroup_create(stream, self.group, id="0" if self.start == "earliest" else "$",
                                          mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def batches(self, stop: threading.Event) -> Iterator[list[PublishedEntry]]:
        """Yield batches until `stop` is set; the caller acknowledges each batch before asking for the next."""
        outage = RedisOutage()
        while not stop.is_set():
            if self.on_read is not None:
                self.on_read()
            try:
                batch = self._read()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                outage.failed(exc, stop)
                continue
            outage.recovered()
            if batch:
                yield batch

    def acknowledge(self, entries: list[PublishedEntry]) -> None:
        by_stream: dict[str, list[str]] = {}
        for entry in entries:
            by_stream.setdefault(entry.stream, []).append(entry.entry_id)
        pipe = self.client.pipeline(transaction=False)
        for stream, ids in by_stream.items():
            pipe.xack(stream, self.group, *ids)
        pipe.execute()

    def _read(self) -> list[PublishedEntry]:
        backlog = {stream: position for stream, position in self._backlog.items() if position != ">"}
        if backlog:
            return self._read_backlog(backlog)
        if time.monotonic() >= self._next_reclaim:
            self._next_reclaim = time.monotonic() + self.reclaim_interval_s
            claimed = self._reclaim()
            if claimed:
                return claimed
        if not self._one_stream_per_read:
            return self._entries(self._xreadgroup(dict.fromkeys(self.streams, ">"), self.block_ms))
        # Each partition in turn, starting at a rotating one so that none starves; block only when all are idle.
        order = self.streams[self._turn :] + self.streams[: self._turn]
        self._turn = (self._turn + 1) % len(self.streams)
        for stream in order:
            entries = self._entries(self._xreadgroup({stream: ">"}, None))
            if entries:
                return entries
        share = max(1, self.block_ms // len(self.streams))
        for stream in order:
            entries = self._entries(self._xreadgroup({stream: ">"}, share))
            if entries:
                return entries
        return []

    def _xreadgroup(self, positions: dict[str, str], block_ms: int | None) -> Any:
        streams: Any = positions
        return self.client.xreadgroup(self.group, self.consumer, streams, count=self.batch_size, block=block_ms)

    def _read_backlog(self, backlog: dict[str, str]) -> list[PublishedEntry]:
        if self._one_stream_per_read:
            first = next(iter(backlog))
            backlog = {first: backlog[first]}
        reply: Any = self._xreadgroup(backlog, None)
        entries = self._entries(reply)
        returned = {stream.decode() if isinstance(stream, bytes) else stream: items for stream, items in reply or []}
        for stream in backlog:
            items = returned.get(stream) or []
            # An empty answer for a stream means its pending list is exhausted: read new entries from now on.
            self._backlog[stream] = items[-1][0].decode() if items else ">"
        return entries

    def _reclaim(self) -> list[PublishedEntry]:
        entries: list[PublishedEntry] = []
        for stream in self.streams:
            self._remove_departed_consumers(stream)
            reply: Any = self.client.xautoclaim(
                stream, self.group, self.consumer, min_idle_time=self.claim_idle_ms, count=self.batch_size
            )
            for entry_id, fields in reply[1]:
                if fields:
                    entries.append(PublishedEntry(stream, entry_id.decode(), fields))
            # Entries trimmed from the stream while pending come back as deleted ids: nothing to deliver.
            deleted = reply[2] if len(reply) > 2 else []
            if deleted:
                self.client.xack(stream, self.group, *deleted)
        return entries

    def _remove_departed_consumers(self, stream: str) -> None:
        """Forget consumers of the group (earlier runs of a sink) that hold nothing and have been idle long."""
        departed_after_ms = 2 * self.claim_idle_ms
        consumers: Any = self.client.xinfo_consumers(stream, self.group)
        for consumer in consumers:
            name = consumer["name"].decode() if isinstance(consumer["name"], bytes) else consumer["name"]
            if name != self.consumer and consumer["pending"] == 0 and consumer["idle"] > departed_after_ms:
                self.client.xgroup_delconsumer(stream, self.group, name)

    def _entries(self, reply: Any) -> list[PublishedEntry]:
        entries = []
        trimmed: list[tuple[str, str]] = []
        for stream, items in reply or []:
            name = stream.decode() if isinstance(stream, bytes) else stream
            for entry_id, fields in items:
                if fields:
                    entries.append(PublishedEntry(name, entry_id.decode(), fields))
                else:
                    trimmed.append((name, entry_id.decode()))
        for name, entry_id in trimmed:
            self.client.xack(name, self.group, entry_id)
        return entries
