"""Throughput, CPU, latency and memory of the pipeline, against peers measured in the same run.

Run: .venv/bin/python tests/benchmarks/throughput.py [--messages 30000] [--articles 3000] [--only NAME]
     .venv/bin/python tests/benchmarks/throughput.py --compare-tree DIR [--articles 2000] [--rounds 3] [--varied]

Scenarios (each on fresh streams, workers as separate processes, Redis from NEWSWIRE_REDIS_URL or a
private redis-server started here):
  passthrough   newswire's three stages with NEWSWIRE_IDENTITY_TRANSFORMS=true vs the plain redis-py
                three-hop pass-through (tests/benchmarks/baseline_passthrough.py), 2 KB messages, one process
                per stage/hop and all in one process. Reported: messages/s and the ratio.
  pipeline      real transforms on text articles like the sample, on its first 1,700 characters (the size the
                throughput target is stated for) and on the AEB HTML pages (--text-only skips them), 1 and 2
                workers per stage: articles/s and CPU ms per article per stage; against one process that runs
                the same transforms in a loop with no Redis.
  latency       raw XADD -> published event seen by a subscriber, p50/p99, paced at 50 % of the measured
                maximum rate of the text pipeline.
  memory        resident memory of each worker after 1,000 and after 10,000 articles.
  compare       (--compare-tree DIR) the 1,700-character text articles, one worker per stage, this tree and
                the checkout in DIR in alternation (--rounds times each; --varied: distinct SANAD articles of that
                size from the workbench, at most 1,855, instead): an older release measured on the same
                machine in the same minutes, the yardstick for targets stated as "it carries N today". DIR is
                a git worktree of the older commit; its workers run from it with PYTHONPATH=DIR (the first
                release's package was `services`, later ones `newswire`: both are found).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import redis

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.benchmarks.workbench import require  # noqa: E402
from tests.support import SAMPLE_TEXT as SAMPLE  # noqa: E402
from tests.support import RedisServer, unique_prefix  # noqa: E402

STAGES = ("cleaner", "enricher", "publisher")
# The article size the pipeline's throughput target is stated for (Arabic articles of about 1,700 characters).
SHORT_ARTICLE_CHARS = 1_700
PY = sys.executable


def env_for(url: str, prefix: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    env.update(NEWSWIRE_REDIS_URL=url, NEWSWIRE_PREFIX=prefix, NEWSWIRE_HTTP_PORT="0", NEWSWIRE_LOG_FORMAT="json")
    env.update(extra)
    return env


def start(args: list[str], env: dict[str, str], cwd: Path = REPO) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_ready(client: redis.Redis, prefix: str, groups: int, timeout_s: float = 120) -> None:
    """Until every stage's group exists: a worker creates its group only after loading its models."""
    tag = "{" + prefix + "}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready = 0
        for stream, group in (("raw", "cleaner"), ("cleaned", "enricher"), ("enriched", "publisher")):
            try:
                info = {g["name"]: g for g in client.xinfo_groups(f"{tag}:{stream}")}
            except redis.ResponseError:
                continue
            if group.encode() in info:
                ready += 1
        if ready >= groups:
            time.sleep(0.5)  # the first blocking read
            return
        time.sleep(0.1)
    raise RuntimeError("workers did not become ready")


def fill(client: redis.Redis, prefix: str, documents: list[dict[str, Any]]) -> None:
    tag = "{" + prefix + "}"
    pipe = client.pipeline(transaction=False)
    for n, document in enumerate(documents, start=1):
        pipe.xadd(f"{tag}:raw", {"data": json.dumps(document, ensure_ascii=False)})
        if n % 1000 == 0:
            pipe.execute()
    pipe.execute()


def drain_time(client: redis.Redis, prefix: str, expected: int, timeout_s: float = 600) -> float:
    """Seconds from the first raw entry's time to the last published entry's arrival (polling every 20 ms)."""
    tag = "{" + prefix + "}"
    first_ms = int(client.xrange(f"{tag}:raw", count=1)[0][0].split(b"-")[0])
    deadline = time.monotonic() + timeout_s
    while client.xlen(f"{tag}:published") + client.xlen(f"{tag}:dlq") < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {client.xlen(f'{tag}:published')} of {expected} arrived")
        time.sleep(0.02)
    last = client.xrevrange(f"{tag}:published", count=1)
    last_ms = int(last[0][0].split(b"-")[0])
    return (last_ms - first_ms) / 1000


