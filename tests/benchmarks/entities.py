"""Entity benchmark: the knowledge-base linker alone and with the trained recogniser, on the gold samples, the
hand-annotated articles and the recogniser's dev splits (mention-level, per document), then speed and memory.

Run: `.venv/bin/python tests/benchmarks/entities.py [-v]` (needs ../shared for the articles and dev splits);
`--through-cleaner` scores the dev splits sent through `clean_article` first, as the running pipeline does;
`--arabic-dev-split DIR K` scores the Arabic dev documents of dev split K (ANERcorp, AQMAR, WikiFANE) with the
Arabic models of DIR, built by `python -m newswire.enricher.entities.build_ner --only ar --out DIR --dev-offset K`.
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
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.workbench import WORKBENCH as SHARED  # noqa: E402

SAMPLES = SHARED / "samples"
AEB = SHARED / "benchmarks" / "aeb" / "ground-truth.json"
FIXTURES = ROOT / "tests" / "fixtures" / "entities"
# Hand-annotated article sets: the first 15 (read in earlier work), the English news dev set (choices about
# English names were made on it) and the held-out set (never used for a choice).
ANNOTATED = {
    "annotated articles": FIXTURES / "annotated.json",
    "English news dev articles": FIXTURES / "annotated-news-dev.json",
    "English news held-out articles": FIXTURES / "annotated-heldout.json",
}


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


DEV_DOCUMENTS = {"ar": ("anercorp-camel-train",), "en": ("wikigold-en",), "fr": ("winer-fr",)}


def _mention_key(text: str) -> str:
    """A mention's comparison form: NFKC, case folding, Arabic letter normalisation."""
    return _fold(text)


# What may stand before an Arabic name in the corpora but not in a linker mention: a conjunction, then a
# preposition; ل before the article fuses with it (للصين = ل + الصين, where the linker says صين).
_PROCLITICS = frozenset({"و", "ف", "ب", "ل", "ك", "وب", "ول", "وك", "فب", "فل", "فك", "لل", "ولل", "فلل"})


def _same_mention(gold: str, predicted: str) -> bool:
    """Equal, or equal but for Arabic proclitics the corpus keeps on the word ("وروسيا") and the linker drops."""
    if gold == predicted:
        return True
    long, short = (gold, predicted) if len(gold) > len(predicted) else (predicted, gold)
    return long.endswith(short) and long[: len(long) - len(short)] in _PROCLITICS


def _matched(keys: set[str], others: set[str]) -> int:
    return sum(1 for key in keys if key in others or any(_same_mention(key, other) for other in others))


def dev_documents(
    language: str, offset: int = 0, corpora: tuple[str, ...] | None = None
) -> list[tuple[str, set[tuple[str, str]]]]:
    """The recogniser's dev split (`build_ner --dev-offset`) as documents (each block of 50 sentences), with their
    gold mentions; `corpora`: other corpora of the language than the news one."""
    from newswire.enricher.entities.build_ner import BLOCK, DEFAULT_DATASETS, load_corpus, spans

    documents = []
    for name in corpora or DEV_DOCUMENTS[language]:
        dev = load_corpus(DEFAULT_DATASETS, name, offset).dev
        for first in range(0, len(dev), BLOCK):
            block = dev[first : first + BLOCK]
            text = "\n".join(" ".join(token for token, _ in sentence) for sentence in block)
            gold = set()
            for sentence in block:
                tokens = [token for token, _ in sentence]
                for start, end, label in spans([tag for _, tag in sentence]):
                    gold.add((_mention_key(" ".join(tokens[start:end])), label))
            documents.append((text, gold))
    return documents


LABELS = {"PERSON": "PER", "ORG": "ORG", "LOC": "LOC"}


# Wire stories written with their names marked (tests/fixtures/entities/wire_stories*.json): the held-out set was
# never trained on and no choice was made on it.
WIRE_HELDOUT = FIXTURES / "wire_stories_heldout.json"


