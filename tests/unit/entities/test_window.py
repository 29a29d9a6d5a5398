"""The numpy window network against a direct, token-by-token computation of the same network, and its
combination with a CRF."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from newswire.enricher.entities.crf import TAGS, LinearChainCRF
from newswire.enricher.entities.features import WordFeatures
from newswire.enricher.entities.normalize import alias_key
from newswire.enricher.entities.window import WIDTH, CrfWithWindow, WindowTagger, dequantised_at, quantised

_ATTRIBUTES = ["w=a", "w=b", "s=x", "cue", "fn"]
_CHARS = ["<pad>", "<unk>", *"abcdeا"]
_KB = ("", *TAGS[1:])


def _toy(path: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    attr_dim, char_dim, filters, kb_dim, hidden = 3, 2, 4, 2, 5
    dim = attr_dim + filters + kb_dim
    arrays = {
        "labels": np.array(TAGS),
        "kb_tags": np.array(_KB),
        "kb_emb": rng.normal(size=(len(_KB), kb_dim)).astype(np.float32),
        "pad_left": rng.normal(size=dim).astype(np.float32),
        "pad_right": rng.normal(size=dim).astype(np.float32),
        "win_w": rng.normal(size=(5, dim, hidden)).astype(np.float32),
        "win_b": rng.normal(size=hidden).astype(np.float32),
        "out_w": rng.normal(size=(hidden, len(TAGS))).astype(np.float32),
        "out_b": rng.normal(size=len(TAGS)).astype(np.float32),
        "transitions": rng.normal(size=(len(TAGS), len(TAGS))).astype(np.float32),
        "max_chars": np.array(4),
        "attr_vocab": np.array(_ATTRIBUTES),
        "attr_emb": rng.normal(size=(len(_ATTRIBUTES), attr_dim)).astype(np.float16),
        "char_vocab": np.array(_CHARS),
        "char_emb": np.vstack([np.zeros((1, char_dim)), rng.normal(size=(len(_CHARS) - 1, char_dim))]).astype(
            np.float16
        ),
        "conv_w": rng.normal(size=(filters, char_dim, 3)).astype(np.float32),
        "conv_b": rng.normal(size=filters).astype(np.float32),
    }
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return arrays


def _spelling(word: str) -> WordFeatures:
    own = (f"w={word}", "s=x" if len(word) > 2 else "s=y", *(("cue",) if word.startswith("c") else ()))
    return WordFeatures(own, (), (), (), ())


def _direct(arrays: dict[str, np.ndarray], words: list[str], kb: list[str]) -> np.ndarray:
    """The network's label scores for one sentence, token by token, as the network is defined."""
    vocab = list(arrays["attr_vocab"])
    chars = list(arrays["char_vocab"])
    vectors = []
    for word, tag in zip(words, kb, strict=True):
        attrs = sum(
            (arrays["attr_emb"][vocab.index(a)].astype(np.float32) for a in _spelling(word).own if a in vocab),
            np.zeros(arrays["attr_emb"].shape[1], dtype=np.float32),
        )
        codes = [chars.index(c) if c in chars else 1 for c in alias_key(word)[: int(arrays["max_chars"])]] or [1]
        pad = np.zeros(arrays["char_emb"].shape[1], dtype=np.float32)
        embedded = [pad, *arrays["char_emb"][codes].astype(np.float32), pad]
        conv = [
            arrays["conv_b"] + sum(arrays["conv_w"][:, :, j] @ embedded[i + j] for j in range(3))
            for i in range(len(codes))
        ]
        kb_vector = arrays["kb_emb"][_KB.index(tag)]
        vectors.append(np.concatenate([attrs, np.max(conv, axis=0), kb_vector]))
    scores = []
    for t in range(len(words)):
        total = arrays["win_b"].copy()
        for k in range(5):
            u = t + k - 2
            x = arrays["pad_left"] if u < 0 else arrays["pad_right"] if u >= len(words) else vectors[u]
            total = total + x @ arrays["win_w"][k]
        scores.append(np.maximum(total, 0) @ arrays["out_w"] + arrays["out_b"])
    return np.array(scores)