def run_workers(
    url: str,
    client: redis.Redis,
    documents: list[dict[str, Any]],
    commands: list[list[str]],
    env_extra: dict[str, str],
    groups: int = 3,
    cwd: Path = REPO,
) -> dict[str, Any]:
    """Pre-load the raw stream, start the workers, time the drain; return rate and CPU per process."""
    prefix = unique_prefix()
    env = env_for(url, prefix, **env_extra)
    processes = [start(command, env, cwd) for command in commands]
    try:
        wait_ready(client, prefix, groups)
        cpu_before = [psutil.Process(p.pid).cpu_times() for p in processes]
        redis_before = redis_cpu_s(client)
        fill(client, prefix, documents)
        seconds = drain_time(client, prefix, len(documents))
        cpu_after = [psutil.Process(p.pid).cpu_times() for p in processes]
        redis_spent = redis_cpu_s(client) - redis_before
        rss = [psutil.Process(p.pid).memory_info().rss for p in processes]
    finally:
        stop(processes)
        for key in client.scan_iter(match="{" + prefix + "}:*"):
            client.delete(key)
    cpu = [(a.user + a.system) - (b.user + b.system) for a, b in zip(cpu_after, cpu_before, strict=True)]
    return {"seconds": seconds, "rate": len(documents) / seconds, "cpu_s": cpu, "rss": rss, "redis_cpu_s": redis_spent}


def redis_cpu_s(client: redis.Redis) -> float:
    """CPU seconds the Redis server has used (all clients: the workers, and this script's filling and polling)."""
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def newswire_commands(per_stage: int, combined: bool = False) -> list[list[str]]:
    if combined:
        return [[PY, "-m", "newswire.cli", "run", "all"]]
    return [[PY, "-m", "newswire.cli", "run", stage] for stage in STAGES for _ in range(per_stage)]


def importable_tree(other: Path, scratch: Path) -> tuple[str, Path]:
    """The CLI module of another checkout and the folder to put on PYTHONPATH for it. The first release imported
    as `services` and `schemas` from the checkout itself; later ones map services/ to `newswire` and schemas/ to
    `newswire.schemas` (pyproject's package-dir), so that mapping is copied into `scratch`."""
    if '"newswire" = "services"' not in (other / "pyproject.toml").read_text(encoding="utf-8"):
        return "services.cli", other
    package = scratch / "newswire"
    shutil.copytree(other / "services", package, symlinks=True)
    shutil.copytree(other / "schemas", package / "schemas", symlinks=True)
    return "newswire.cli", scratch


def compare_trees(url: str, client: redis.Redis, other: Path, articles: int, rounds: int, *, varied: bool) -> None:
    """The short text articles through this tree's workers and another checkout's, one worker per stage, in
    alternation; prints articles/s, CPU per article of each stage and of Redis, and each worker's resident memory at
    the end, per run; then the median rate ratio and the median CPU per article of the whole pipeline."""
    documents = varied_arabic_articles(articles) if varied else short_text_articles(articles)
    ratios: list[float] = []
    totals: dict[str, list[float]] = {"this tree": [], str(other): []}
    with tempfile.TemporaryDirectory(prefix="newswire-compare-") as scratch:
        module, path = importable_tree(other, Path(scratch))
        trees = (("this tree", REPO, "newswire.cli", {}), (str(other), other, module, {"PYTHONPATH": str(path)}))
        for _ in range(rounds):
            rates = {}
            for label, cwd, cli, extra in trees:
                commands = [[PY, "-m", cli, "run", stage] for stage in STAGES]
                result = run_workers(url, client, documents, commands, extra, cwd=cwd)
                spent = [*result["cpu_s"], result["redis_cpu_s"]]
                per_article = " / ".join(f"{cpu * 1000 / len(documents):.2f}" for cpu in spent)
                total = sum(spent) * 1000 / len(documents)
                rss = " / ".join(f"{value / 2**20:.0f}" for value in result["rss"])
                print(f"| {label} | {result['rate']:.0f} | {per_article} | {total:.2f} | {rss} |", flush=True)
                rates[label] = result["rate"]
                totals[label].append(total)
            ratios.append(rates["this tree"] / rates[str(other)])
    print(f"\nrate of this tree / rate of {other}: median {statistics.median(ratios):.2f} "
          f"({', '.join(f'{ratio:.2f}' for ratio in ratios)})")
    print(f"CPU ms per article, all workers and Redis: this tree median {statistics.median(totals['this tree']):.2f}, "
          f"{other} {statistics.median(totals[str(other)]):.2f}")


