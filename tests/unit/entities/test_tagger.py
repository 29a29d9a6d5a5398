"""The recogniser's per-token loops in C (`entities/_tagger.c`) against their numpy versions: the same floats to
the bit, the same labels, and a clear error for arrays of the wrong size."""

from __future__ import annotations

import re

import numpy as np
import pytest

from newswire.enricher.entities import crf, cues, features, window
from newswire.enricher.entities.crf import ROLES, TAGS, best_labels, viterbi
from newswire.enricher.entities.window import WIDTH, quantised, quantised_layout

native = crf.native


def test_the_c_loops_are_built_with_the_package() -> None:
    # Built by `pip install` wherever a C compiler is at hand (pyproject.toml, ext-modules); without it the package
    # runs the numpy versions, which give the same labels at about a quarter more CPU on long articles.
    assert native is not None, "newswire.enricher.entities._tagger was not built: install a C compiler and reinstall"


def _sentence_starts(rng: np.random.Generator, count: int) -> list[int]:
    """Sentence starts of `count` tokens: 0 first, lengths from 1 to 12 (one-token sentences included)."""
    starts, at = [], 0
    while at < count:
        starts.append(at)
        at += int(rng.integers(1, 13))
    return starts


# Stems of every width of str: ASCII, Latin-1, Arabic, beyond the BMP.
_STEMS = ("a", "ab", "é", "كتب", "علم", "𝔸x")
_MARKS = ("", "title", "given+title")


class _Crf(crf.LinearChainCRF):
    """A CRF with random weights and no file behind it: some stem pairs, article flags and cue marks weighted."""

    def __init__(self, rng: np.random.Generator) -> None:
        labels = len(TAGS)
        attributes = [f"2s={a}|{b}" for a in _STEMS for b in _STEMS if rng.random() < 0.5]
        attributes += [f"2a={a}{b}" for a in "01" for b in "01"] + [f"2m={a}|{b}" for a in _MARKS for b in _MARKS][::2]
        self.rows = {attribute: row for row, attribute in enumerate(attributes)}
        self.weights = rng.normal(size=(len(attributes) + 1, labels)).astype(np.float32)
        self.weights[-1] = 0.0
        self._pair_bases = {}
        self._pair_base_scores = np.zeros((1, labels), dtype=np.float32)
        self.bos, self.eos = (rng.normal(size=labels).astype(np.float32) for _ in range(2))
        tags = [f"{part}-{label}" for part in "BI" for label in ("PER", "ORG", "LOC", "MISC")]
        self.kb_rows = {tag: 3 * number for number, tag in enumerate(tags)}
        self.kb_weights = rng.normal(size=(3 * len(tags), labels)).astype(np.float32)


@pytest.mark.parametrize("seed", range(30))
def test_crf_scores_are_numpys_to_the_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    model = _Crf(rng)
    count = int(rng.integers(1, 60))
    blocks = rng.normal(size=(count, len(ROLES), len(TAGS))).astype(np.float32)
    firsts = _sentence_starts(rng, count)
    kb_tags = ["", *model.kb_rows]
    kb = [kb_tags[i] if rng.random() < 0.3 else "" for i in rng.integers(0, len(kb_tags), size=count)]
    pairs = rng.normal(size=(count, len(TAGS))).astype(np.float32) if seed % 2 else None
    expected = model.block_emissions_numpy(blocks, kb, firsts, pairs)
    got = model.block_emissions(blocks, kb, firsts, pairs)
    assert got.dtype == np.float32
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("seed", range(20))
def test_two_word_scores_are_pythons_to_the_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    with_c, without = _Crf(rng), _Crf(np.random.default_rng(seed))
    for _ in range(3):  # the article-flag and cue-mark sums are kept between calls: new ones, then known ones
        halves = [
            ()
            if rng.random() < 0.2
            else (str(rng.choice(_STEMS)), str(rng.integers(0, 2)), str(rng.choice(_MARKS)))
            for _ in range(int(rng.integers(1, 40)))
        ]
        assert np.array_equal(with_c.pair_emissions(halves), without.pair_emissions_python(halves))
        assert with_c._pair_bases == without._pair_bases
        assert np.array_equal(with_c._pair_base_scores, without._pair_base_scores)