def test_numpy_network_equals_the_direct_computation(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    arrays = _toy(tmp_path / "toy.npz", rng)
    tagger = WindowTagger(tmp_path / "toy.npz")
    sentences = [(["ab", "cde", "a"], ["B-PER", "", "I-LOC"]), (["ca", "zzzzzz"], ["", ""]), (["b"], ["B-ORG"])]
    words = [w for s, _ in sentences for w in s]
    kb = [t for _, s in sentences for t in s]
    firsts = [0, 3, 5]
    blocks = tagger.spelling_scores([_spelling(w) for w in words], words)
    emit = tagger.emissions(blocks, kb, firsts)
    expected = np.vstack([_direct(arrays, s, k) for s, k in sentences])
    # Cached in one byte a value (`quantised`): equal to within a few hundredths of the scores' scale.
    assert emit.shape == (len(words), len(TAGS))
    np.testing.assert_allclose(emit, expected, rtol=0.02, atol=0.02 * np.abs(expected).max())
    # Viterbi: the best path of each sentence, as brute force finds it.
    labels = tagger.decode_tags(emit, firsts).tolist()
    for first, (sentence, _) in zip(firsts, sentences, strict=True):
        part = emit[first : first + len(sentence)]
        best = max(
            itertools.product(range(len(TAGS)), repeat=len(sentence)),
            key=lambda path: sum(part[i, p] for i, p in enumerate(path))
            + sum(arrays["transitions"][a, b] for a, b in itertools.pairwise(path)),
        )
        assert labels[first : first + len(sentence)] == list(best)


def test_crf_and_window_scores_add_up(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    _toy(tmp_path / "toy.npz", rng)
    window = WindowTagger(tmp_path / "toy.npz")
    # A CRF over three labels only: its scores land in their TAGS columns, the others get the window's alone.
    labels = ["O", "B-PER", "I-PER"]
    crf_path = tmp_path / "crf.npz"
    np.savez(
        crf_path,
        labels=np.array(labels),
        attributes=np.array(["w=ab", "BOS", "EOS"]),
        weights=rng.normal(size=(3, 3)).astype(np.float32),
        transitions=rng.normal(size=(3, 3)).astype(np.float32),
    )
    crf = LinearChainCRF(crf_path)
    both = CrfWithWindow(crf, window, 0.5)
    words, kb = ["ab", "cde"], ["", "B-LOC"]
    spellings = [_spelling(w) for w in words]
    emit = both.label_scores(both.spelling_scores(spellings, words), [s.pair for s in spellings], kb, [0])
    alone = window.emissions(window.spelling_scores(spellings, words), kb, [0])
    crf_part = crf.emissions(crf.spelling_scores(spellings), kb, [0])
    expected = 0.5 * alone
    expected[:, [TAGS.index(label) for label in labels]] += crf_part
    np.testing.assert_allclose(emit, expected, rtol=1e-5, atol=1e-5)
    assert both.transitions[TAGS.index("O"), TAGS.index("B-PER")] == pytest.approx(
        crf.transitions[0, 1] + 0.5 * window.transitions[TAGS.index("O"), TAGS.index("B-PER")]
    )


def test_a_model_with_other_labels_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    arrays = _toy(tmp_path / "toy.npz", rng)
    arrays["labels"] = np.array(list(reversed(TAGS)))
    np.savez(tmp_path / "other.npz", **arrays)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="labels"):
        WindowTagger(tmp_path / "other.npz")


def test_quantised_parts_are_within_half_a_step_of_the_values() -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(scale=2.0, size=(40, 5, 16)).astype(np.float32)
    values[3] = 0.0  # a spelling with nothing to add
    values[4, 2] = -7.5  # one position of one value only
    parts = quantised(values)
    assert parts.dtype.itemsize == 5 * 4 + 5 * 16  # a scale per position, a byte per value
    back = np.stack([dequantised_at(parts, slice(None), position) for position in range(WIDTH)], axis=1)
    np.testing.assert_array_equal(dequantised_at(parts, np.array([4, 3]), 2), back[[4, 3], 2])
    step = np.abs(values).max(axis=2, keepdims=True) / 127
    assert np.all(np.abs(back - values) <= step / 2 + 1e-6)
    assert np.all(back[3] == 0.0)
    np.testing.assert_allclose(back[4, 2], values[4, 2], rtol=1e-6)
    assert np.abs(parts["codes"]).max() == 127
