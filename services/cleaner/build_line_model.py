"""Build the line classifier's data files: `lexicons/stopwords.json` and `lexicons/line_model.json`.

    .venv/bin/python -m newswire.cleaner.build_line_model [--aeb ../shared/benchmarks/aeb] [--check]

Training data: the article-extraction benchmark's pages (Scrapinghub, MIT licence) turned into a crawler's text
dump (`text_dump.py`), each line labelled article or not by how many of its word 4-grams are in the page's
ground-truth body. Pages are split deterministically by a hash of their id into five folds; fold 0 is the dev
split that every choice is checked on and that the printed dev figure comes from; the shipped model is then
trained on all pages. Needs numpy (training only; the cleaner runs the model in pure Python).
Deterministic: the same inputs give byte-identical files.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from newswire.cleaner.lines import (
    VOCABULARY_FEATURES,
    feature_names,
    line_words,
    page_features,
    second_pass_features,
    second_pass_names,
    vocabulary_features,
)
from newswire.cleaner.normalize import fold_case, normalize_text

_HERE = Path(__file__).resolve().parent
_LEXICONS = _HERE / "lexicons"
STOP_WORDS_PATH = _LEXICONS / "stopwords.json"
_DEFAULT_AEB = _HERE.parents[1] / ".." / "shared" / "benchmarks" / "aeb"
_REPOSITORY = _HERE.parents[1]
# Scraped-text pages with their expected body, in eight languages (the test fixtures and the demo sample):
# they teach the model what a short scraped page looks like, which the benchmark's whole-page dumps do not.
_TEXT_PAGES = _REPOSITORY / "tests" / "fixtures" / "cleaner" / "text"
_SAMPLE_TEXT = _REPOSITORY / "services" / "demo" / "sample.ar.txt"
_SAMPLE_GOLD = _REPOSITORY / "tests" / "fixtures" / "samples" / "alaraby-russia-china.ar.gold.json"
# A scraped-text page counts as much as this many benchmark pages in training.
_TEXT_PAGE_WEIGHT = 3.0
_TOKEN = re.compile(r"\w+")
_FOLDS = 5
_DEV_FOLD = 0
_STOP_WORDS_PER_LANGUAGE = 200
_L2 = 1.0
# A word enters the learned vocabulary when it stands on at least this many training pages (so no site's own
# names do), with its log odds of article against furniture lines clipped to this bound. The minimum was chosen by
# 5-fold cross-validation of clean_article over 4, 6 and 9 pages (F1 0.9011, 0.8990, 0.8978); choosing it that
# way scores 0.9023 under nested cross-validation (`tests/benchmarks/extraction.py --text --nested`).
_VOCABULARY_MIN_PAGES = 4
_VOCABULARY_CLIP = 3.0
# jusText stoplist names of the languages newswire reads, with their ISO 639-1 codes.
_STOPLISTS = {
    "Arabic": "ar", "Persian": "fa", "Urdu": "ur", "Hebrew": "he", "English": "en", "French": "fr", "Spanish": "es",
    "Portuguese": "pt", "Italian": "it", "German": "de", "Dutch": "nl", "Swedish": "sv", "Danish": "da",
    "Norwegian_Bokmal": "nb", "Finnish": "fi", "Polish": "pl", "Czech": "cs", "Slovak": "sk", "Hungarian": "hu",
    "Romanian": "ro", "Bulgarian": "bg", "Russian": "ru", "Ukrainian": "uk", "Serbian": "sr", "Croatian": "hr",
    "Slovenian": "sl", "Greek": "el", "Turkish": "tr", "Azerbaijani": "az", "Indonesian": "id", "Malay": "ms",
    "Vietnamese": "vi", "Tagalog": "tl", "Hindi": "hi", "Bengali": "bn", "Tamil": "ta", "Swahili": "sw",
    "Catalan": "ca", "Lithuanian": "lt", "Latvian": "lv", "Estonian": "et", "Kurdish": "ku", "Korean": "ko",
}  # fmt: skip


def build_stop_words() -> dict[str, Any]:
    """Top words of jusText's stoplists (BSD licence), folded and tokenised like the cleaner's tokens."""
    import justext

    folder = Path(justext.__file__).parent / "stoplists"
    languages: dict[str, list[str]] = {}
    for name, code in sorted(_STOPLISTS.items(), key=lambda item: item[1]):
        words: list[str] = []
        for line in (folder / f"{name}.txt").read_text(encoding="utf-8").split("\n"):
            for token in _TOKEN.findall(fold_case(line)):
                if token not in words and not token.isdigit():
                    words.append(token)
            if len(words) >= _STOP_WORDS_PER_LANGUAGE:
                break
        languages[code] = sorted(words)
    return {
        "about": "Most frequent words per language, the first entries of jusText's stoplists (BSD-2-Clause, "
        "Copyright (c) 2011 Jan Pomikalek, 2013 Michal Belica), folded and split into \\w+ tokens.",
        "sources": {"jusText": metadata.version("jusText")},
        "languages": languages,
    }


def render_stop_words(document: dict[str, Any]) -> str:
    """The stop-word file's text, byte for byte."""
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def page_fold(page_id: str) -> int:
    """Deterministic fold of a page (0 is the dev split)."""
    return int(hashlib.sha256(page_id.encode()).hexdigest()[:8], 16) % _FOLDS