class _Window(window.WindowTagger):
    """A window network's run-time arrays, random, with no file behind it."""

    def __init__(self, rng: np.random.Generator, hidden: int) -> None:
        self.hidden = hidden
        self.layout = quantised_layout(hidden)
        self.win_b = rng.normal(size=hidden).astype(np.float32)
        self.pad_left, self.pad_right = (rng.normal(size=(WIDTH, hidden)).astype(np.float32) for _ in range(2))
        self.kb_index = {tag: index for index, tag in enumerate(("", *TAGS[1:]))}
        self.kb_changes = rng.normal(size=(len(self.kb_index), WIDTH, hidden)).astype(np.float32)
        self.kb_changes[0] = 0.0
        self.out_w = rng.normal(size=(hidden, len(TAGS))).astype(np.float32)
        self.out_b = rng.normal(size=len(TAGS)).astype(np.float32)


@pytest.mark.parametrize("seed", range(30))
def test_window_scores_are_numpys_to_the_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    model = _Window(rng, hidden=int(rng.integers(1, 40)))
    count = int(rng.integers(1, 60))
    parts = quantised(rng.normal(size=(count, WIDTH, model.hidden)).astype(np.float32))
    firsts = _sentence_starts(rng, count)
    # Tags the network knows, none, and one it does not know (ignored by both versions).
    choices = [*TAGS[1:], "", "", "", "", "B-UNKNOWN"]
    kb = [choices[i] for i in rng.integers(0, len(choices), size=count)]
    expected = model.block_emissions_numpy(parts, kb, firsts)
    # The parts as the recogniser hands them over: a field of a wider record, not contiguous.
    wide = np.zeros(count, dtype=[("crf", np.float32, (3,)), ("window", model.layout)])
    wide["window"] = parts
    assert np.array_equal(model.block_emissions(wide["window"], kb, firsts), expected)
    assert np.array_equal(model.block_emissions(parts, kb, list(reversed(firsts))), expected)


@pytest.mark.parametrize("seed", range(30))
def test_viterbi_gives_numpys_labels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 80))
    width = int(rng.integers(1, 12))
    # Coarse scores, so that equal candidates (ties) occur and must be broken as numpy's argmax breaks them.
    emit = rng.integers(-3, 4, size=(count, width)).astype(np.float32)
    transitions = rng.integers(-2, 3, size=(width, width)).astype(np.float32)
    firsts = _sentence_starts(rng, count)
    starts = np.array(firsts, dtype=np.intp)
    ends = np.append(starts[1:], count)
    expected = np.zeros(count, dtype=np.intp)
    viterbi(emit, transitions, starts, ends, expected)
    assert np.array_equal(best_labels(emit, transitions, firsts), expected)


def test_the_numpy_versions_run_when_the_extension_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    emit = rng.normal(size=(9, 4)).astype(np.float32)
    transitions = rng.normal(size=(4, 4)).astype(np.float32)
    with_c = best_labels(emit, transitions, [0, 4])
    monkeypatch.setattr(crf, "native", None)
    assert np.array_equal(best_labels(emit, transitions, [0, 4]), with_c)
    model = _Window(rng, hidden=3)
    parts = quantised(rng.normal(size=(5, WIDTH, 3)).astype(np.float32))
    kb = [""] * 5
    assert np.array_equal(model.block_emissions(parts, kb, [0]), model.block_emissions_numpy(parts, kb, [0]))


