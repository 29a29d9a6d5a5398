"""Article-extraction benchmark: newswire's clean_article against plain trafilatura on the same pages.

Run from the repository root:  .venv/bin/python tests/benchmarks/extraction.py [--compare-settings] [--text]
With --text the pages are also sent as a crawler's text dump (newswire.cleaner.text_dump: a line per block
element, scripts and styles dropped) and scored for keeping every line, the previous text cleaner, the
current one with the shipped line model (which was trained on these pages), and the current one 5-fold
cross-validated (each page cleaned by a line model trained without its fold: the honest figure).
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
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import trafilatura  # noqa: E402

from newswire.cleaner import build_line_model, lines  # noqa: E402
from newswire.cleaner.clean import clean_article  # noqa: E402
from newswire.cleaner.text_dump import html_to_text_dump  # noqa: E402
from newswire.errors import ArticleRefused  # noqa: E402
from newswire.schemas import RawArticle  # noqa: E402
from tests.benchmarks.workbench import WORKBENCH  # noqa: E402

BENCHMARK_DIR = WORKBENCH / "benchmarks" / "aeb"
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


def score(predicted: dict[str, str], truth: dict[str, str]) -> tuple[float, float, float]:
    """The AEB metric (`\\w+` tokens, 4-token shingles, P and R averaged over pages, F1 of the averages); the
    line model's build script scores its folds with the same function."""
    return build_line_model.aeb_score(predicted, truth)


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


def newswire_text_body(text: str, url: str) -> str:
    """Body text from clean_article given the page as text; a refused page predicts nothing."""
    try:
        return clean_article(RawArticle(text=text, url=url), received_at=datetime.now(UTC)).body
    except ArticleRefused:
        return ""


def previous_text_body(text: str, _url: str) -> str:
    """Body text of the text cleaner before the line classifier."""
    from previous_text_cleaner import clean_scraped_text

    extract = clean_scraped_text(text, title=None, latest_year=datetime.now(UTC).year + 1)
    return "\n\n".join(line for line, _ in extract.blocks)


def cross_validated(
    texts: tuple[dict[str, str], ...], urls: dict[str, str], truth: dict[str, str]
) -> list[dict[str, str]]:
    """Each page of each of `texts` cleaned with a line model trained without the page's fold (same recipe as the
    shipped model)."""
    corpus = build_line_model.Corpus(BENCHMARK_DIR)
    text_ids = corpus.add_text_pages()
    predicted: list[dict[str, str]] = [{} for _ in texts]
    for fold in range(build_line_model._FOLDS):
        held = [page_id for page_id in truth if build_line_model.page_fold(page_id) == fold]
        rest = [page_id for page_id in corpus.ids if build_line_model.page_fold(page_id) != fold]
        for part, cleaned in zip(predicted, _cleaned_by_model(corpus, rest + text_ids, held, texts, urls), strict=True):
            part.update(cleaned)
    return predicted


def nested_cross_validated(
    dumps: dict[str, str], urls: dict[str, str], truth: dict[str, str], candidates: tuple[int, ...] = (4, 6, 9)
) -> dict[str, str]:
    """The honest figure for choosing the vocabulary's minimum pages per word by cross-validation: for each outer
    fold, every candidate is scored by 4-fold cross-validation on the other folds only, and a model with the best
    one (ties: the lower) trained on them cleans the outer fold."""
    corpus = build_line_model.Corpus(BENCHMARK_DIR)
    text_ids = corpus.add_text_pages()
    shipped_minimum = build_line_model._VOCABULARY_MIN_PAGES
    folds = range(build_line_model._FOLDS)
    predicted: dict[str, str] = {}
    try:
        for outer in folds:
            rest = [page_id for page_id in corpus.ids if build_line_model.page_fold(page_id) != outer]
            inner_f1 = {}
            for minimum in candidates:
                build_line_model._VOCABULARY_MIN_PAGES = minimum
                inner: dict[str, str] = {}
                for fold in folds:
                    if fold != outer:
                        held = [page_id for page_id in truth if build_line_model.page_fold(page_id) == fold]
                        train_ids = [page_id for page_id in rest if build_line_model.page_fold(page_id) != fold]
                        inner.update(_cleaned_by_model(corpus, train_ids + text_ids, held, (dumps,), urls)[0])
                inner_f1[minimum] = score(inner, {page_id: truth[page_id] for page_id in inner})[2]
            best = max(candidates, key=lambda minimum: (round(inner_f1[minimum], 4), -minimum))
            build_line_model._VOCABULARY_MIN_PAGES = best
            held = [page_id for page_id in truth if build_line_model.page_fold(page_id) == outer]
            predicted.update(_cleaned_by_model(corpus, rest + text_ids, held, (dumps,), urls)[0])
            choices = ", ".join(f"{minimum}: {f1:.4f}" for minimum, f1 in inner_f1.items())
            print(f"  outer fold {outer}: inner 4-fold F1 by minimum pages {{{choices}}} -> {best}", flush=True)
    finally:
        build_line_model._VOCABULARY_MIN_PAGES = shipped_minimum
    return predicted


