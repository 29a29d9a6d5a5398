"""Chaos: 10,000 articles through two worker processes per stage while workers are SIGKILLed and connections cut.

At the end every good article is published exactly once, every bad entry is dead-lettered exactly
once, and nothing is left pending.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import redis

from tests.e2e.test_processes import Workers
from tests.support import RedisServer, eventually, pipeline_settled, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GOOD = 10_000
STAGES = ("cleaner", "enricher", "publisher")
BAD_ENTRIES: list[dict[str, str]] = [
    {"data": "{not json"},
    {"data": "[1, 2, 3]"},
    {"data": '{"title": "no body"}'},
    {"data": '{"text": 12}'},
    {"data": '{"text": "x", "unknown": 1}'},
    {"url": "https://example.com/no-data-field"},
    {"data": "[" * 5000 + "]" * 5000},
]


def good_article(n: int) -> dict[str, str]:
    return {
        "id": f"chaos-{n}",
        "title": f"Report number {n} from the wire",
        "text": f"Officials in Geneva said on Monday that talks would resume, report {n}.\n\n"
        f"The minister told reporters the agreement covered {n % 97} percent of the issues.",
    }


def test_every_article_counts_through_kills_and_connection_cuts(tmp_path: Path) -> None:
    rng = random.Random(20261128)
    server = RedisServer(tmp_path / "redis")
    server.start()
    client = redis.Redis.from_url(server.url)
    prefix = "chaos"
    tag = "{" + prefix + "}"
    env = worker_env(
        server.url,
        prefix,
        NEWSWIRE_CLAIM_IDLE_MS="1500",
        NEWSWIRE_RECLAIM_INTERVAL_MS="300",
        NEWSWIRE_BLOCK_MS="200",
        NEWSWIRE_LOG_LEVEL="WARNING",
    )
    workers = Workers(tmp_path)
    running: dict[str, list[subprocess.Popen[bytes]]] = {
        stage: [workers.start(env, "run", stage) for _ in range(2)] for stage in STAGES
    }
    try:
        entries: list[dict[str, str]] = [{"data": json.dumps(good_article(n))} for n in range(GOOD)]
        bad_positions = sorted(rng.sample(range(GOOD), 20 * len(BAD_ENTRIES)))
        for position, bad in zip(bad_positions, BAD_ENTRIES * 20, strict=True):
            entries.insert(position, bad)
        bad_count = len(bad_positions)

        started = time.monotonic()
        published_at_start = 0
        kills = connection_cuts = 0
        pipe = client.pipeline(transaction=False)
        bad_ids: set[bytes] = set()
        for chunk_start in range(0, len(entries), 500):
            for entry in entries[chunk_start : chunk_start + 500]:
                pipe.xadd(f"{tag}:raw", entry)  # type: ignore[arg-type]
            ids = pipe.execute()
            bad_ids |= {
                entry_id
                for entry_id, entry in zip(ids, entries[chunk_start : chunk_start + 500], strict=True)
                if entry in BAD_ENTRIES
            }
        assert len(bad_ids) == bad_count

        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            done = client.xlen(f"{tag}:published") + client.xlen(f"{tag}:dlq")
            if done >= GOOD + bad_count and kills >= 10:
                break
            time.sleep(rng.uniform(0.7, 1.1))
            if kills < 12:
                stage = rng.choice(STAGES)
                index = rng.randrange(2)
                victim = running[stage][index]
                os.kill(victim.pid, signal.SIGKILL)
                victim.wait(10)
                running[stage][index] = workers.start(env, "run", stage)
                kills += 1
            if connection_cuts < 2 and kills in (3, 7):
                client.client_kill_filter(_type="normal", skipme=True)
                connection_cuts += 1
        elapsed = time.monotonic() - started

        published = client.xrange(f"{tag}:published")
        dead = client.xrange(f"{tag}:dlq")
        article_ids = Counter(json.loads(fields[b"data"])["article_id"] for _, fields in published)
        dead_sources = Counter(fields[b"source_id"] for _, fields in dead)
        duplicates = {key: n for key, n in article_ids.items() if n > 1}
        assert not duplicates, f"published more than once: {list(duplicates)[:5]}"
        assert set(article_ids) == {f"chaos-{n}" for n in range(GOOD)}
        assert dead_sources == Counter(dict.fromkeys(bad_ids, 1))
        assert kills >= 10 and connection_cuts == 2

        # Let the survivors reclaim whatever the last killed workers held, then stop them all.
        eventually(lambda: pipeline_settled(client, tag), 60, "no stage holds anything pending")
        for processes in running.values():
            for process in processes:
                process.send_signal(signal.SIGTERM)
        for processes in running.values():
            for process in processes:
                assert process.wait(30) == 0
        for stage, stream in zip(STAGES, ("raw", "cleaned", "enriched"), strict=True):
            assert client.xpending(f"{tag}:{stream}", stage)["pending"] == 0, f"{stage} left entries pending"
        reclaimed = client.xlen(f"{tag}:published") - published_at_start
        print(
            f"\nchaos: {GOOD:,} good + {bad_count} bad entries, {kills} SIGKILLs, {connection_cuts} connection cuts, "
            f"2 workers per stage: all accounted for in {elapsed:.1f} s ({(GOOD + bad_count) / elapsed:.0f}/s); "
            f"{reclaimed:,} published, {len(dead)} dead-lettered, 0 duplicates, 0 pending"
        )
    finally:
        workers.stop_all()
        client.close()
        server.stop()