def shingles(tokens: Sequence[str]) -> Counter[tuple[str, ...]]:
    """Overlapping 4-token shingles, as a multiset."""
    return Counter(tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3))


def aeb_score(predicted: dict[str, str], truth: dict[str, str]) -> tuple[float, float, float]:
    """The benchmark's metric: P and R averaged over pages, F1 of the averages."""
    precision_sum = recall_sum = 0.0
    for page_id, true_text in truth.items():
        pred, true = shingles(_TOKEN.findall(predicted.get(page_id, ""))), shingles(_TOKEN.findall(true_text))
        tp = sum((pred & true).values())
        fp, fn = sum(pred.values()) - tp, sum(true.values()) - tp
        if tp + fp == 0 and tp + fn == 0:
            precision_sum += 1.0
            recall_sum += 1.0
            continue
        precision_sum += tp / (tp + fp) if tp + fp else 0.0
        recall_sum += tp / (tp + fn) if tp + fn else 0.0
    precision, recall = precision_sum / len(truth), recall_sum / len(truth)
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def line_labels(lines: Sequence[str], body: str) -> tuple[list[int], list[float]]:
    """Label each line 1 when most 4-grams touching its words (with 3 words of context) are in the body.

    The weight is the number of such 4-grams: what the line is worth to the benchmark's metric.
    """
    true = set(shingles(_TOKEN.findall(body)))
    tokens = [_TOKEN.findall(line) for line in lines]
    labels: list[int] = []
    weights: list[float] = []
    for index, own in enumerate(tokens):
        before = [token for line in tokens[max(0, index - 3) : index] for token in line][-3:]
        after = [token for line in tokens[index + 1 : index + 4] for token in line][:3]
        window = [*before, *own, *after]
        grams = [tuple(window[i : i + 4]) for i in range(len(window) - 3)]
        # Keep only 4-grams that contain at least one of the line's own words.
        grams = [gram for i, gram in enumerate(grams) if i + 3 >= len(before) and i < len(before) + len(own)]
        hits = sum(1 for gram in grams if gram in true)
        labels.append(1 if grams and hits * 2 >= len(grams) else 0)
        weights.append(float(len(own)))
    return labels, weights


