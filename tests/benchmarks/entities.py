"""Entity-linking benchmark: precision and recall on the gold samples and the hand-annotated articles, and speed.

Run: `.venv/bin/python tests/benchmarks/entities.py`
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared"
SAMPLES = SHARED / "samples"
AEB = SHARED / "benchmarks" / "aeb" / "ground-truth.json"
ANNOTATED = ROOT / "tests" / "fixtures" / "entities" / "annotated.json"


def _fold(text: str) -> str:
    from newswire.enricher.entities.normalize import alias_key

    return alias_key(unicodedata.normalize("NFKC", text).casefold())


def matches(predicted: Any, gold: dict[str, Any]) -> bool:
    """The gold files' rule: same Wikidata id, or canonical name / a mention text equal to a gold name."""
    if gold.get("qid") and predicted.wikidata_id == gold["qid"]:
        return True
    names = {_fold(name) for name in gold["names"]}
    return _fold(predicted.name) in names or any(_fold(m.text) in names for m in predicted.mentions)


def score_article(entities: list[Any], gold: dict[str, Any], counts: dict[str, list[int]], errors: list[str]) -> None:
    """Add true positives, false positives and false negatives per type (`counts[type] = [tp, fp, fn]`)."""
    must, may = gold.get("must", []), gold.get("may", [])
    for item in must:
        hit = next((e for e in entities if matches(e, item)), None)
        if hit is not None and hit.type.value == item["type"]:
            counts[item["type"]][0] += 1
        else:
            counts[item["type"]][2] += 1
            errors.append(f"  missed {item['type']} {item['names'][0]}" + (f" (as {hit.type.value})" if hit else ""))
    for entity in entities:
        if any(matches(entity, item) for item in must) or any(matches(entity, item) for item in may):
            continue
        counts[entity.type.value][1] += 1
        errors.append(f"  extra  {entity.type.value} {entity.name} {[m.text for m in entity.mentions][:3]}")
    for item in gold.get("must_not", []):
        names = {_fold(name) for name in item["names"]}
        for entity in entities:
            if _fold(entity.name) in names:
                errors.append(f"  MUST_NOT {entity.name}")
                counts["MUST_NOT"][1] += 1


def report(label: str, counts: dict[str, list[int]]) -> tuple[float, float]:
    """Print precision and recall per type and overall; return the overall pair."""
    print(f"\n{label}")
    total = [0, 0, 0]
    for entity_type in sorted(counts):
        tp, fp, fn = counts[entity_type]
        if entity_type != "MUST_NOT":
            total = [total[0] + tp, total[1] + fp, total[2] + fn]
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        print(f"  {entity_type:9s} P {p:.3f}  R {r:.3f}  (tp {tp}, fp {fp}, fn {fn})")
    p = total[0] / (total[0] + total[1]) if total[0] + total[1] else 1.0
    r = total[0] / (total[0] + total[2]) if total[0] + total[2] else 1.0
    print(f"  overall   P {p:.3f}  R {r:.3f}  (tp {total[0]}, fp {total[1]}, fn {total[2]})")
    return p, r


def main() -> None:
    """Score quality, then time the linker."""
    process = psutil.Process()
    rss_before = process.memory_info().rss
    started = time.perf_counter()
    from newswire.enricher.entities import link_entities, load_linker

    load_linker()
    load_seconds = time.perf_counter() - started
    rss_added = (process.memory_info().rss - rss_before) / 2**20
    verbose = "-v" in sys.argv

    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for path in sorted(SAMPLES.glob("*.gold.json")):
        gold = json.loads(path.read_text(encoding="utf-8"))
        body = "\n\n".join(gold["cleaned"]["body_paragraphs_in_order"])
        entities = link_entities(body, language=gold.get("language", "ar"), title=gold["cleaned"].get("title"))
        errors: list[str] = []
        score_article(entities, gold["enriched"]["entities"], counts, errors)
        print(f"{path.name}: {len(entities)} entities")
        print("\n".join(errors))
    report("gold samples", counts)

    pages = json.loads(AEB.read_text(encoding="utf-8"))
    annotated = json.loads(ANNOTATED.read_text(encoding="utf-8"))["articles"]
    counts = defaultdict(lambda: [0, 0, 0])
    for article in annotated:
        body = pages[article["id"]]["articleBody"]
        entities = link_entities(body, language=article["language"])
        errors = []
        score_article(entities, article, counts, errors)
        if verbose:
            print(f"{article['id'][:10]} ({article['language']}): {len(entities)} entities")
            print("\n".join(errors))
    report(f"annotated articles ({len(annotated)})", counts)

    bodies = [page["articleBody"] for page in pages.values() if 5000 <= len(page["articleBody"]) <= 7000]
    sample_gold = json.loads(next(SAMPLES.glob("*.gold.json")).read_text(encoding="utf-8"))
    arabic = "\n\n".join(sample_gold["cleaned"]["body_paragraphs_in_order"])
    bodies.append((arabic * 3)[:6000])
    timings = []
    best: dict[int, float] = {}
    for _ in range(5):
        for index, body in enumerate(bodies):
            t0 = time.perf_counter()
            link_entities(body, language=None)
            elapsed = (time.perf_counter() - t0) * 1000
            timings.append(elapsed)
            best[index] = min(best.get(index, elapsed), elapsed)
    mean_chars = statistics.mean(len(b) for b in bodies)
    print(f"\nspeed: {len(bodies)} articles of {mean_chars:.0f} chars on average, 5 rounds")
    print(
        f"  ms per article: median {statistics.median(timings):.2f}, mean {statistics.mean(timings):.2f}, "
        f"max {max(timings):.2f}; best of 5 rounds per article, median {statistics.median(best.values()):.2f}"
    )
    print(f"  linker load: {load_seconds:.2f} s, resident memory added: {rss_added:.0f} MiB")


if __name__ == "__main__":
    main()