def wire_documents(path: Path = WIRE_HELDOUT) -> list[tuple[str, set[tuple[str, str]]]]:
    """Marked stories as plain texts (headline, dateline, body) with their gold mentions (MISC dropped)."""
    from newswire.enricher.entities.marked import read_stories, unmark

    documents = []
    for _, marked in read_stories(path):
        text, names = unmark(marked)
        gold = {(_mention_key(text[start:end]), label) for start, end, label in names if label != "MISC"}
        documents.append((text, gold))
    return documents


def score_documents(
    linker: Any,
    language: str,
    documents: list[tuple[str, set[tuple[str, str]]]],
    titles: list[str | None] | None = None,
) -> None:
    """Mention-level precision, recall and F1 per type and untyped (string match per document: a gold mention is
    found when a predicted one equals it, Arabic proclitics aside; a predicted one is right when it equals a gold
    one). `titles`: each document's headline, as the enricher passes it (it counts, it adds no entity)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for index, (text, gold) in enumerate(documents):
        predicted = {
            (_mention_key(m.text), LABELS[e.type.value])
            for e in linker.link(text, language, titles[index] if titles else None)
            if e.type.value in LABELS
            for m in e.mentions
        }
        pairs = [
            (label, {k for k, t in gold if t == label}, {k for k, t in predicted if t == label})
            for label in LABELS.values()
        ]
        pairs.append(("untyped", {k for k, _ in gold}, {k for k, _ in predicted}))
        for label, g, p in pairs:
            # [gold found, gold, predictions right, predictions]
            counts[label] = [
                a + b for a, b in zip(counts[label], (_matched(g, p), len(g), _matched(p, g), len(p)), strict=True)
            ]
    for label in ("PER", "ORG", "LOC", "untyped"):
        found, gold_count, right, predicted_count = counts[label]
        p = right / predicted_count if predicted_count else 0.0
        r = found / gold_count if gold_count else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        print(f"  {label:8s} P {p:.3f}  R {r:.3f}  F1 {f:.3f}  ({gold_count} gold, {predicted_count} predicted)")


def enricher_cost(linker: Any, arabic: str) -> None:
    """CPU ms of the whole enrichment of a ~1,700-character Arabic article, with and without the recogniser."""
    from datetime import UTC, datetime

    from newswire.enricher import enrich
    from newswire.schemas import CleanedArticle

    body = arabic[: arabic.rfind("\n", 0, 1800)]
    article = CleanedArticle(
        text=body,
        article_id="bench",
        body=body,
        content_hash="0" * 64,
        word_count=len(body.split()),
        received_at=datetime(2026, 11, 30, tzinfo=UTC),
    )
    enrich.warm_up()
    recogniser = linker.recogniser
    print(f"\nenricher, whole enrich_article on {len(body)} characters of the Arabic sample, 300 runs each:")
    for label in ("with recogniser", "knowledge base only", "with recogniser"):
        linker.recogniser = recogniser if label == "with recogniser" else None
        timings = []
        for _ in range(300):
            c0 = time.process_time()
            enrich.enrich_article(article)
            timings.append((time.process_time() - c0) * 1000)
        print(f"  {label}: CPU ms per article median {statistics.median(timings):.2f}")
    linker.recogniser = recogniser


def through_cleaner() -> None:
    """The dev documents sent through `clean_article` as scraped text first (what the running pipeline does with a
    wire story), against the same documents given to the linker directly; the cleaner with and without its
    extracted-article rule (`newswire.cleaner.text`)."""
    from datetime import UTC, datetime

    from newswire.cleaner import text as scraped_text
    from newswire.cleaner.clean import clean_article
    from newswire.enricher.entities import load_linker
    from newswire.schemas import RawArticle

    linker = load_linker()
    shipped = scraped_text._EXTRACTED_MAX_DROPPED
    for language in DEV_DOCUMENTS:
        documents = dev_documents(language)
        print(f"\ndev split {language} ({len(documents)} documents), linker given the text directly")
        score_documents(linker, language, documents)
        for label, cutoff in (("without the extracted-article rule", -1.0), ("as shipped", shipped)):
            scraped_text._EXTRACTED_MAX_DROPPED = cutoff
            cleaned = []
            for text, gold in documents:
                article = clean_article(RawArticle(text=text), received_at=datetime.now(UTC))
                cleaned.append(((f"{article.title}\n" if article.title else "") + article.body, gold))
            print(f"dev split {language}, through clean_article, {label}")
            score_documents(linker, language, cleaned)
    scraped_text._EXTRACTED_MAX_DROPPED = shipped
    documents = wire_documents()
    print(f"\nwritten wire stories, held out ({len(documents)}), linker given the text directly")
    score_documents(linker, "en", documents)
    articles = [clean_article(RawArticle(text=text), received_at=datetime.now(UTC)) for text, _ in documents]
    print("written wire stories, held out, through clean_article as the pipeline links them (body; headline counted)")
    bodies = [(a.body, gold) for a, (_, gold) in zip(articles, documents, strict=True)]
    score_documents(linker, "en", bodies, [a.title for a in articles])


def arabic_dev_split(models: Path, offset: int) -> None:
    """The Arabic dev documents of one dev split through the linker, with the Arabic models built for that split
    (`build_ner --only ar --out DIR --dev-offset K`; a model missing from DIR is taken from the package)."""
    from newswire.enricher.entities.features import FeatureExtractor
    from newswire.enricher.entities.kb import DATA_DIR, load_entities, load_lexicon
    from newswire.enricher.entities.linker import EntityLinker
    from newswire.enricher.entities.ner import NamedEntityRecogniser, model_paths

    entities, lexicon = load_entities(), load_lexicon()
    linker = EntityLinker(entities, lexicon, recogniser=False)
    paths = {
        script: tuple(path if path.is_file() else DATA_DIR / path.name for path in files)
        for script, files in model_paths(models).items()
    }
    linker.recogniser = NamedEntityRecogniser(FeatureExtractor(entities, lexicon, linker.matcher), paths)
    for corpus in ("anercorp-camel-train", "aqmar", "wikifane-gold"):
        documents = dev_documents("ar", offset, (corpus,))
        print(f"\n{corpus} dev split K{offset} ({len(documents)} documents), models of {models}")
        score_documents(linker, "ar", documents)


def main() -> None:
    """Score quality with and without the recogniser, then time both."""
    if "--through-cleaner" in sys.argv:
        through_cleaner()
        return
    if "--arabic-dev-split" in sys.argv:
        at = sys.argv.index("--arabic-dev-split")
        arabic_dev_split(Path(sys.argv[at + 1]), int(sys.argv[at + 2]))
        return
    process = psutil.Process()
    rss_before = process.memory_info().rss
    started = time.perf_counter()
    from newswire.enricher.enrich import release_freed_memory
    from newswire.enricher.entities import load_linker
    from newswire.enricher.entities.kb import load_entities, load_lexicon
    from newswire.enricher.entities.linker import EntityLinker

    # One BLAS thread, as in the enricher worker (EnricherStage.warm_up), once numpy is loaded: one core's times.
    threadpool_limits(limits=1, user_api="blas")
    load_linker()
    release_freed_memory()  # as enrich.warm_up does in the worker
    load_seconds = time.perf_counter() - started
    rss_added = (process.memory_info().rss - rss_before) / 2**20
    verbose = "-v" in sys.argv
    kb_only = EntityLinker(load_entities(), load_lexicon(), recogniser=False)
    with_ner = load_linker()
    for language in DEV_DOCUMENTS:
        documents = dev_documents(language)
        for label, linker in (("knowledge base only", kb_only), ("with recogniser", with_ner)):
            print(f"\ndev split {language} ({len(documents)} documents), {label}")
            score_documents(linker, language, documents)

    documents = wire_documents()
    for label, linker in (("knowledge base only", kb_only), ("with recogniser", with_ner)):
        print(f"\nwritten wire stories, held out ({len(documents)} documents), {label}")
        score_documents(linker, "en", documents)

    linkers = (("knowledge base only", kb_only), ("with recogniser", with_ner))
    for label, linker in linkers:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for path in sorted(SAMPLES.glob("*.gold.json")):
            gold = json.loads(path.read_text(encoding="utf-8"))
            body = "\n\n".join(gold["cleaned"]["body_paragraphs_in_order"])
            entities = linker.link(body, gold.get("language", "ar"), gold["cleaned"].get("title"))
            errors: list[str] = []
            score_article(entities, gold["enriched"]["entities"], counts, errors)
            if verbose:
                print(f"{path.name}: {len(entities)} entities")
                print("\n".join(errors))
        report(f"gold samples, {label}", counts)

    pages = json.loads(AEB.read_text(encoding="utf-8"))
    for set_name, path in ANNOTATED.items():
        annotated = json.loads(path.read_text(encoding="utf-8"))["articles"]
        for label, linker in linkers:
            counts = defaultdict(lambda: [0, 0, 0])
            for article in annotated:
                body = pages[article["id"]]["articleBody"]
                entities = linker.link(body, article["language"], None)
                errors = []
                score_article(entities, article, counts, errors)
                # The held-out set's errors are not printed: reading them would make it a dev set.
                if verbose and "held-out" not in set_name:
                    print(f"{article['id'][:10]} ({article['language']}): {len(entities)} entities")
                    print("\n".join(errors))
            report(f"{set_name} ({len(annotated)}), {label}", counts)

    bodies = [page["articleBody"] for page in pages.values() if 5000 <= len(page["articleBody"]) <= 7000]
    sample_gold = json.loads(next(SAMPLES.glob("*.gold.json")).read_text(encoding="utf-8"))
    arabic = "\n\n".join(sample_gold["cleaned"]["body_paragraphs_in_order"])
    bodies.append((arabic * 3)[:6000])
    # Arabic news, where the window network runs beside the CRF: the dev documents cut to about 6,000 characters.
    arabic_news = [text[: text.rfind("\n", 0, 6000)] for text, _ in dev_documents("ar") if len(text) > 6000]
    for set_name, texts in (("5-7 KB: AEB bodies and the Arabic sample", bodies), ("Arabic news, 6 KB", arabic_news)):
        mean_chars = statistics.mean(len(b) for b in texts)
        print(f"\nspeed, {set_name}: {len(texts)} articles of {mean_chars:.0f} chars on average, 5 rounds")
        # CPU time of this process (time.process_time) as well as wall time: on a shared machine the wall time
        # also counts the time other processes held the core.
        for label, linker in linkers:
            cpu, wall = [], []
            for _ in range(5):
                for body in texts:
                    c0, w0 = time.process_time(), time.perf_counter()
                    linker.link(body, None, None)
                    cpu.append((time.process_time() - c0) * 1000)
                    wall.append((time.perf_counter() - w0) * 1000)
            for kind, timings in (("CPU", cpu), ("wall", wall)):
                timings.sort()
                p95 = timings[int(0.95 * (len(timings) - 1))]
                print(f"  {label}, {kind} ms per article: median {statistics.median(timings):.2f}, p95 {p95:.2f}")
    rss_end = (process.memory_info().rss - rss_before) / 2**20
    print(f"  linker with recogniser, load {load_seconds:.2f} s, resident memory added by the load {rss_added:.0f} MiB")
    print(f"  resident memory added at the end (both linkers, feature cache filled by all the text): {rss_end:.0f} MiB")
    # Last: it loads the rest of the enricher (language, topics, quotes, amounts), which the figures above exclude.
    enricher_cost(with_ner, arabic)


if __name__ == "__main__":
    main()
