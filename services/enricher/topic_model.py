"""Trained IPTC top-level topic classifier: hashed word n-grams plus lexicon evidence, one logistic unit per topic.

The model file (data/topic_model.npz) is written by `python -m newswire.enricher.build_topics`; this module holds
the feature extraction that training and inference share, so both read a text the same way. Texts are folded
like the SANAD training corpus (punctuation and digits removed), Arabic words also give a light stem (clitics
and common suffixes off), other words their first six letters, and Chinese or Japanese runs their character
pairs. Hashing is CRC-32, stable across processes and platforms.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from newswire.enricher.compiled import compiled

# `term_vector` in C (`_terms.c`; the same arrays as the Python version, which runs without it).
native = compiled("_terms")

MODEL_FILE = "topic_model.npz"
# Words of the body read by the model: the topic is settled in the opening, and more only adds time.
MAX_BODY_WORDS = 400
TITLE_REPEATS = 2
# Dense lexicon features sit after the hashed buckets: per topic log(1 + evidence) and share of the leader.
LEXICON_SCALE = 0.25

_NON_LETTERS = re.compile(r"[\W\d_]+")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]+")
_ARABIC_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال", "و", "ف", "ب", "ل", "ك")
_ARABIC_SUFFIXES = ("هما", "ها", "هم", "ات", "ون", "ين", "ان", "يه", "ه", "ي")


def arabic_stem(word: str) -> str:
    """Light stem: one proclitic group and one suffix off, keeping at least three letters."""
    for prefix in _ARABIC_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            word = word[len(prefix) :]
            break
    for suffix in _ARABIC_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


# Frequent words repeat from article to article, so their stems are cached; at 65,536 words (and a cache of term
# buckets, since removed: `hashed_counts`) these caches held about 55 MiB of an enricher worker on varied news, for
# under half a microsecond saved a term; this size keeps the words of the last few dozen articles, and the memory
# went to the recogniser's spelling cache (RESULTS.md).
@functools.lru_cache(maxsize=1 << 15)
def _stem(word: str) -> str:
    """An Arabic word's light stem, another word's first six letters."""
    return arabic_stem(word) if "\u0600" <= word[0] <= "\u06ff" else word[:6]


def text_terms(text: str, *, max_words: int | None = None) -> list[str]:
    """Terms of an already normalised text: words, stems or prefixes, adjacent word pairs, CJK character pairs."""
    flat = _NON_LETTERS.sub(" ", text)
    terms: list[str] = []
    for run in _CJK_RUN.findall(flat):
        terms.extend("c:" + run[i : i + 2] for i in range(max(1, len(run) - 1)))
        if max_words is not None and len(terms) > 3 * max_words:
            break
    words = _CJK_RUN.sub(" ", flat).split()
    if max_words is not None:
        words = words[:max_words]
    stems = [_stem(word) for word in words]
    terms.extend("w:" + word for word in words)
    terms.extend("s:" + stem for word, stem in zip(words, stems, strict=True) if stem != word)
    terms.extend("b:" + first + " " + second for first, second in itertools.pairwise(stems))
    return terms


def hashed_counts(terms: list[str], buckets: int) -> dict[int, float]:
    """Term counts by CRC-32 bucket (buckets in the order their first term appears). CRC-32 is cheaper than a cache
    of it: an lru cache of the buckets made this 2.5 times slower on varied news (most word pairs are new)."""
    counts: dict[int, float] = {}
    crc32 = zlib.crc32
    for term, count in Counter(terms).items():
        index = crc32(term.encode("utf-8")) % buckets
        counts[index] = counts.get(index, 0.0) + count
    return counts


def term_vector(title: str, body: str, buckets: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The term features of a normalised article: its terms (`text_terms`; the title counted `TITLE_REPEATS`
    times, the body read up to `MAX_BODY_WORDS` words) counted by bucket (`hashed_counts`: buckets in the order
    their first term appears), each bucket weighted 1 + log(count), the weights L2-normalised. In C where the
    package was built with it (`_terms.c`, reading the text without building its words and terms as strings: the
    same arrays to the bit; 0.12 against 0.6 ms per SANAD article)."""
    if native is not None:
        indices, weights = native.text_vector([(body, MAX_BODY_WORDS), *[(title, None)] * TITLE_REPEATS], buckets)
        return np.frombuffer(indices, dtype=np.int64), np.frombuffer(weights, dtype=np.float64)
    counts = hashed_counts(text_terms(body, max_words=MAX_BODY_WORDS) + text_terms(title) * TITLE_REPEATS, buckets)
    values = [1.0 + math.log(count) for count in counts.values()]
    total = 0.0
    for value in values:  # one by one, as the C version adds them (sum() compensates rounding from Python 3.12)
        total += value * value
    norm = math.sqrt(total) or 1.0
    return np.fromiter(counts, dtype=np.int64, count=len(counts)), np.array([value / norm for value in values])