def _fit_logistic(x: Any, y: Any, w: Any) -> dict[str, Any]:
    """L2-regularised logistic regression by Newton's method on standardised features (deterministic)."""
    import numpy as np

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = w / w.mean()
    beta = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], _L2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ beta, -30, 30)))
        gradient = z.T @ (w * (p - y)) + penalty * beta
        hessian = (z * (w * p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return {"mean": mean, "scale": scale, "weights": beta[:-1], "bias": float(beta[-1])}


def _predict(model: dict[str, Any], x: Any) -> Any:
    import numpy as np

    z = ((x - model["mean"]) / model["scale"]) @ model["weights"] + model["bias"]
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


class Corpus:
    """The benchmark's pages as lines, features, labels and weights."""

    def __init__(self, folder: Path) -> None:
        ground_truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
        from newswire.cleaner.text_dump import html_to_text_dump

        self.ids = sorted(ground_truth)
        self.truth = {page_id: ground_truth[page_id]["articleBody"] or "" for page_id in self.ids}
        self.lines: dict[str, list[str]] = {}
        self.features: dict[str, list[list[float]]] = {}
        self.labels: dict[str, list[int]] = {}
        self.weights: dict[str, list[float]] = {}
        self.words: dict[str, list[frozenset[str]]] = {}
        self.page_weights: dict[str, float] = dict.fromkeys(self.ids, 1.0)
        for page_id in self.ids:
            html = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes()).decode("utf-8")
            lines = [line for line in normalize_text(html_to_text_dump(html)).split("\n") if line.strip()]
            self._add_lines(page_id, lines)
            self.labels[page_id], self.weights[page_id] = line_labels(lines, self.truth[page_id])

    def add_text_pages(self) -> list[str]:
        """Add the scraped-text pages (training only); returns their ids."""
        pages: list[tuple[str, str, list[str]]] = []
        for path in sorted(_TEXT_PAGES.glob("*.json")):
            case = json.loads(path.read_text(encoding="utf-8"))
            pages.append((f"text:{path.stem}", case["raw"]["text"], case["expect"]["paragraphs"]))
        if _SAMPLE_TEXT.exists() and _SAMPLE_GOLD.exists():
            gold = json.loads(_SAMPLE_GOLD.read_text(encoding="utf-8"))["cleaned"]
            pages.append(("text:sample", _SAMPLE_TEXT.read_text(encoding="utf-8"), gold["body_paragraphs_in_order"]))
        for page_id, text, paragraphs in pages:
            lines = [line.strip() for line in normalize_text(text).split("\n") if line.strip()]
            body = set(paragraphs)
            self._add_lines(page_id, lines)
            self.labels[page_id] = [1 if line in body else 0 for line in lines]
            self.weights[page_id] = [float(len(_TOKEN.findall(line))) for line in lines]
            self.truth[page_id] = "\n".join(paragraphs)
            self.page_weights[page_id] = _TEXT_PAGE_WEIGHT
        return [page_id for page_id, _, _ in pages]

    def _add_lines(self, page_id: str, lines: list[str]) -> None:
        # The vocabulary features are filled in per training run (`with_vocabulary`).
        self.lines[page_id] = lines
        self.features[page_id] = page_features(lines, vocabulary={})
        self.words[page_id] = [line_words([fold_case(token) for token in _TOKEN.findall(line)]) for line in lines]

    def arrays(self, ids: Sequence[str], rows: dict[str, list[list[float]]] | None = None) -> tuple[Any, Any, Any]:
        """Stacked features, labels and weights (each page's weights sum to 1, as each page counts once)."""
        import numpy as np

        source = rows if rows is not None else self.features
        x = np.array([row for page_id in ids for row in source[page_id]], dtype=float)
        y = np.array([label for page_id in ids for label in self.labels[page_id]], dtype=float)
        weights: list[float] = []
        for page_id in ids:
            page = self.weights[page_id]
            total = (sum(page) or 1.0) / self.page_weights[page_id]
            weights.extend(weight / total + self.page_weights[page_id] / (20 * len(page)) for weight in page)
        return x, y, np.array(weights)


Rows = dict[str, list[list[float]]]
# First pass, second pass, threshold, learned vocabulary.
Model = tuple[dict[str, Any], dict[str, Any], float, dict[str, float]]


def learn_vocabulary(corpus: Corpus, ids: Sequence[str]) -> dict[str, float]:
    """Words on enough pages of `ids`, weighted by their log odds of standing in article lines (each page counts
    a word once per side)."""
    in_article: Counter[str] = Counter()
    in_furniture: Counter[str] = Counter()
    pages: Counter[str] = Counter()
    for page_id in ids:
        article: set[str] = set()
        furniture: set[str] = set()
        for words, label in zip(corpus.words[page_id], corpus.labels[page_id], strict=True):
            (article if label else furniture).update(words)
        in_article.update(article)
        in_furniture.update(furniture)
        pages.update(article | furniture)
    prior = math.log((sum(in_article.values()) + 1) / (sum(in_furniture.values()) + 1))
    vocabulary: dict[str, float] = {}
    for word in sorted(pages):
        if pages[word] >= _VOCABULARY_MIN_PAGES:
            weight = math.log((in_article[word] + 1) / (in_furniture[word] + 1)) - prior
            vocabulary[word] = round(max(-_VOCABULARY_CLIP, min(_VOCABULARY_CLIP, weight)), 3)
    return vocabulary


def with_vocabulary(corpus: Corpus, ids: Sequence[str], vocabulary: dict[str, float]) -> Rows:
    """First-pass rows of `ids` with their vocabulary features read from `vocabulary`."""
    size = len(VOCABULARY_FEATURES)
    return {
        page_id: [
            row[:-size] + vocabulary_features(words, vocabulary)
            for row, words in zip(corpus.features[page_id], corpus.words[page_id], strict=True)
        ]
        for page_id in ids
    }


def _out_of_fold_vocabulary_rows(corpus: Corpus, ids: Sequence[str]) -> Rows:
    """First-pass rows whose vocabulary features come from a vocabulary learned without the page's fold."""
    rows: Rows = {}
    for fold in range(_FOLDS):
        held = [page_id for page_id in ids if page_fold(page_id) == fold]
        rest = [page_id for page_id in ids if page_fold(page_id) != fold]
        if held:
            rows.update(with_vocabulary(corpus, held, learn_vocabulary(corpus, rest)))
    return rows


def _second_rows(corpus: Corpus, ids: Sequence[str], first: dict[str, Any], features: Rows) -> Rows:
    import numpy as np

    rows: Rows = {}
    for page_id in ids:
        probabilities = _predict(first, np.array(features[page_id], dtype=float))
        rows[page_id] = second_pass_features(features[page_id], [float(p) for p in probabilities])
    return rows


def _out_of_fold_second_rows(corpus: Corpus, ids: Sequence[str], features: Rows) -> Rows:
    """Second-pass rows from first-pass models that did not see the page (stacking without leakage)."""
    rows: Rows = {}
    for fold in range(_FOLDS):
        held = [page_id for page_id in ids if page_fold(page_id) == fold]
        rest = [page_id for page_id in ids if page_fold(page_id) != fold]
        if not held:
            continue
        first = _fit_logistic(*corpus.arrays(rest, features))
        rows.update(_second_rows(corpus, held, first, features))
    return rows


def train(corpus: Corpus, ids: Sequence[str]) -> Model:
    """Both passes, the threshold (chosen on out-of-fold predictions of `ids`) and the vocabulary."""
    import numpy as np

    features = _out_of_fold_vocabulary_rows(corpus, ids)
    first = _fit_logistic(*corpus.arrays(ids, features))
    stacked = _out_of_fold_second_rows(corpus, ids, features)
    second = _fit_logistic(*corpus.arrays(ids, stacked))
    best = (0.0, 0.5)
    for threshold in np.arange(0.2, 0.81, 0.02):
        predicted = {
            page_id: _kept_text(corpus.lines[page_id], _predict(second, np.array(stacked[page_id])), threshold)
            for page_id in ids
        }
        f1 = aeb_score(predicted, {page_id: corpus.truth[page_id] for page_id in ids})[2]
        if f1 > best[0] + 1e-9:
            best = (f1, round(float(threshold), 2))
    return first, second, best[1], learn_vocabulary(corpus, ids)


def _kept_text(lines: Sequence[str], probabilities: Any, threshold: float) -> str:
    return "\n".join(line for line, p in zip(lines, probabilities, strict=True) if p >= threshold)


def evaluate(corpus: Corpus, ids: Sequence[str], model: Model) -> tuple[float, float, float]:
    """The benchmark's P, R, F1 of the line model alone on `ids`."""
    import numpy as np

    first, second, threshold, vocabulary = model
    rows = _second_rows(corpus, ids, first, with_vocabulary(corpus, ids, vocabulary))
    predicted = {
        page_id: _kept_text(corpus.lines[page_id], _predict(second, np.array(rows[page_id])), threshold)
        for page_id in ids
    }
    return aeb_score(predicted, {page_id: corpus.truth[page_id] for page_id in ids})


def _layer_json(model: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    return {
        "features": list(names),
        "mean": [round(float(v), 6) for v in model["mean"]],
        "scale": [round(float(v), 6) for v in model["scale"]],
        "weights": [round(float(v), 6) for v in model["weights"]],
        "bias": round(float(model["bias"]), 6),
    }


def model_document(model: Model, about: str) -> dict[str, Any]:
    """The JSON document `lines.line_model()` reads."""
    first, second, threshold, vocabulary = model
    return {
        "about": about,
        "command": ".venv/bin/python -m newswire.cleaner.build_line_model",
        "threshold": threshold,
        "first": _layer_json(first, feature_names()),
        "second": _layer_json(second, second_pass_names()),
        "vocabulary": vocabulary,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Rebuild (or with --check, compare) the stop words and the line model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aeb", type=Path, default=_DEFAULT_AEB, help="the article-extraction benchmark folder")
    parser.add_argument("--check", action="store_true", help="compare with the committed files, write nothing")
    args = parser.parse_args(argv)
    if not (args.aeb / "ground-truth.json").exists():
        print(f"the article-extraction benchmark is not at {args.aeb} (expected ground-truth.json and html/); "
              "pass --aeb", file=sys.stderr)  # fmt: skip
        return 2
    outputs: dict[Path, str] = {}
    stop_path = STOP_WORDS_PATH
    outputs[stop_path] = render_stop_words(build_stop_words())
    if not args.check:
        stop_path.write_text(outputs[stop_path], encoding="utf-8")
        from newswire.cleaner.lines import stop_words

        stop_words.cache_clear()
    corpus = Corpus(args.aeb)
    text_ids = corpus.add_text_pages()
    train_ids = [page_id for page_id in corpus.ids if page_fold(page_id) != _DEV_FOLD] + text_ids
    dev_ids = [page_id for page_id in corpus.ids if page_fold(page_id) == _DEV_FOLD]
    dev_model = train(corpus, train_ids)
    precision, recall, f1 = evaluate(corpus, dev_ids, dev_model)
    print(f"dev split (fold {_DEV_FOLD}, {len(dev_ids)} pages; trained on the other {len(train_ids)}): "
          f"P {precision:.4f} R {recall:.4f} F1 {f1:.4f}, threshold {dev_model[2]}")  # fmt: skip
    model = train(corpus, corpus.ids + text_ids)
    about = (
        "Line classifier for scraped text (newswire.cleaner.lines), trained on the text dumps of the "
        f"{len(corpus.ids)} pages of Scrapinghub's article-extraction benchmark (MIT licence) and "
        f"{len(text_ids)} scraped-text pages of the repository (tests/fixtures/cleaner/text, the demo sample); "
        f"dev split F1 {f1:.4f} (P {precision:.4f}, R {recall:.4f}) on {len(dev_ids)} held-out pages."
    )
    document = model_document(model, about)
    model_path = _LEXICONS / "line_model.json"
    outputs[model_path] = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    if args.check:
        stale = [path.name for path, text in outputs.items() if path.read_text(encoding="utf-8") != text]
        print("up to date" if not stale else f"stale: {', '.join(stale)}")
        return 1 if stale else 0
    model_path.write_text(outputs[model_path], encoding="utf-8")
    print(f"wrote {stop_path} and {model_path} (threshold {model[2]}, {len(model[3])} words in the vocabulary)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