def passthrough(url: str, client: redis.Redis, messages: int) -> list[str]:
    body = "x" * 1900
    documents = [{"id": f"m{n}", "text": body} for n in range(messages)]
    lines = []
    for label, combined in (("one process per stage", False), ("one process", True)):
        baseline_cmd = [[PY, str(REPO / "tests/benchmarks/baseline_passthrough.py"), url, "PREFIX", hop]
                        for hop in (["all"] if combined else list(STAGES))]
        base = run_baseline(url, client, documents, baseline_cmd)
        ours = run_workers(url, client, documents, newswire_commands(1, combined),
                           {"NEWSWIRE_IDENTITY_TRANSFORMS": "true"}, groups=3)
        lines.append(
            f"| pass-through, {label} | {base['rate']:,.0f} msg/s | {ours['rate']:,.0f} msg/s | "
            f"{ours['rate'] / base['rate']:.2f} |"
        )
        print(lines[-1], flush=True)
    return lines


def run_baseline(url: str, client: redis.Redis, documents: list[dict[str, Any]], commands: list[list[str]]
                 ) -> dict[str, Any]:
    prefix = unique_prefix()
    commands = [[arg if arg != "PREFIX" else prefix for arg in command] for command in commands]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    processes = [start(command, env) for command in commands]
    try:
        wait_ready(client, prefix, 3)
        fill(client, prefix, documents)
        seconds = drain_time(client, prefix, len(documents))
    finally:
        stop(processes)
        for key in client.scan_iter(match="{" + prefix + "}:*"):
            client.delete(key)
    return {"seconds": seconds, "rate": len(documents) / seconds}


def text_articles(count: int, max_chars: int | None = None) -> list[dict[str, Any]]:
    sample = SAMPLE.read_text(encoding="utf-8")
    if max_chars is not None:
        # Whole lines from the top (headline, date, first paragraphs) up to about max_chars characters.
        kept: list[str] = []
        for line in sample.splitlines():
            if sum(len(k) + 1 for k in kept) >= max_chars:
                break
            kept.append(line)
        sample = "\n".join(kept)
    assert "الخميس 19 Sep" in sample
    # Distinct articles (no re-submission short-cut): a number in the headline and first paragraph.
    return [{"id": f"text-{n}", "text": sample.replace("الخميس 19 Sep", f"الخميس 19 Sep {n}", 1)}
            for n in range(count)]


def short_text_articles(count: int) -> list[dict[str, Any]]:
    """The size the throughput target is stated for: Arabic articles of about 1,700 characters."""
    return text_articles(count, max_chars=SHORT_ARTICLE_CHARS)


def varied_arabic_articles(count: int) -> list[dict[str, Any]]:
    """Distinct Arabic news articles of about 1,700 characters: SANAD's (workbench `datasets/topics/sanad`; its
    punctuation and digits were stripped at the source), in paragraphs of about 40 words. The sample's copies share
    every word, so every cache is warm after the first; these bring the new words, names and near-duplicates that
    real news brings."""
    path = require("datasets/topics/sanad/sanad.jsonl", "the SANAD articles")
    documents = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            words = json.loads(line)["text"].split()
            kept: list[str] = []
            while words and sum(len(word) + 1 for word in kept) < SHORT_ARTICLE_CHARS:
                kept.append(words.pop(0))
            if sum(len(word) + 1 for word in kept) < SHORT_ARTICLE_CHARS:
                continue  # shorter than the size the target is stated for
            paragraphs = [" ".join(kept[start : start + 40]) for start in range(0, len(kept), 40)]
            documents.append({"id": f"sanad-{len(documents)}", "text": "\n".join(paragraphs)})
            if len(documents) == count:
                return documents
    raise SystemExit(f"SANAD holds only {len(documents)} articles of {SHORT_ARTICLE_CHARS:,} characters or more")