def _cleaned_by_model(
    corpus: build_line_model.Corpus,
    train_ids: list[str],
    clean_ids: list[str],
    texts: tuple[dict[str, str], ...],
    urls: dict[str, str],
) -> list[dict[str, str]]:
    """The pages `clean_ids` of each of `texts` cleaned with a line model trained on `train_ids` (the shipped
    recipe)."""
    model = build_line_model.train(corpus, train_ids)
    shipped_path = lines.MODEL_PATH
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.json"
        path.write_text(json.dumps(build_line_model.model_document(model, "cross-validation")), encoding="utf-8")
        lines.MODEL_PATH = path
        lines.line_model.cache_clear()
        try:
            return [
                {page_id: newswire_text_body(text[page_id], urls[page_id]) for page_id in clean_ids} for text in texts
            ]
        finally:
            lines.MODEL_PATH = shipped_path
            lines.line_model.cache_clear()


def text_cost() -> None:
    """CPU milliseconds per article on scraped-text articles: the demo sample, and the repository's text fixtures
    with the sample (median over many runs of each article; time.process_time, so other work on the machine
    counts less than in wall time)."""
    sample = (REPO_ROOT / "services" / "demo" / "sample.ar.txt").read_text(encoding="utf-8")
    texts = [json.loads(path.read_text(encoding="utf-8"))["raw"]["text"]
             for path in sorted((REPO_ROOT / "tests" / "fixtures" / "cleaner" / "text").glob("*.json"))]  # fmt: skip
    texts.append(sample)
    cleaners = (("previous text cleaner", previous_text_body), ("newswire clean_article", newswire_text_body))
    for name, extract in cleaners:
        medians = sorted(_median_cpu_ms(extract, text) for text in texts)
        print(f"demo sample ({len(sample)} chars), {name}: median {_median_cpu_ms(extract, sample, 500):.2f} ms CPU; "
              f"scraped-text articles ({len(texts)}, {sum(map(len, texts)) // len(texts)} chars on average): median "
              f"{medians[len(medians) // 2]:.2f} ms, max {medians[-1]:.2f} ms CPU per article")  # fmt: skip
    print(f"load average: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


def _median_cpu_ms(extract: Callable[[str, str], str], text: str, runs: int = 100) -> float:
    extract(text, "")
    timings = []
    for _ in range(runs):
        started = time.process_time()
        extract(text, "")
        timings.append(time.process_time() - started)
    timings.sort()
    return timings[len(timings) // 2] * 1000


def run_text(pages: dict[str, str], urls: dict[str, str], truth: dict[str, str]) -> None:
    """The text-dump rows: keep everything, previous text cleaner, current cleaner (shipped and cross-validated)."""
    dumps = {page_id: html_to_text_dump(html) for page_id, html in pages.items()}
    run("text dump: keep every line", lambda text, _url: text, dumps, urls, truth)
    run("text dump: previous text cleaner", previous_text_body, dumps, urls, truth)
    run("text dump: newswire clean_article (shipped model*)", newswire_text_body, dumps, urls, truth)
    # The true bodies sent as text: what a scraper that extracts the article itself sends; ideally all stays.
    bodies = {page_id: text for page_id, text in truth.items() if text.strip()}
    started = time.perf_counter()
    predicted, from_bodies = cross_validated((dumps, truth), urls, truth)
    elapsed = time.perf_counter() - started
    precision, recall, f1 = score(predicted, truth)
    print(f"{'text dump: newswire clean_article, 5-fold cross-validated':<58} P {precision:.4f}  R {recall:.4f}  "
          f"F1 {f1:.4f}  (training included, {elapsed:.0f} s)")  # fmt: skip
    dev = {page_id: text for page_id, text in truth.items() if build_line_model.page_fold(page_id) == 0}
    precision, recall, f1 = score({page_id: predicted[page_id] for page_id in dev}, dev)
    print(f"{'  of which the dev fold (fold 0, ' + str(len(dev)) + ' pages)':<58} P {precision:.4f}  R {recall:.4f}  "
          f"F1 {f1:.4f}")  # fmt: skip
    precision, recall, f1 = score({page_id: from_bodies[page_id] for page_id in bodies}, bodies)
    print(f"{'extracted article text (true bodies): 5-fold cross-validated':<58} P {precision:.4f}  R {recall:.4f}  "
          f"F1 {f1:.4f}")  # fmt: skip
    dev = {page_id: text for page_id, text in bodies.items() if build_line_model.page_fold(page_id) == 0}
    precision, recall, f1 = score({page_id: from_bodies[page_id] for page_id in dev}, dev)
    print(f"{'  of which the dev fold (fold 0, ' + str(len(dev)) + ' pages)':<58} P {precision:.4f}  R {recall:.4f}  "
          f"F1 {f1:.4f}")  # fmt: skip
    print("* the shipped model was trained on every page of the benchmark: a training-set figure")
    text_cost()


def main() -> None:
    """Load the benchmark and print the figures for newswire and plain trafilatura."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare-settings", action="store_true", help="also score trafilatura setting variants")
    parser.add_argument("--text", action="store_true", help="also score the pages sent as a text dump")
    parser.add_argument(
        "--nested", action="store_true", help="with --text: nested cross-validation of the vocabulary threshold"
    )
    args = parser.parse_args()
    if not (BENCHMARK_DIR / "ground-truth.json").exists():
        sys.exit(f"the article-extraction benchmark is not at {BENCHMARK_DIR.resolve()} "
                 "(expected ground-truth.json and html/<id>.html.gz); nothing to measure")  # fmt: skip
    # trafilatura logs every page it discards; the scores say what matters here.
    logging.disable(logging.WARNING)
    ground_truth = json.loads((BENCHMARK_DIR / "ground-truth.json").read_text(encoding="utf-8"))
    truth = {page_id: entry["articleBody"] or "" for page_id, entry in ground_truth.items()}
    urls = {page_id: entry["url"] for page_id, entry in ground_truth.items()}
    pages = {
        page_id: gzip.decompress((BENCHMARK_DIR / "html" / f"{page_id}.html.gz").read_bytes()).decode("utf-8")
        for page_id in ground_truth
    }
    flags = (" --compare-settings" if args.compare_settings else "") + (" --text" if args.text else "")
    flags += " --nested" if args.nested else ""
    print(f"command: .venv/bin/python tests/benchmarks/extraction.py{flags}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d}  machine: {platform.machine()}, {platform.python_version()}, "
          f"trafilatura {trafilatura.__version__}  pages: {len(pages)}")  # fmt: skip
    run("newswire clean_article (body)", newswire_body, pages, urls, truth)
    run("trafilatura.extract (default settings)", lambda html, url: trafilatura.extract(html, url=url) or "",
        pages, urls, truth)  # fmt: skip
    if args.text:
        run_text(pages, urls, truth)
    if args.text and args.nested:
        dumps = {page_id: html_to_text_dump(html) for page_id, html in pages.items()}
        predicted = nested_cross_validated(dumps, urls, truth)
        precision, recall, f1 = score(predicted, truth)
        print(f"{'text dump: clean_article, nested 5-fold (threshold chosen inside)':<58} P {precision:.4f}  "
              f"R {recall:.4f}  F1 {f1:.4f}")  # fmt: skip
    if args.compare_settings:
        for name, settings in SETTINGS.items():
            run(f"trafilatura.extract ({name})",
                lambda html, url, settings=settings: trafilatura.extract(html, url=url, **settings) or "",
                pages, urls, truth)  # fmt: skip


if __name__ == "__main__":
    main()
