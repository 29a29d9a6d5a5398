"""The sinks' reader: every partition, own pending entries first, a dead consumer's entries reclaimed."""

from __future__ import annotations

import threading

import redis

from newswire.subscribers.reader import PublishedReader, published_streams
from tests.conftest import make_settings
from tests.subscriber_support import add_events, published_fields
from tests.support import eventually


def reader(client: redis.Redis, streams: list[str], consumer: str) -> PublishedReader:
    return PublishedReader(client, streams, "sink", consumer, batch_size=5, block_ms=50, claim_idle_ms=100,
                           reclaim_interval_s=0.0)


def test_reads_every_partition_resumes_its_own_pending_and_reclaims_a_dead_consumers(
    redis_url: str, prefix: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    settings = make_settings(redis_url, prefix, partitions=2)
    streams = published_streams(settings)
    assert streams == ["{" + prefix + ":0}:published", "{" + prefix + ":1}:published"]
    for partition, stream in enumerate(streams):
        add_events(client, stream, [published_fields(10 * partition + n) for n in range(6)])
    stop = threading.Event()

    first = reader(client, streams, "a")
    first.ensure_group()
    taken = next(first.batches(stop))  # read, never acknowledged: the consumer "dies"
    assert taken

    # The same consumer, restarted, gets its unacknowledged entries back first.
    again = reader(client, streams, "a")
    assert {e.event_id for e in next(again.batches(stop))} <= {e.event_id for e in taken}

    # Another consumer reads the rest and, once they have been idle, the dead consumer's entries too.
    other = reader(client, streams, "b")
    seen: set[str] = set()
    batches = other.batches(stop)
    for _ in range(100):  # a bounded number of reads, each blocking at most 50 ms when idle
        if len(seen) == 12:
            break
        batch = next(batches)
        seen |= {entry.event_id for entry in batch}
        other.acknowledge(batch)
    assert seen == {f"art-{n}/r1" for n in (*range(6), *range(10, 16))}
    assert all(client.xpending(stream, "sink")["pending"] == 0 for stream in streams)
    # The departed consumer, holding nothing now, is forgotten once it has been idle long enough.
    def departed_forgotten() -> bool:
        other._reclaim()  # what every read does once per reclaim interval
        return all([c["name"] for c in client.xinfo_consumers(stream, "sink")] == [b"b"] for stream in streams)

    eventually(departed_forgotten, 10, "consumer a removed from the group")


def test_an_entry_trimmed_while_pending_is_acknowledged_not_delivered(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    stream = "{" + prefix + "}:published"
    add_events(client, stream, [published_fields(n) for n in range(3)])
    stop = threading.Event()
    first = reader(client, [stream], "a")
    first.ensure_group()
    taken = next(first.batches(stop))
    client.xdel(stream, taken[0].entry_id)
    restarted = reader(client, [stream], "a")
    batch = next(restarted.batches(stop))
    assert [e.entry_id for e in batch] == [e.entry_id for e in taken[1:]]
    restarted.acknowledge(batch)
    assert client.xpending(stream, "sink")["pending"] == 0