def html_articles(count: int) -> list[dict[str, Any]]:
    aeb = require("benchmarks/aeb", "the AEB benchmark's HTML pages")
    truth = json.loads((aeb / "ground-truth.json").read_text(encoding="utf-8"))
    pages = [
        (key, value["url"], gzip.decompress((aeb / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace"))
        for key, value in sorted(truth.items())
    ]
    # Each page once: a repeated page is an unchanged re-submission, acknowledged without being published.
    return [{"id": f"html-{n}", "url": url, "html": html} for n, (_key, url, html) in enumerate(pages[:count])]


def in_process_loop(documents: list[dict[str, Any]]) -> tuple[float, dict[str, float]]:
    """The same transforms in one process with no Redis: what a user would otherwise write."""
    code = (
        "import json,sys,time\n"
        "from datetime import UTC, datetime\n"
        "from newswire.schemas import RawArticle\n"
        "from newswire.cleaner.clean import clean_article\n"
        "from newswire.enricher import enrich, language\n"
        "from newswire.publisher.publish import draft_event\n"
        "from newswire.publisher.near_duplicates import signature\n"
        "from threadpoolctl import threadpool_limits\n"
        "docs=[json.loads(l) for l in sys.stdin]\n"
        "threadpool_limits(limits=1, user_api='blas')\n"  # as the enricher worker does (EnricherStage.warm_up)
        "enrich.warm_up()\n"
        "spent={'cleaner':0.0,'enricher':0.0,'publisher':0.0}\n"
        "t0=time.perf_counter()\n"
        "for d in docs:\n"
        "    a=time.process_time(); raw=RawArticle.model_validate_json(json.dumps(d))\n"
        # As the workers split the work: the cleaner identifies the languages, the enricher takes them.
        "    c=clean_article(raw, received_at=datetime.now(UTC)); r=language.detect_languages(c.body, c.title)\n"
        "    b=time.process_time(); spent['cleaner']+=b-a\n"
        "    e=enrich.enrich_article(c, languages=r); a=time.process_time(); spent['enricher']+=a-b\n"
        "    signature(e.body); draft_event(e, now=datetime.now(UTC), default_source='x', schema_url='y')\n"
        "    spent['publisher']+=time.process_time()-a\n"
        "print(json.dumps({'seconds': time.perf_counter()-t0, 'spent': spent}))\n"
    )
    stdin = "\n".join(json.dumps(d, ensure_ascii=False) for d in documents)
    result = subprocess.run([PY, "-c", code], input=stdin, capture_output=True, text=True, cwd=REPO, check=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report["seconds"], report["spent"]


def pipeline(url: str, client: redis.Redis, articles: int, *, html: bool = True) -> tuple[list[str], float]:
    lines = []
    text_rate = 0.0
    scenarios: list[tuple[str, Callable[[int], list[dict[str, Any]]]]] = [
        ("text articles like the sample", text_articles),
        (f"the sample's first {SHORT_ARTICLE_CHARS:,} characters", short_text_articles),
    ]
    if html:
        scenarios.append(("AEB HTML pages", html_articles))
    for label, make in scenarios:
        documents = make(articles)
        loop_seconds, loop_spent = in_process_loop(documents)
        loop_rate = len(documents) / loop_seconds
        lines.append(f"| {label}: one process, transforms in a loop, no Redis | {loop_rate:,.0f} | "
                     + " | ".join(f"{loop_spent[s] / len(documents) * 1000:.2f}" for s in STAGES) + " |")
        print(lines[-1], flush=True)
        for per_stage in (1, 2):
            result = run_workers(url, client, documents, newswire_commands(per_stage), {})
            cpu_by_stage = {
                stage: sum(result["cpu_s"][i * per_stage:(i + 1) * per_stage]) / len(documents) * 1000
                for i, stage in enumerate(STAGES)
            }
            lines.append(f"| {label}: newswire, {per_stage} worker(s) per stage | {result['rate']:,.0f} | "
                         + " | ".join(f"{cpu_by_stage[s]:.2f}" for s in STAGES) + " |")
            print(lines[-1], flush=True)
            if make is text_articles and per_stage == 1:
                text_rate = result["rate"]
    return lines, text_rate


def latency(url: str, client: redis.Redis, max_rate: float, seconds: float = 20) -> list[str]:
    prefix = unique_prefix()
    tag = "{" + prefix + "}"
    env = env_for(url, prefix)
    processes = [start(command, env) for command in newswire_commands(1)]
    rate = max_rate * 0.5
    documents = text_articles(int(rate * seconds))
    samples: list[float] = []
    stop_reading = threading.Event()

    def subscriber() -> None:
        reader = redis.Redis.from_url(url)
        last = "0"
        while not stop_reading.is_set() or len(samples) < len(documents):
            reply: Any = reader.xread({f"{tag}:published": last}, count=500, block=200)
            now_ms = time.time() * 1000
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    last = entry_id
                    received = datetime.fromisoformat(json.loads(fields[b"data"])["received_at"])
                    samples.append(now_ms - received.timestamp() * 1000)
            if stop_reading.is_set() and not reply:
                break

    try:
        wait_ready(client, prefix, 3)
        thread = threading.Thread(target=subscriber, daemon=True)
        thread.start()
        started = time.monotonic()
        for n, document in enumerate(documents):
            target = started + n / rate
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            client.xadd(f"{tag}:raw", {"data": json.dumps(document, ensure_ascii=False)})
        deadline = time.monotonic() + 60
        while len(samples) < len(documents) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop_reading.set()
        thread.join(10)
    finally:
        stop(processes)
        for key in client.scan_iter(match=f"{tag}:*"):
            client.delete(key)
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    line = (f"| text articles paced at {rate:,.0f}/s (50 % of {max_rate:,.0f}/s) for {seconds:.0f} s, "
            f"{len(ordered):,} events | {p50:.1f} ms | {p99:.1f} ms | {ordered[-1]:.1f} ms |")
    print(line, flush=True)
    return [line]


def memory(url: str, client: redis.Redis) -> list[str]:
    prefix = unique_prefix()
    env = env_for(url, prefix)
    processes = [start(command, env) for command in newswire_commands(1)]
    lines = []
    try:
        wait_ready(client, prefix, 3)
        idle = [psutil.Process(p.pid).memory_info().rss for p in processes]
        documents = text_articles(10_000)
        fill(client, prefix, documents[:1000])
        drain_time(client, prefix, 1000)
        after_1k = [psutil.Process(p.pid).memory_info().rss for p in processes]
        fill(client, prefix, documents[1000:])
        drain_time(client, prefix, 10_000)
        after_10k = [psutil.Process(p.pid).memory_info().rss for p in processes]
    finally:
        stop(processes)
        for key in client.scan_iter(match="{" + prefix + "}:*"):
            client.delete(key)
    mib = 1024 * 1024
    for stage, a, b, c in zip(STAGES, idle, after_1k, after_10k, strict=True):
        lines.append(f"| {stage} | {a / mib:.0f} MiB | {b / mib:.0f} MiB | {c / mib:.0f} MiB | "
                     f"{(c - b) / mib:+.1f} MiB |")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--articles", type=int, default=3_000)
    parser.add_argument("--only", choices=["passthrough", "pipeline", "latency", "memory", "compare"])
    parser.add_argument("--text-only", action="store_true", help="pipeline: skip the AEB HTML pages")
    parser.add_argument("--compare-tree", type=Path, help="compare: the other checkout (see above)")
    parser.add_argument("--rounds", type=int, default=3, help="compare: runs of each tree")
    parser.add_argument("--varied", action="store_true",
                        help="compare: distinct Arabic news articles (SANAD, workbench) instead of the sample's copies")
    args = parser.parse_args()
    if args.compare_tree is not None:
        args.only = "compare"
    elif args.only == "compare":
        parser.error("--only compare needs --compare-tree DIR")
    server = None
    url = os.environ.get("NEWSWIRE_REDIS_URL")
    if not url:
        server = RedisServer(Path(tempfile.mkdtemp(prefix="newswire-bench-")))
        server.start()
        url = server.url
    client = redis.Redis.from_url(url)
    version = client.info("server")["redis_version"]
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {psutil.cpu_count()} cores, Redis {version}, "
          f"Python {sys.version.split()[0]}")
    print(f"# command: {' '.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])}")
    try:
        chosen: Callable[[str], bool] = lambda name: args.only in (None, name)  # noqa: E731
        if chosen("passthrough"):
            print("| scenario | plain redis-py | newswire | ratio |\n|---|---|---|---|")
            passthrough(url, client, args.messages)
        text_rate = 0.0
        if chosen("pipeline") or chosen("latency"):
            print("| run | articles/s | CPU ms/article cleaner | enricher | publisher |\n|---|---|---|---|---|")
            _, text_rate = pipeline(url, client, args.articles, html=not args.text_only)
        if chosen("latency"):
            print("| latency | p50 | p99 | max |\n|---|---|---|---|")
            latency(url, client, text_rate)
        if args.only == "compare":
            print("| tree | articles/s | CPU ms/article cleaner / enricher / publisher / Redis | all | RSS MiB |")
            print("|---|---|---|---|---|")
            compare_trees(url, client, args.compare_tree.resolve(), args.articles, args.rounds, varied=args.varied)
        if chosen("memory"):
            print("| worker | RSS ready | after 1,000 | after 10,000 | growth 1k->10k |\n|---|---|---|---|---|")
            memory(url, client)
    finally:
        client.close()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
