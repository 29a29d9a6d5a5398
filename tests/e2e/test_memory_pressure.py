"""Redis at maxmemory (noeviction): scrapers flood HTML pages until Redis refuses them; nothing accepted is lost.

One worker process per stage, as an operator runs them. Redis refuses the flood with OOM errors; the
workers back off where Redis refuses their writes, report it on /readyz, keep going and drain
everything Redis accepted to the published stream (or the dead-letter stream), without exiting.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
import redis

from tests.e2e.redis_topologies import RedisProcess
from tests.e2e.test_http import get, listening_port
from tests.e2e.test_processes import Workers
from tests.support import eventually, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MAXMEMORY_MB = 12
PAGE_BYTES = 60_000
WORDS = ("market", "council", "minister", "river", "harvest", "court", "election", "bridge", "school", "storm",
         "budget", "festival", "station", "museum", "factory", "border", "treaty", "hospital", "airport", "league")


def html_page(number: int, rng: random.Random) -> str:
    """A ~60 KB news page: a short article inside navigation, scripts and footers (most of it debris)."""
    article = "".join(
        f"<p>{' '.join(rng.choice(WORDS) for _ in range(40))} (report {number}, paragraph {p}).</p>" for p in range(6)
    )
    debris = "".join(f'<li><a href="/section/{i}">Section {i} {rng.choice(WORDS)}</a></li>' for i in range(200))
    script = "<script>var tracking = '" + "x" * 20_000 + "';</script>"
    page = (
        f"<html><head><title>Report {number}</title>{script}</head><body><nav><ul>{debris}</ul></nav>"
        f"<article><h1>Report {number} on the {rng.choice(WORDS)}</h1>{article}</article>"
        f"<footer><ul>{debris}</ul></footer></body></html>"
    )
    return page + "<!--" + "p" * max(0, PAGE_BYTES - len(page) - 7) + "-->"


def readiness(port: int) -> tuple[int, str]:
    try:
        return get(port, "/readyz")
    except OSError as exc:
        return 0, str(exc)


def test_a_flood_at_maxmemory_drains_without_losing_or_crashing(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    server = RedisProcess(
        tmp_path / "redis", "--maxmemory", f"{MAXMEMORY_MB}mb", "--maxmemory-policy", "noeviction"
    )
    request.addfinalizer(server.stop)  # also when the set-up below fails
    server.start()
    workers = Workers(tmp_path)
    request.addfinalizer(workers.stop_all)
    prefix = "flood"
    url = f"redis://127.0.0.1:{server.port}/0"
    env = worker_env(url, prefix, NEWSWIRE_CLAIM_IDLE_MS="3000", NEWSWIRE_RECLAIM_INTERVAL_MS="300",
                     NEWSWIRE_BLOCK_MS="200")
    stages = {stage: workers.start(env, "run", stage) for stage in ("cleaner", "enricher", "publisher")}
    client = server.client()
    try:
        logs = {stage: next(tmp_path.glob(f"run-{stage}-*.log")) for stage in stages}
        ports = {stage: eventually(lambda log=log: listening_port(log), 120, f"{stage} listens")  # type: ignore[misc]
                 for stage, log in logs.items()}
        eventually(lambda: all(readiness(port)[0] == 200 for port in ports.values()), 60, "every worker is ready")

        rng = random.Random(15)
        accepted: list[bytes] = []
        refused = 0
        fell: dict[str, str] = {}
        started = time.monotonic()
        refused_workers: set[str] = set()
        # Flood until Redis has refused pages for a while, a worker reported it on /readyz and Redis
        # refused a worker's own write (the near-duplicate index, source templates, a consumer group...).
        while (refused < 300 or not fell or not refused_workers) and time.monotonic() - started < 90:
            page = {"url": f"https://news.example/{len(accepted) + refused}", "html": html_page(len(accepted), rng)}
            try:
                accepted.append(client.xadd("{flood}:raw", {"data": json.dumps(page)}))
            except redis.OutOfMemoryError:
                refused += 1
                time.sleep(0.005)
                if refused % 20 == 0:
                    for stage, port in ports.items():
                        status, reason = readiness(port)
                        if status == 503 and "memory" in reason:
                            fell.setdefault(stage, reason)
                    refused_workers |= {stage for stage, log in logs.items()
                                        if '"redis_out_of_memory"' in log.read_text()}
        assert refused >= 300, f"Redis never refused the flood ({len(accepted)} pages accepted)"
        assert fell, "no worker reported Redis's full memory on /readyz"
        assert refused_workers, "Redis never refused a worker's write: the flood did not reach the workers"

        def drained() -> bool:
            done = client.xlen("{flood}:published") + client.xlen("{flood}:dlq")
            assert done <= len(accepted), f"{done} outcomes for {len(accepted)} accepted pages"
            return done == len(accepted)

        eventually(drained, 180, f"all {len(accepted)} accepted pages published or dead-lettered")
        events = client.xrange("{flood}:published")
        urls = [json.loads(fields[b"data"])["url"] for _id, fields in events]
        assert len(urls) == len(set(urls)), "an article was published twice"
        eventually(lambda: all(readiness(port)[0] == 200 for port in ports.values()), 30, "readiness recovers")
        assert all(process.poll() is None for process in stages.values()), "a worker exited"
        for stage, log in logs.items():
            text = log.read_text()
            assert "worker_crashed" not in text, f"{stage} crashed"
        # The episode was logged when it started and when it ended (by whichever worker Redis refused).
        text = "".join(log.read_text() for log in logs.values())
        assert text.count('"redis_out_of_memory"') == text.count('"redis_memory_recovered"')
    finally:
        client.close()
        workers.stop_all()
        server.stop()
