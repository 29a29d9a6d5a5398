"""How long a killed worker's entries wait before another worker forwards them, with the default settings.

Run: NEWSWIRE_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python tests/benchmarks/reclaim.py
Two cleaner workers, 20,000 raw entries; one worker is SIGKILLed while both hold a batch. Prints the time from
the kill until every entry is in the cleaned stream, and checks that nothing was forwarded twice.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.throughput import env_for, start, stop
from tests.support import unique_prefix

ENTRIES = 20_000


def main() -> None:
    url = os.environ.get("NEWSWIRE_REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url)
    prefix = unique_prefix()
    tag = "{" + prefix + "}"
    command = [sys.executable, "-m", "newswire.cli", "run", "cleaner"]
    workers = [start(command, env_for(url, prefix)) for _ in range(2)]
    try:
        while not client.exists(f"{tag}:raw"):
            time.sleep(0.1)
        time.sleep(1.5)
        pipe = client.pipeline(transaction=False)
        for n in range(ENTRIES):
            article = {"id": f"r{n}", "title": f"T{n}", "text": f"Body {n}.\n\nMore text."}
            pipe.xadd(f"{tag}:raw", {"data": json.dumps(article)})
        pipe.execute()
        os.kill(workers[0].pid, signal.SIGKILL)
        killed = time.monotonic()
        held = client.xpending_range(f"{tag}:raw", "cleaner", min="-", max="+", count=1000)
        print(f"pending right after the SIGKILL: {len(held)} entries")
        while client.xlen(f"{tag}:cleaned") < ENTRIES:
            time.sleep(0.05)
        print(f"all {ENTRIES:,} forwarded {time.monotonic() - killed:.1f} s after the kill "
              "(defaults: NEWSWIRE_CLAIM_IDLE_MS=30000, NEWSWIRE_RECLAIM_INTERVAL_MS=5000)")
        time.sleep(1)
        print(f"outputs beyond {ENTRIES:,}: {client.xlen(f'{tag}:cleaned') - ENTRIES}; "
              f"pending: {client.xpending(f'{tag}:raw', 'cleaner')['pending']}")
    finally:
        stop(workers)
        for key in client.scan_iter(match=f"{tag}:*"):
            client.delete(key)


if __name__ == "__main__":
    main()
