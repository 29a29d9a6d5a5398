"""Article-extraction benchmark: newswire's clean_article against plain trafilatura on the same pages.

Run from the repository root:  .venv/bin/python tests/benchmarks/extraction.py [--compare-settings]
The metric is the benchmark authors' own: `\\w+` tokens, 4-token shingles, multiset TP/FP/FN per page,
precision and recall averaged over pages (a page with no predicted and no true shingles scores 1),
F1 of the two averages.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import platform
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

import trafilatura  # noqa: E402

from newswire.cleaner.clean import clean_article  # noqa: E402
from newswire.errors import ArticleRefused  # noqa: E402
from newswire.schemas import RawArticle  # noqa: E402

BENCHMARK_DIR = REPO_ROOT / ".." / "shared" / "benchmarks" / "aeb"
_TOKEN = re.compile(r"\w+")
# trafilatura settings compared with --compare-settings (all through trafilatura.extract).
SETTINGS: dict[str, dict[str, Any]] = {
    "default": {},
    "favor_precision": {"favor_precision": True},
    "favor_recall": {"favor_recall": True},
    "include_tables=False": {"include_tables": False},
    "include_comments=False": {"include_comments": False},
    "include_comments=False, favor_precision": {"include_comments": False, "favor_precision": True},
    "include_comments=False, favor_recall": {"include_comments": False, "favor_recall": True},
    "include_comments=False, include_tables=False": {"include_comments": False, "include_tables": False},
    "deduplicate": {"deduplicate": True},
}


def shingles(text: str) -> Counter[tuple[str, ...]]:
    """Overlapping 4-token shingles of `text`, as a multiset."""
    tokens = _TOKEN.findall(text)
    return Counter(tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3))


def score(predicted: dict[str, str], truth: dict[str, str]) -> tuple[float, float, float]:
    """Precision and recall averaged over pages, and the F1 of those averages."""
    precision_sum = recall_sum = 0.0
    for page_id, true_text in truth.items():
        pred, true = shingles(predicted.get(page_id, "")), shingles(true_text)
        tp = sum((pred & true).values())
        fp, fn = sum(pred.values()) - tp, sum(true.values()) - tp
        if tp + fp == 0 and tp + fn == 0:
            precision_sum += 1.0
            recall_sum += 1.0
            continue
        precision_sum += tp / (tp + fp) if tp + fp else 0.0
        recall_sum += tp / (tp + fn) if tp + fn else 0.0
    precision, recall = precision_sum / len(truth), recall_sum / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def run(name: str, extract: Callable[[str, str], str], pages: dict[str, str], urls: dict[str, str],
        truth: dict[str, str]) -> None:  # fmt: skip
    """Extract every page, then print the scores and the throughput."""
    started = time.perf_counter()
    predicted = {page_id: extract(html, urls[page_id]) for page_id, html in pages.items()}
    elapsed = time.perf_counter() - started
    precision, recall, f1 = score(predicted, truth)
    print(f"{name:<58} P {precision:.4f}  R {recall:.4f}  F1 {f1:.4f}  {len(pages) / elapsed:6.1f} pages/s", flush=True)


def newswire_body(html: str, url: str) -> str:
    """Body text from clean_article; a refused page predicts nothing."""
    try:
        return clean_article(RawArticle(html=html, url=url), received_at=datetime.now(UTC)).body
    except ArticleRefused:
        return ""


def main() -> None:
    """Load the benchmark and print the figures for newswire and plain trafilatura."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare-settings", action="store_true", help="also score trafilatura setting variants")
    args = parser.parse_args()
    # trafilatura logs every page it discards; the scores say what matters here.
    logging.disable(logging.WARNING)
    ground_truth = json.loads((BENCHMARK_DIR / "ground-truth.json").read_text(encoding="utf-8"))
    truth = {page_id: entry["articleBody"] or "" for page_id, entry in ground_truth.items()}
    urls = {page_id: entry["url"] for page_id, entry in ground_truth.items()}
    pages = {
        page_id: gzip.decompress((BENCHMARK_DIR / "html" / f"{page_id}.html.gz").read_bytes()).decode("utf-8")
        for page_id in ground_truth
    }
    flags = " --compare-settings" if args.compare_settings else ""
    print(f"command: .venv/bin/python tests/benchmarks/extraction.py{flags}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d}  machine: {platform.machine()}, {platform.python_version()}, "
          f"trafilatura {trafilatura.__version__}  pages: {len(pages)}")  # fmt: skip
    run("newswire clean_article (body)", newswire_body, pages, urls, truth)
    run("trafilatura.extract (default settings)", lambda html, url: trafilatura.extract(html, url=url) or "",
        pages, urls, truth)  # fmt: skip
    if args.compare_settings:
        for name, settings in SETTINGS.items():
            run(f"trafilatura.extract ({name})",
                lambda html, url, settings=settings: trafilatura.extract(html, url=url, **settings) or "",
                pages, urls, truth)  # fmt: skip


if __name__ == "__main__":
    main()
