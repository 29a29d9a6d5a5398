"""Top-level IPTC topic accuracy and language accuracy on hand-labelled texts, and per-article cost.

Run: .venv/bin/python tests/benchmarks/topics.py [--errors]
Sets: AEB pages labelled by hand (tests/fixtures/topics/aeb_labels.json), the gold sample, and short texts
written for the purpose (tests/fixtures/topics/short_texts.json). No entities are given to the classifier here
(the linker is measured elsewhere), so the figures are for the cue lexicons alone.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
FIXTURES = ROOT / "tests" / "fixtures" / "topics"
sys.path.insert(0, str(ROOT))

from newswire.enricher import amounts, language, quotes, topics  # noqa: E402
from newswire.schemas.articles import CleanedArticle  # noqa: E402

RECEIVED = datetime(2024, 9, 19, tzinfo=UTC)


def article(body: str, title: str | None = None) -> CleanedArticle:
    return CleanedArticle(
        text=body,
        title=title,
        article_id="benchmark",
        body=body,
        content_hash="0" * 64,
        word_count=len(body.split()),
        received_at=RECEIVED,
    )


def load_sets() -> dict[str, list[tuple[CleanedArticle, str, set[str]]]]:
    aeb = json.loads((SHARED / "benchmarks" / "aeb" / "ground-truth.json").read_text())
    labels = json.loads((FIXTURES / "aeb_labels.json").read_text())["labels"]
    short = json.loads((FIXTURES / "short_texts.json").read_text())["texts"]
    gold = json.loads((SHARED / "samples" / "alaraby-russia-china.ar.gold.json").read_text())
    sample = article("\n\n".join(gold["cleaned"]["body_paragraphs_in_order"]), gold["cleaned"]["title"])
    return {
        "aeb": [(article(aeb[x["id"]]["articleBody"]), x["language"], set(x["topics"])) for x in labels],
        "short": [(article(x["text"]), x["language"], set(x["topics"])) for x in short],
        "sample": [(sample, "ar", set(gold["enriched"]["topics"]["must"]))],
    }


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def evaluate(cases: list[tuple[CleanedArticle, str, set[str]]], show_errors: bool) -> dict[str, float]:
    tp = fp = fn = 0
    per_topic: dict[str, Counter[str]] = {}
    language_right = 0
    for item, expected_language, expected in cases:
        report = language.detect_languages(item.body, item.title)
        detected = report.body.code if report.body else None
        language_right += detected == expected_language
        found = {t.qcode for t in topics.classify_topics(item, language=detected, entities=[]) if t.level == 1}
        tp += len(found & expected)
        fp += len(found - expected)
        fn += len(expected - found)
        for qcode in found | expected:
            counts = per_topic.setdefault(qcode, Counter())
            counts["tp"] += qcode in found and qcode in expected
            counts["fp"] += qcode in found and qcode not in expected
            counts["fn"] += qcode in expected and qcode not in found
        if show_errors and found != expected:
            print(f"  expected {sorted(expected)} got {sorted(found)}: {item.body[:70]!r}")
    macro = [f1(c["tp"], c["fp"], c["fn"]) for c in per_topic.values()]
    return {
        "n": len(cases),
        "micro_p": tp / (tp + fp) if tp + fp else 0.0,
        "micro_r": tp / (tp + fn) if tp + fn else 0.0,
        "micro_f1": f1(tp, fp, fn),
        "macro_f1": sum(macro) / len(macro) if macro else 0.0,
        "language_accuracy": language_right / len(cases),
    }


def per_article_cost(cases: list[tuple[CleanedArticle, str, set[str]]]) -> dict[str, float]:
    timings: dict[str, float] = {"topics": 0.0, "quotes": 0.0, "amounts": 0.0, "language": 0.0}
    for item, expected_language, _ in cases:
        started = time.perf_counter()
        language.detect_languages(item.body, item.title)
        timings["language"] += time.perf_counter() - started
        started = time.perf_counter()
        topics.classify_topics(item, language=expected_language, entities=[])
        timings["topics"] += time.perf_counter() - started
        started = time.perf_counter()
        quotes.extract_quotes(item.body, language=expected_language, entities=[])
        timings["quotes"] += time.perf_counter() - started
        started = time.perf_counter()
        amounts.extract_amounts(item.body, language=expected_language)
        timings["amounts"] += time.perf_counter() - started
    return {name: total * 1000 / len(cases) for name, total in timings.items()}


def main() -> None:
    show_errors = "--errors" in sys.argv
    language.warm_up()
    topics.warm_up()
    sets = load_sets()
    print(f"command: .venv/bin/python tests/benchmarks/topics.py   (cpus: {os.cpu_count()})")
    print(f"{'set':8} {'n':>4} {'micro P':>8} {'micro R':>8} {'micro F1':>8} {'macro F1':>8} {'lang acc':>8}")
    everything: list[tuple[CleanedArticle, str, set[str]]] = []
    for name, cases in sets.items():
        if show_errors:
            print(f"errors in {name}:")
        result = evaluate(cases, show_errors)
        everything.extend(cases)
        print(
            f"{name:8} {result['n']:>4} {result['micro_p']:>8.3f} {result['micro_r']:>8.3f} "
            f"{result['micro_f1']:>8.3f} {result['macro_f1']:>8.3f} {result['language_accuracy']:>8.3f}"
        )
    result = evaluate(everything, False)
    print(
        f"{'all':8} {result['n']:>4} {result['micro_p']:>8.3f} {result['micro_r']:>8.3f} "
        f"{result['micro_f1']:>8.3f} {result['macro_f1']:>8.3f} {result['language_accuracy']:>8.3f}"
    )
    sample = sets["sample"][0][0]
    sample_topics = topics.classify_topics(sample, language="ar", entities=[])
    print("sample topics:", ", ".join(f"{t.qcode} {t.label} {t.score}" for t in sample_topics))
    per_article_cost(everything)  # first pass warms caches
    cost = per_article_cost(everything)
    hot = cost["topics"] + cost["quotes"] + cost["amounts"]
    print(
        f"ms per article (mean over {len(everything)}): topics {cost['topics']:.2f}, quotes {cost['quotes']:.2f}, "
        f"amounts {cost['amounts']:.2f}, topics+quotes+amounts {hot:.2f}; language {cost['language']:.2f}"
    )


if __name__ == "__main__":
    main()
