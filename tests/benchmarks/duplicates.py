"""Near-duplicate detection quality: precision and recall on AEB articles paired with modified copies and strangers.

Run: .venv/bin/python tests/benchmarks/duplicates.py [--threshold 0.6]

Positives: each AEB article body (at least 400 characters) against a syndicated-style copy of it, made by one of:
boilerplate changed (a share line and a source trailer added), first and last paragraphs trimmed, every third
sentence dropped, or all three. Negatives: each article against 20 random other articles. A pair is predicted a
duplicate when the LSH bands put it in the same bucket (candidate) and the estimated similarity reaches the
threshold, exactly as the publisher decides.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from newswire.publisher.near_duplicates import signature
from tests.benchmarks.workbench import require

AEB_TRUTH = "benchmarks/aeb/ground-truth.json"


def modified_copy(body: str, how: str, rng: random.Random) -> str:
    paragraphs = [p for p in body.split("\n") if p.strip()]
    if how in ("trim", "all") and len(paragraphs) > 3:
        paragraphs = paragraphs[1:-1]
    text = "\n".join(paragraphs)
    if how in ("drop", "all"):
        sentences = re.split(r"(?<=[.!?])\s+", text)
        text = " ".join(s for i, s in enumerate(sentences) if i % 3 != 2 or len(sentences) < 4)
    if how in ("boilerplate", "all"):
        text = f"Share this article\n{text}\nSource: {rng.choice(['AFP', 'Reuters', 'AP'])} | Read more"
    return text


def predicted(a: str, b: str, threshold: float) -> bool:
    first, second = signature(a), signature(b)
    if first is None or second is None:
        return False
    if not set(first.bands()) & set(second.bands()):
        return False
    return first.similarity(second) >= threshold


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()
    rng = random.Random(7)
    truth = require(AEB_TRUTH, "the AEB benchmark's ground truth (article bodies)")
    bodies = [v["articleBody"] for v in json.loads(truth.read_text(encoding="utf-8")).values()]
    bodies = [b for b in bodies if len(b) >= 400]
    tp = fn = fp = tn = 0
    misses: dict[str, int] = {}
    started = time.perf_counter()
    for index, body in enumerate(bodies):
        for how in ("boilerplate", "trim", "drop", "all"):
            if predicted(body, modified_copy(body, how, rng), args.threshold):
                tp += 1
            else:
                fn += 1
                misses[how] = misses.get(how, 0) + 1
        for other in rng.sample([i for i in range(len(bodies)) if i != index], 20):
            if predicted(body, bodies[other], args.threshold):
                fp += 1
            else:
                tn += 1
    elapsed = time.perf_counter() - started
    signatures = len(bodies) * 4 * 2 + len(bodies) * 40
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn)
    print(f"articles: {len(bodies)}; positive pairs: {tp + fn}; negative pairs: {fp + tn}; threshold {args.threshold}")
    print(f"precision {precision:.3f}  recall {recall:.3f}  (TP {tp}, FP {fp}, FN {fn}, TN {tn})")
    print(f"missed positives by modification: {misses}")
    print(f"{elapsed / signatures * 1000:.2f} ms per signature (includes pairing)")
    print(f"command: .venv/bin/python tests/benchmarks/duplicates.py --threshold {args.threshold}")


if __name__ == "__main__":
    main()