def test_arrays_of_the_wrong_size_are_refused_with_a_clear_error() -> None:
    assert native is not None
    emit = np.zeros((4, 3), dtype=np.float32)
    labels = np.zeros(4, dtype=np.int64)
    with pytest.raises(ValueError, match="transitions holds 32 bytes where 36 were expected"):
        native.viterbi(emit, 3, np.zeros(8, dtype=np.float32), np.array([0]), np.array([4]), labels)
    with pytest.raises(ValueError, match="sequence 0 runs from 0 to 5 of 4 tokens"):
        native.viterbi(emit, 3, np.zeros((3, 3), dtype=np.float32), np.array([0]), np.array([5]), labels)
    with pytest.raises(ValueError, match="the first sentence must start at token 0"):
        native.window_hidden(
            np.zeros(2, dtype=quantised_layout(2)), 2, np.zeros(2, dtype=np.float32), np.array([1]),
            np.zeros((WIDTH, 2), dtype=np.float32), np.zeros((WIDTH, 2), dtype=np.float32),
            np.array([-1, -1]), np.zeros((1, WIDTH, 2), dtype=np.float32), np.zeros((2, 2), dtype=np.float32),
        )  # fmt: skip
    with pytest.raises(ValueError, match="token 1: knowledge-base row 40"):
        native.crf_emissions(
            np.zeros((2, len(ROLES), 3), dtype=np.float32), 3, np.array([1, 0, 1, 1], dtype=np.uint8), b"",
            np.zeros(3, dtype=np.float32), np.zeros(3, dtype=np.float32), np.array([-1, 40]),
            np.zeros((24, 3), dtype=np.float32), np.zeros((2, 3), dtype=np.float32),
        )  # fmt: skip
    counts = np.zeros(2, dtype=np.int64)
    with pytest.raises(TypeError, match="half 1 is not a tuple of 0 or 3 items"):
        native.pair_rows([(), ["a", "0", ""]], {}, {}, 0, counts, counts.copy())
    with pytest.raises(TypeError, match="a half's stem must be a str"):
        native.pair_rows([("a", "0", ""), (1, "0", "")], {}, {}, 0, counts, counts.copy())
    with pytest.raises(ValueError, match="not C-contiguous"):
        native.viterbi(emit[:, :2], 2, np.zeros((2, 2), dtype=np.float32), np.array([0]), np.array([4]), labels)


# Word characters of every width (ASCII, Latin-1, Arabic, beyond the BMP), digits, "_", superscripts (alnum),
# combining marks and punctuation (not word characters), the three joiners, spaces.
_TEXT_PIECES = (
    "a", "Zé", "_", "7", "²", "٣", "كتب", "ال", "𝔸", "\u0301", "\u064e", "-", "'", "&", "--", "'s", " ", "\n", ".",
    "–", "’", "«",
)  # fmt: skip


@pytest.mark.parametrize("seed", range(5))
def test_cue_tokens_are_the_patterns_matches(seed: int) -> None:
    assert native is not None
    rng = np.random.default_rng(seed)
    for _ in range(400):
        text = "".join(rng.choice(_TEXT_PIECES, size=int(rng.integers(0, 40))))
        expected = [cues.Token(*m.span(), m.group()) for m in cues.TOKEN_RE.finditer(text)]
        found = cues.tokenize(text)
        assert found == expected, text
        assert all(type(token) is cues.Token for token in found)


def test_cue_tokens_refuse_bad_input_clearly() -> None:
    assert native is not None
    with pytest.raises(TypeError):
        native.words(b"bytes", cues.Token)
    with pytest.raises(TypeError, match="token_type must be a tuple type"):
        native.words("text", dict)
    assert native.words("", cues.Token) == []


# What the recogniser's tokens are made of: Arabic letters of the shortcut and others (tatweel, Persian kaf),
# abbreviations and initials, elisions, "'s", joiners, other spaces.
_TOKEN_PIECES = (
    "كتب", "ب", "ـ", "ک", "٣", "a", "Zé", "u.s.", "mr.", "Sen.", "j.", "J. ", "l'", "qu'", "'s", "'", "-", "&", ".",
    " ", "\u00a0", "\u2003", "\n", "_", "7", "²", "\u0301", "𝔸", "x-y", "«",
)  # fmt: skip


@pytest.mark.parametrize("seed", range(5))
def test_recogniser_token_bounds_are_the_patterns_matches(seed: int) -> None:
    assert native is not None
    rng = np.random.default_rng(seed)
    for _ in range(400):
        text = "".join(rng.choice(_TOKEN_PIECES, size=int(rng.integers(0, 30))))
        spans = [m.span() for m in features.TOKEN_RE.finditer(text)]
        assert features.token_bounds(text) == ([s for s, _ in spans], [e for _, e in spans]), text


def test_recogniser_token_bounds_refuse_a_pattern_that_skips_characters() -> None:
    assert native is not None
    with pytest.raises(ValueError, match="no token at 0"):
        native.token_bounds("a b", re.compile(r"b"))
    with pytest.raises(TypeError):
        native.token_bounds(b"a b", features.TOKEN_RE)
