"""Line classifier for scraped text: which lines of a page are the article, which are page furniture.

Two logistic models over language-independent features (`lexicons/line_model.json`, built by
`build_line_model.py`). The first reads each line with its neighbours: length, sentence punctuation,
stop-word density in the page's language, capitalised-menu shape, digits, link-like tokens, separators,
script mixing, repetition in the page and the position relative to the page's densest run of prose. The
second re-reads every line with the first model's verdicts on the lines around it, so a short line inside
the article is kept and a long line inside a menu block is not. Pure Python: no numpy at run time.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from newswire.cleaner.debris import is_debris
from newswire.cleaner.normalize import comparison_key, fold_case

_LEXICONS = Path(__file__).with_name("lexicons")
MODEL_PATH = _LEXICONS / "line_model.json"
_TOKEN = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?…。！？؟۔][\"'”’»)\]]*$")
_SENTENCE_MARK = re.compile(r"[.!?…。！？؟۔](?:\s|$)")
_COMMA = re.compile(r"[,،，、;؛]")
_LINK_LIKE = re.compile(r"https?://|www\.|\.(?:com|org|net|html?|php)\b|@\w|#\w|\w@\w", re.IGNORECASE)
_SEPARATOR = re.compile(r"[|•·›»«>/\\–—:]")
_DIGIT = re.compile(r"\d")
_YEAR_OR_TIME = re.compile(r"\b(?:19|20)\d\d\b|\b\d{1,2}:\d\d\b")
_QUOTE_START = re.compile(r"^[\"'“”«‘’„]")
_GLUED = re.compile(r"[a-zà-ÿ][A-ZÀ-Þ]|[.!?…][A-ZÀ-Þ]")
_BULLET = re.compile(r"^(?:[-*•▪►▶·–—]|\d{1,2}[.)])\s")
# First- and second-person pronouns: comments and calls to action speak as `I` to `you`, news reports do not.
_FIRST_PERSON = frozenset(
    ("i", "me", "my", "mine", "je", "j", "moi", "mon", "mes", "yo", "mí", "mi", "mis", "eu", "meu", "minha", "io",
     "mio", "mia", "ich", "mich", "mir", "mein", "meine", "ik", "mijn", "mnie", "я", "мне", "меня", "мой", "моя",
     "ben", "benim", "أنا")
)  # fmt: skip
_SECOND_PERSON = frozenset(
    ("you", "your", "yours", "vous", "votre", "vos", "tu", "ton", "ta", "tes", "usted", "tus", "você", "seu", "sua",
     "voi", "vostro", "du", "dein", "deine", "jij", "jouw", "вы", "ваш", "ваша", "ты", "твой", "sen", "senin",
     "siz", "أنت", "أنتم", "لك")
)  # fmt: skip
# Lines of prose (long enough, ending like a sentence) mark the article's region on a page.
_PROSE_MIN_WORDS = 8
_LANGUAGE_SAMPLE_TOKENS = 3000
_PROSE_STOP_DENSITY = 0.25
_REGION_LINE_COST = 2.0
_BLOCK_GAP = 2
# The block rank given to a line outside every block of kept lines (log scale: as if ranked about 20th).
_OUTSIDE_BLOCK_RANK = 3.0


@dataclass(frozen=True, slots=True)
class LineModel:
    """Weights of the two passes and the decision threshold (see build_line_model.py)."""

    names: tuple[str, ...]
    first: tuple[tuple[float, ...], float]
    second: tuple[tuple[float, ...], float]
    second_names: tuple[str, ...]
    threshold: float
    # Words learned from the training pages, with how much more often they stand in article lines than in
    # page furniture (log odds, clipped; see build_line_model.learn_vocabulary).
    vocabulary: Mapping[str, float]


@cache
def stop_words() -> dict[str, frozenset[str]]:
    """Most frequent words per language (jusText's stoplists, top entries), case-folded."""
    data = json.loads((_LEXICONS / "stopwords.json").read_text(encoding="utf-8"))
    return {language: frozenset(words) for language, words in data["languages"].items()}


@cache
def _all_stop_words() -> frozenset[str]:
    return frozenset().union(*stop_words().values())


@cache
def line_model() -> LineModel:
    """Load the shipped weights once per process."""
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    if tuple(data["first"]["features"]) != feature_names() or tuple(data["second"]["features"]) != second_pass_names():
        raise RuntimeError(
            f"{MODEL_PATH.name} was built for other features; rebuild it: .venv/bin/python -m "
            "newswire.cleaner.build_line_model"
        )

    def layer(name: str) -> tuple[tuple[float, ...], float]:
        # Standardisation folded into the weights: w * (x - m) / s == (w / s) * x - w * m / s.
        part = data[name]
        weights = [w / s for w, s in zip(part["weights"], part["scale"], strict=True)]
        bias = float(part["bias"]) - sum(w * m for w, m in zip(weights, part["mean"], strict=True))
        return tuple(weights), bias

    return LineModel(
        names=tuple(data["first"]["features"]),
        first=layer("first"),
        second=layer("second"),
        second_names=tuple(data["second"]["features"]),
        threshold=float(data["threshold"]),
        vocabulary={word: float(weight) for word, weight in data["vocabulary"].items()},
    )


@cache
def _languages_of_words() -> dict[str, tuple[str, ...]]:
    languages: dict[str, list[str]] = {}
    for language, words in sorted(stop_words().items()):
        for word in words:
            languages.setdefault(word, []).append(language)
    return {word: tuple(codes) for word, codes in languages.items()}


def page_language(tokens: Sequence[Sequence[str]]) -> str | None:
    """The language whose stop words cover most tokens of the page (None if too few hits)."""
    counts = dict.fromkeys(sorted(stop_words()), 0)
    languages = _languages_of_words()
    seen = 0
    for line in tokens:
        for token in line:
            for language in languages.get(token, ()):
                counts[language] += 1
        seen += len(line)
        if seen >= _LANGUAGE_SAMPLE_TOKENS:
            break
    best = max(counts, key=lambda code: counts[code], default=None)
    return best if best is not None and counts[best] >= 3 else None


# Scripts told apart for script mixing (`Partager شارك`); letters of other scripts count as one more script.
_SCRIPT_CLASSES = {
    "latin": r"A-Za-z\u00c0-\u024f\u1e00-\u1eff",
    "arabic": r"\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "cyrillic": r"\u0400-\u052f",
    "greek": r"\u0370-\u03ff",
    "hebrew": r"\u0590-\u05ff",
    "indic": r"\u0900-\u0dff",
    "cjk": r"\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af",
}
# One pattern with a named group per script, a run of one script spanning the single spaces between its words:
# a single scan of the line counts every script's characters with few matches.
_SCRIPT_RUNS = re.compile(
    "|".join(rf"(?P<{name}>[{chars}]+(?: [{chars}]+)*)" for name, chars in _SCRIPT_CLASSES.items())
)
_OTHER_LETTER = re.compile(rf"[^\W\d_{''.join(_SCRIPT_CLASSES.values())}]")


def _scripts(line: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for run in _SCRIPT_RUNS.finditer(line):
        name = run.lastgroup or ""
        counts[name] = counts.get(name, 0) + run.end() - run.start() - run.group().count(" ")
    if other := len(_OTHER_LETTER.findall(line)):
        counts["other"] = other
    return counts


def _prose_blocks(prose_words: Sequence[float]) -> list[tuple[int, int, float]]:
    """Runs of prose lines (start, end inclusive, words), allowing a few other lines between them."""
    blocks: list[tuple[int, int, float]] = []
    for index, words in enumerate(prose_words):
        if not words:
            continue
        if blocks and index - blocks[-1][1] <= _BLOCK_GAP + 1:
            start, _, total = blocks[-1]
            blocks[-1] = (start, index, total + words)
        else:
            blocks.append((index, index, words))
    return blocks


def _block_features(prose_words: Sequence[float]) -> list[tuple[float, float, float, float]]:
    """Per line: share of the page's prose in its block, prose blocks before it, in the largest, after it."""
    blocks = _prose_blocks(prose_words)
    total = sum(words for _, _, words in blocks) or 1.0
    largest = max(blocks, key=lambda block: block[2]) if blocks else (0, -1, 0.0)
    result: list[tuple[float, float, float, float]] = []
    position = 0
    for index in range(len(prose_words)):
        while position < len(blocks) and blocks[position][1] < index:
            position += 1
        inside = position < len(blocks) and blocks[position][0] <= index
        share = blocks[position][2] / total if inside else 0.0
        result.append((
            share,
            math.log1p(position),
            1.0 if largest[0] <= index <= largest[1] else 0.0,
            1.0 if index > largest[1] else 0.0,
        ))  # fmt: skip
    return result


def _densest_region(prose_words: Sequence[float]) -> tuple[int, int]:
    """Start and end (inclusive) of the run of lines with the most prose, less a cost per line (Kadane)."""
    best, best_span = 0.0, (0, -1)
    total, start = 0.0, 0
    for index, words in enumerate(prose_words):
        gain = words - _REGION_LINE_COST
        if total <= 0:
            total, start = gain, index
        else:
            total += gain
        if total > best:
            best, best_span = total, (start, index)
    return best_span


def _upper_decile(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.9 * (len(ordered) - 1))] if ordered else 0.0


def _line_features(
    line: str, tokens: list[str], folded: list[str], scripts: dict[str, int], stops: frozenset[str] | None,
    main_script: str, debris: bool,
) -> list[float]:
    words = len(tokens)
    chars = len(line)
    union = _all_stop_words()
    cased = [token for token in tokens if token[:1].isalpha() and token[:1].lower() != token[:1].upper()]
    capitalised = sum(1 for token in cased if token[:1].isupper())
    letters = sum(scripts.values())
    digits = len(_DIGIT.findall(line))
    return [
        math.log1p(chars),
        math.log1p(words),
        1.0 if _SENTENCE_END.search(line) else 0.0,
        len(_SENTENCE_MARK.findall(line)) / (words + 1),
        len(_COMMA.findall(line)) / (words + 1),
        (sum(map(stops.__contains__, folded)) / words) if stops and words else 0.0,
        (sum(map(union.__contains__, folded)) / words) if words else 0.0,
        capitalised / len(cased) if cased else 0.0,
        1.0 if not cased else 0.0,
        digits / (chars + 1),
        1.0 if letters == 0 else 0.0,
        1.0 if _LINK_LIKE.search(line) else 0.0,
        len(_SEPARATOR.findall(line)) / (words + 1),
        1.0 if debris else 0.0,
        1.0 if _BULLET.match(line) else 0.0,
        1.0 if len(scripts) > 1 else 0.0,
        1.0 - scripts.get(main_script, 0) / letters if letters else 0.0,
        1.0 if line.isupper() else 0.0,
        1.0 if line.rstrip().endswith((":", "：")) else 0.0,
        1.0 if digits and _YEAR_OR_TIME.search(line) else 0.0,
        (sum(len(token) for token in tokens) / words) if words else 0.0,
        1.0 if _QUOTE_START.match(line) else 0.0,
        1.0 if line.endswith("?") or line.endswith("؟") else 0.0,
        1.0 if line[:1].islower() else 0.0,
        len(_GLUED.findall(line)) / (words + 1),
        (sum(1 for token in cased[:8] if token[:1].isupper()) / len(cased[:8])) if cased else 0.0,
        1.0 if words <= 2 else 0.0,
        1.0 if 3 <= words <= 5 else 0.0,
        1.0 if 6 <= words <= 10 else 0.0,
        1.0 if 11 <= words <= 25 else 0.0,
        (sum(map(_FIRST_PERSON.__contains__, folded)) / words) if words else 0.0,
        (sum(map(_SECOND_PERSON.__contains__, folded)) / words) if words else 0.0,
    ]


_BASE_NAMES = (
    "log_chars", "log_words", "sentence_end", "sentence_marks", "commas", "stop_density", "any_stop_density",
    "capitalised", "caseless", "digit_share", "no_letters", "link_like", "separators", "lexicon_debris", "bullet",
    "mixed_scripts", "foreign_script", "all_caps", "label_colon", "year_or_time", "mean_word_len", "quote_start",
    "question", "starts_lower", "glued", "capitalised_start", "words_1_2", "words_3_5", "words_6_10", "words_11_25",
    "first_person", "second_person",
)  # fmt: skip
# The last features of the first pass: the line's words in the learned vocabulary.
VOCABULARY_FEATURES = ("vocabulary_mean", "vocabulary_min", "vocabulary_share")
# log_chars, sentence_end, stop_density, capitalised, starts_lower of the lines around
_NEIGHBOUR_FEATURES = (0, 2, 5, 7, 23)
_OFFSETS = (-2, -1, 1, 2)
_neighbour_values = operator.itemgetter(*_NEIGHBOUR_FEATURES)
# The line's own features the second pass reads again besides the first pass's verdicts.
_SECOND_OWN_NAMES = (
    "log_chars", "sentence_end", "stop_density", "capitalised", "link_like", "lexicon_debris", "starts_lower",
    "glued", "capitalised_start", "first_person", "block_share", "in_largest_block", "after_largest_block",
)  # fmt: skip


@cache
def feature_names() -> tuple[str, ...]:
    """Names of the first pass's features, in order."""
    names = list(_BASE_NAMES)
    for offset in _OFFSETS:
        names.extend(f"{_BASE_NAMES[index]}@{offset:+d}" for index in _NEIGHBOUR_FEATURES)
    names += ["repeated", "position", "in_region", "log_region_distance", "region_share", "before_region",
              "log_chars_sq", "prose_window", "chars_vs_page", "stops_vs_page", "block_share", "blocks_before",
              "in_largest_block", "after_largest_block", *VOCABULARY_FEATURES]  # fmt: skip
    return tuple(names)


def line_words(folded_tokens: Sequence[str]) -> frozenset[str]:
    """The distinct words of a line that the learned vocabulary may hold (case-folded, no numbers)."""
    return frozenset(token for token in folded_tokens if not token.isdigit())


def vocabulary_features(words: frozenset[str], vocabulary: Mapping[str, float]) -> list[float]:
    """Mean and lowest weight of the line's words in the learned vocabulary, and the share of words it holds."""
    weights = [vocabulary[word] for word in words if word in vocabulary]
    if not weights:
        return [0.0, 0.0, 0.0]
    return [sum(weights) / len(weights), min(weights), len(weights) / (len(words) + 1)]


def page_features(
    lines: Sequence[str],
    *,
    keys: Sequence[str] | None = None,
    debris: Sequence[bool] | None = None,
    vocabulary: Mapping[str, float] | None = None,
) -> list[list[float]]:
    """First-pass features of every line of a page.

    `keys` (each line's `comparison_key`) and `debris` (each line's `is_debris`) when the caller has them;
    `vocabulary`: the shipped model's unless given (the build script trains with its own).
    """
    if vocabulary is None:
        vocabulary = line_model().vocabulary
    if keys is None:
        keys = [comparison_key(line) for line in lines]
    if debris is None:
        debris = [is_debris(line, key) for line, key in zip(lines, keys, strict=True)]
    tokens = [_TOKEN.findall(line) for line in lines]
    folded_tokens = [[fold_case(token) for token in line] for line in tokens]
    language = page_language(folded_tokens)
    stops = stop_words().get(language) if language else None
    scripts = [_scripts(line) for line in lines]
    script_counts: Counter[str] = Counter()
    for counts in scripts[:400]:
        script_counts.update(counts)
    main_script = script_counts.most_common(1)[0][0] if script_counts else ""
    base = [
        _line_features(line, toks, folded, line_scripts, stops, main_script, flag)
        for line, toks, folded, line_scripts, flag in zip(lines, tokens, folded_tokens, scripts, debris, strict=True)
    ]
    key_counts = Counter(keys)
    prose = [
        float(len(toks)) if len(toks) >= _PROSE_MIN_WORDS and (row[2] or row[5] >= _PROSE_STOP_DENSITY) else 0.0
        for row, toks in zip(base, tokens, strict=True)
    ]
    start, end = _densest_region(prose)
    block_features = _block_features(prose)
    region_lines = max(1, end - start + 1)
    count = len(lines)
    # Page-relative length and stop-word density, so a short page's prose reads like a long page's prose.
    long_chars = _upper_decile([row[0] for row in base])
    dense_stops = _upper_decile([row[5] for row in base])
    rows: list[list[float]] = []
    empty = [0.0] * len(_NEIGHBOUR_FEATURES)
    for index, row in enumerate(base):
        features = list(row)
        for offset in _OFFSETS:
            other = index + offset
            if 0 <= other < count:
                features.extend(_neighbour_values(base[other]))
            else:
                features.extend(empty)
        distance = 0 if start <= index <= end else (start - index if index < start else index - end)
        window = prose[max(0, index - 3) : index + 4]
        features += [
            1.0 if key_counts[keys[index]] > 1 else 0.0,
            index / count,
            1.0 if distance == 0 else 0.0,
            math.log1p(distance),
            region_lines / count,
            1.0 if index < start else 0.0,
            row[0] * row[0],
            math.log1p(sum(window)),
            row[0] - long_chars,
            row[5] - dense_stops,
            *block_features[index],
            *vocabulary_features(line_words(folded_tokens[index]), vocabulary),
        ]
        rows.append(features)
    return rows


def second_pass_names() -> tuple[str, ...]:
    """Names of the second pass's features, in order."""
    return ("p", "p_prev", "p_next", "mean_p_3", "mean_p_8", "in_p_region", "log_p_region_distance",
            "p_before_region", *_SECOND_OWN_NAMES, "p_x_log_chars", "p_vs_page_top", "p_vs_page_best",
            "p_block_share", "log_p_block_rank", "log_p_blocks")  # fmt: skip


@cache
def _second_own() -> tuple[int, ...]:
    names = feature_names()
    return tuple(names.index(name) for name in _SECOND_OWN_NAMES)


def _verdict_blocks(first: Sequence[float], words: Sequence[int]) -> list[tuple[int, int, float]]:
    """Runs of lines the first pass keeps (start, end inclusive, words weighted by probability), allowing a few
    other lines between them."""
    blocks: list[tuple[int, int, float]] = []
    for index, p in enumerate(first):
        if p < 0.5:
            continue
        if blocks and index - blocks[-1][1] <= _BLOCK_GAP + 1:
            start, _, mass = blocks[-1]
            blocks[-1] = (start, index, mass + p * words[index])
        else:
            blocks.append((index, index, p * words[index]))
    return blocks


def _page_verdict_features(rows: Sequence[Sequence[float]], first: Sequence[float]) -> list[tuple[float, ...]]:
    """Per line: its verdict against the page's best verdicts, and the size and rank of its block of kept lines.

    A page whose best lines all score low is still an article page; of several blocks of kept lines, the largest
    is most likely the article and the others comments or teasers.
    """
    words = [round(math.expm1(row[1])) for row in rows]  # log_words
    prose = sorted(p for p, count in zip(first, words, strict=True) if count >= _PROSE_MIN_WORDS)
    best = max(first)
    top = prose[int(0.9 * (len(prose) - 1))] if prose else best
    blocks = _verdict_blocks(first, words)
    largest = max((mass for _, _, mass in blocks), default=0.0) or 1.0
    ranks = {block: rank for rank, block in enumerate(sorted(range(len(blocks)), key=lambda b: -blocks[b][2]))}
    log_blocks = math.log1p(len(blocks))
    result: list[tuple[float, ...]] = []
    position = 0
    for index, p in enumerate(first):
        while position < len(blocks) and blocks[position][1] < index:
            position += 1
        if position < len(blocks) and blocks[position][0] <= index:
            block = (blocks[position][2] / largest, math.log1p(ranks[position]), log_blocks)
        else:
            block = (0.0, _OUTSIDE_BLOCK_RANK, log_blocks)
        result.append((p - top, p - best, *block))
    return result


def second_pass_features(rows: Sequence[Sequence[float]], first: Sequence[float]) -> list[list[float]]:
    """Second-pass features: each line's own few features plus the first pass's verdicts around it."""
    count = len(first)
    if not count:
        return []
    start, end = _densest_region([(p - 0.5) * 10 for p in first])
    page = _page_verdict_features(rows, first)
    result: list[list[float]] = []
    for index, p in enumerate(first):
        near = first[max(0, index - 3) : index + 4]
        wide = first[max(0, index - 8) : index + 9]
        distance = 0 if start <= index <= end else (start - index if index < start else index - end)
        row = rows[index]
        result.append([
            p,
            first[index - 1] if index > 0 else 0.0,
            first[index + 1] if index + 1 < count else 0.0,
            sum(near) / len(near),
            sum(wide) / len(wide),
            1.0 if distance == 0 else 0.0,
            math.log1p(distance),
            1.0 if index < start else 0.0,
            *(row[feature] for feature in _second_own()),
            p * row[0],
            *page[index],
        ])  # fmt: skip
    return result


def _logistic(rows: Sequence[Sequence[float]], layer: tuple[tuple[float, ...], float]) -> list[float]:
    weights, bias = layer
    scores: list[float] = []
    for row in rows:
        if len(row) != len(weights):
            raise ValueError(f"a row of {len(row)} features for a layer of {len(weights)} weights")
        z = bias + sum(map(operator.mul, row, weights))
        scores.append(1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))))
    return scores


def content_probabilities(
    lines: Sequence[str], *, keys: Sequence[str] | None = None, debris: Sequence[bool] | None = None
) -> list[float]:
    """Probability that each line belongs to the article (same order as `lines`; `keys`, `debris`: as for
    `page_features`)."""
    if not lines:
        return []
    model = line_model()
    rows = page_features(lines, keys=keys, debris=debris)
    first = _logistic(rows, model.first)
    return _logistic(second_pass_features(rows, first), model.second)


def article_lines(lines: Sequence[str]) -> list[bool]:
    """For each line, whether the line classifier keeps it as article text."""
    threshold = line_model().threshold
    return [p >= threshold for p in content_probabilities(lines)]