def feature_vector(
    title: str, body: str, lexicon: list[float], buckets: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Sparse features of a normalised article: its `term_vector`, then the lexicon block (per topic
    log(1 + evidence) scaled, and the evidence's share of the leader's)."""
    indices, weights = term_vector(title, body, buckets)
    leader = max(lexicon) if lexicon else 0.0
    extra_indices: list[int] = []
    extra_weights: list[float] = []
    for offset, score in enumerate(lexicon):
        if score > 0:
            extra_indices += [buckets + offset, buckets + len(lexicon) + offset]
            extra_weights += [LEXICON_SCALE * math.log1p(score), score / leader]
    if not extra_indices:
        return indices, weights
    return np.concatenate([indices, extra_indices]), np.concatenate([weights, extra_weights])


@dataclass(frozen=True, slots=True)
class TopicProbabilities:
    """Probability per top-level qcode."""

    scores: dict[str, float]


class TrainedTopicClassifier:
    """Weights (buckets + lexicon block, topics) and biases; probabilities by a logistic unit per topic."""

    def __init__(
        self, weights: npt.NDArray[np.floating[Any]], bias: npt.NDArray[np.float32], meta: dict[str, Any]
    ) -> None:
        # Kept as stored (float16: half the memory); the few rows an article touches are widened per call.
        self.weights = weights
        self.bias = bias.astype(np.float32)
        self.topics: list[str] = list(meta["topics"])
        self.buckets: int = int(meta["buckets"])
        # Per language: "confident" (the least top probability at which the classifier decides) and
        # "secondary" (the least probability of a further topic).
        self.thresholds: dict[str, dict[str, float]] = {
            code: dict(values) for code, values in meta["thresholds"].items()
        }
        # Per language, the topics it had enough person-labelled articles of to learn (others it cannot rule out).
        self.taught: dict[str, frozenset[str]] = {
            code: frozenset(qcodes) for code, qcodes in meta.get("taught", {}).items()
        }
        self.meta = meta
        if self.weights.shape != (self.buckets + 2 * len(self.topics), len(self.topics)):
            raise ValueError(f"topic weights of shape {self.weights.shape} do not match their metadata")

    @classmethod
    def load(cls) -> TrainedTopicClassifier:
        """The committed model from the package's data."""
        path = resources.files("newswire.enricher") / "data" / MODEL_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"{MODEL_FILE} is missing from newswire.enricher.data: rebuild it with"
                " `python -m newswire.enricher.build_topics` (see tests/benchmarks/RESULTS.md)"
            )
        with path.open("rb") as handle, np.load(handle) as archive:
            weights, bias = archive["weights"], archive["bias"]
            meta = json.loads(bytes(archive["meta"]).decode("utf-8"))
        return cls(weights, bias, meta)

    def knows(self, language: str | None) -> bool:
        """Whether the classifier was trained on text in this language."""
        return (language or "").split("-")[0].lower() in self.thresholds

    def taught_in(self, language: str | None) -> frozenset[str]:
        """The topics the classifier learnt from labelled articles in this language."""
        return self.taught.get((language or "").split("-")[0].lower(), frozenset())

    def thresholds_for(self, language: str | None) -> dict[str, float]:
        """The decision thresholds chosen for this language on the dev data."""
        return self.thresholds[(language or "").split("-")[0].lower()]

    def probabilities(
        self, title: str, body: str, lexicon: dict[str, float], language: str | None
    ) -> TopicProbabilities:
        """Calibrated probability of every top-level topic for a normalised title and body."""
        indices, values = feature_vector(
            title, body, [lexicon.get(qcode, 0.0) for qcode in self.topics], self.buckets
        )
        rows = self.weights[indices].astype(np.float32)
        logits = values.astype(np.float32) @ rows + self.bias
        probabilities = 1.0 / (1.0 + np.exp(-logits))
        return TopicProbabilities({qcode: float(p) for qcode, p in zip(self.topics, probabilities, strict=True)})
