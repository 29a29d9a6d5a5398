"""IPTC top-level topics: trained classifier against the lexicon rules, and per-article cost with language ID.

Run: .venv/bin/python tests/benchmarks/topics.py [--errors]
     .venv/bin/python tests/benchmarks/topics.py --build-report FILE   (tables from a build_topics --report file)

Sets scored here were never trained on: tests/fixtures/topics/short_texts.json (one-sentence texts in 15
languages), tests/fixtures/topics/unseen_articles.json (articles written for the tests, ar/en),
written_news_en_heldout.json (120 English stories labelled by desk, by another writer than the training stories)
and the gold sample. The AEB pages are in the shipped model's training data, so their figures come from the build's
cross-validation (--build-report). No entities are passed. Cost is measured on the sample and the AEB bodies,
before (lexicons, lingua mixed) and after (trained model, fastText + lingua vote) in the same run.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "topics"
sys.path.insert(0, str(ROOT))

from lingua import Language  # noqa: E402

from newswire.enricher.language import DEFAULT_PROFILE, DetectorProfile, LanguageIdentifier  # noqa: E402
from newswire.enricher.topics import TopicModel  # noqa: E402
from newswire.schemas.articles import CleanedArticle  # noqa: E402
from tests.benchmarks.workbench import WORKBENCH as SHARED  # noqa: E402

Case = tuple[CleanedArticle, str, set[str]]


def article(body: str, title: str | None = None) -> CleanedArticle:
    return CleanedArticle(
        text=body,
        title=title,
        article_id="benchmark",
        body=body,
        content_hash="0" * 64,
        word_count=len(body.split()),
        received_at=datetime(2024, 9, 19, tzinfo=UTC),
    )


def load_sets() -> dict[str, list[Case]]:
    short = json.loads((FIXTURES / "short_texts.json").read_text(encoding="utf-8"))["texts"]
    unseen = json.loads((FIXTURES / "unseen_articles.json").read_text(encoding="utf-8"))["articles"]
    gold = json.loads((ROOT / "tests" / "fixtures" / "samples" / "alaraby-russia-china.ar.gold.json").read_text())
    sample = article("\n\n".join(gold["cleaned"]["body_paragraphs_in_order"]), gold["cleaned"]["title"])
    written = json.loads((FIXTURES / "written_news_en_heldout.json").read_text(encoding="utf-8"))["articles"]
    return {
        "short texts": [(article(x["text"]), x["language"], set(x["topics"])) for x in short],
        "written stories, held out (en, by desk)": [
            (article(x["text"], x["title"]), "en", set(x["topics"])) for x in written
        ],
        "unseen articles": [(article(x["body"], x["title"]), x["language"], {x["topic"]}) for x in unseen],
        "gold sample": [(sample, "ar", set(gold["enriched"]["topics"]["must"]))],
    }


def evaluate(model: TopicModel, cases: list[Case], show_errors: bool) -> dict[str, float]:
    tp = fp = fn = top1 = among = 0
    for item, code, expected in cases:
        found_list = [t.qcode for t in model.classify(item, language=code, entities=[]) if t.level == 1]
        found = set(found_list)
        tp, fp, fn = tp + len(found & expected), fp + len(found - expected), fn + len(expected - found)
        top1 += bool(found_list) and found_list[0] in expected
        among += bool(found & expected)
        if show_errors and (not found_list or found_list[0] not in expected):
            print(f"  [{code}] expected {sorted(expected)} got {found_list}: {(item.title or item.body)[:60]!r}")
    n = len(cases)
    return {
        "n": n,
        "top1": top1 / n,
        "among": among / n,
        "micro_p": tp / (tp + fp) if tp + fp else 0.0,
        "micro_r": tp / (tp + fn) if tp + fn else 0.0,
        "micro_f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
    }


def median_ms(run: Callable[[CleanedArticle, str], object], items: list[tuple[CleanedArticle, str]]) -> float:
    """Median over articles of each article's best time in several rounds (more when there are few articles)."""
    best = [float("inf")] * len(items)
    for _ in range(max(3, 100 // len(items))):
        for index, (item, code) in enumerate(items):
            started = time.perf_counter()
            run(item, code)
            best[index] = min(best[index], time.perf_counter() - started)
    return 1000 * statistics.median(best)


def cost(trained: TopicModel, lexicons: TopicModel) -> None:
    process = psutil.Process()
    arabic_script = frozenset({Language.ARABIC, Language.PERSIAN, Language.URDU})
    before = LanguageIdentifier(DetectorProfile("before", arabic_script))
    after = LanguageIdentifier(DEFAULT_PROFILE)
    gold = json.loads((ROOT / "tests" / "fixtures" / "samples" / "alaraby-russia-china.ar.gold.json").read_text())
    sample = article("\n\n".join(gold["cleaned"]["body_paragraphs_in_order"]), gold["cleaned"]["title"])
    groups: dict[str, list[tuple[CleanedArticle, str]]] = {"gold sample (ar)": [(sample, "ar")]}
    aeb_path = SHARED / "benchmarks" / "aeb" / "ground-truth.json"
    if aeb_path.exists():
        aeb = json.loads(aeb_path.read_text(encoding="utf-8"))
        labels = json.loads((FIXTURES / "aeb_labels.json").read_text(encoding="utf-8"))["labels"]
        groups["180 AEB bodies"] = [(article(aeb[x["id"]]["articleBody"]), x["language"]) for x in labels]
    else:
        print(f"(no {aeb_path}: cost on the gold sample only)")
    print("\n| articles | topics before (lexicons) | topics after (trained) | language before (lingua mixed) |"
          " language after (vote) | topics+language after |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, items in groups.items():
        figures = [
            median_ms(lambda item, code: lexicons.classify(item, language=code, entities=[]), items),
            median_ms(lambda item, code: trained.classify(item, language=code, entities=[]), items),
            median_ms(lambda item, code: before.report(item.body, item.title), items),
            median_ms(lambda item, code: after.report(item.body, item.title), items),
            median_ms(
                lambda item, code: (
                    after.report(item.body, item.title),
                    trained.classify(item, language=code, entities=[]),
                ),
                items,
            ),
        ]
        print(f"| {name} | " + " | ".join(f"{value:.2f} ms" for value in figures) + " |")
    print(f"(process RSS {process.memory_info().rss / 2**20:.0f} MB with both identifiers and both topic models)")


def build_tables(path: Path) -> None:
    report = json.loads(path.read_text(encoding="utf-8"))
    print(f"C={report['c']} thresholds={report['thresholds']}")
    print(f"sources (documents, with opening copies): {report['sources']}")
    print(f"lexicon-labelled passages: {report['weak_passages']}")
    print("\n| split | decider | n | top-1 | section among topics | micro-F1 | macro-F1 |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for source, figures in report["dev"].items():
        for decider in ("model", "enricher", "lexicons", "openings enricher", "openings lexicons"):
            if decider in figures:
                f = figures[decider]
                print(
                    f"| dev {source} | {decider} | {f['n']} | {f['top1']:.3f} | {f['gold_among_found']:.3f} | "
                    f"{f['micro_f1']:.3f} | {f['macro_f1']:.3f} |"
                )
    for name, figures in report["aeb"].items():
        for decider, f in figures.items():
            print(
                f"| AEB {name} | {decider} | {f['n']} | {f['top1']:.3f} | {f['gold_among_found']:.3f} | "
                f"{f['micro_f1']:.3f} | {f['macro_f1']:.3f} |"
            )
    print("\ncalibration of the classifier's probabilities on the dev split (every document x topic):")
    for source, figures in report["dev"].items():
        c = figures["calibration"]
        print(f"- {source}: Brier {c['brier']:.4f}, expected calibration error {c['ece']:.4f}")
    tables: list[tuple[str, dict[str, Any]]] = [
        ("dev sanad, classifier", report["dev"]["sanad"]["model"]),
        ("dev jawikinews, classifier", report["dev"]["jawikinews-jfinteb"]["model"]),
        ("AEB report folds en, enricher", report["aeb"]["report folds, en"]["enricher"]),
        ("AEB report folds en, lexicons", report["aeb"]["report folds, en"]["lexicons"]),
        ("AEB all 180, enricher", report["aeb"]["all 180 (en tuned on 2 folds)"]["enricher"]),
    ]
    for title, figures in tables:
        print(f"\nper topic, {title}:\n\n| topic | support | precision | recall | F1 |\n|---|---:|---:|---:|---:|")
        for qcode, f in sorted(figures["per_topic"].items()):
            print(f"| {qcode} | {f['support']} | {f['precision']:.2f} | {f['recall']:.2f} | {f['f1']:.2f} |")


def main() -> None:
    if sys.argv[1:2] == ["--build-report"]:
        build_tables(Path(sys.argv[2]))
        return
    show_errors = "--errors" in sys.argv
    rss = psutil.Process().memory_info().rss
    trained = TopicModel()
    print(f"trained topic model loaded: RSS +{(psutil.Process().memory_info().rss - rss) / 2**20:.0f} MB")
    lexicons = TopicModel(use_trained=False)
    print("\n| set | decider | n | top-1 | section among topics | micro P | micro R | micro F1 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, cases in load_sets().items():
        for decider, model in (("trained", trained), ("lexicons", lexicons)):
            if show_errors:
                print(f"errors, {name}, {decider}:")
            r = evaluate(model, cases, show_errors)
            print(
                f"| {name} | {decider} | {r['n']} | {r['top1']:.3f} | {r['among']:.3f} | {r['micro_p']:.3f} | "
                f"{r['micro_r']:.3f} | {r['micro_f1']:.3f} |"
            )
    cost(trained, lexicons)


if __name__ == "__main__":
    main()
