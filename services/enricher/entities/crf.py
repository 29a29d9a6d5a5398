"""A linear-chain CRF trained with CRFsuite, exported to numpy arrays and decoded here.

CRFsuite looks every attribute string up in its model at every token. A token's attributes come from its own
spelling and its neighbours' (features.py), so the weights they add up to are summed once per distinct spelling
and cached: tagging an article is then a few array additions and one Viterbi pass over all its sentences side
by side. The labels are CRFsuite's own (tests/unit/entities/test_crf.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise, repeat
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from newswire.enricher.compiled import compiled
from newswire.enricher.entities.features import WordFeatures, pair_features, stem_pair

# The per-token loops in C (`_tagger.c`; the same floats as the numpy versions here, which run without it).
native = compiled("entities._tagger")

Scores = npt.NDArray[np.float32]
ROLES = ("own", "prev2", "prev", "next", "next2")
# Every model's labels, in one order (O first, so that a zero array is all O): decoders return indexes into it.
TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
# Ends each role's attributes when they are looked up: no attribute is empty, so it is never weighted and stands
# for the zero row.
NO_ATTRIBUTE = ""


def export_model(crfsuite_path: Path, out: Path) -> None:
    """Write the weights of a CRFsuite model as numpy arrays (attributes sorted, so the bytes are reproducible)."""
    import pycrfsuite

    tagger = pycrfsuite.Tagger()
    tagger.open(str(crfsuite_path))
    info = tagger.info()
    labels = sorted(info.labels, key=info.labels.__getitem__)
    column = {label: index for index, label in enumerate(labels)}
    attributes = sorted({attribute for attribute, _ in info.state_features})
    row = {attribute: index for index, attribute in enumerate(attributes)}
    weights = np.zeros((len(attributes), len(labels)), dtype=np.float32)
    for (attribute, label), weight in info.state_features.items():
        weights[row[attribute], column[label]] = weight
    transitions = np.zeros((len(labels), len(labels)), dtype=np.float32)
    for (source, target), weight in info.transitions.items():
        transitions[column[source], column[target]] = weight
    tagger.close()
    with out.open("wb") as handle:
        np.savez_compressed(
            handle,
            labels=np.array(labels),
            attributes=np.array(attributes),
            weights=weights,
            transitions=transitions,
        )


class LinearChainCRF:
    """State weights per attribute and label, label-to-label transition weights, and exact Viterbi decoding."""

    def __init__(self, path: Path) -> None:
        with np.load(path) as arrays:
            self.labels: list[str] = [str(label) for label in arrays["labels"]]
            attributes = arrays["attributes"].tolist()
            weights = arrays["weights"]
            self.transitions: Scores = arrays["transitions"].astype(np.float32)
        self.rows = {attribute: index for index, attribute in enumerate(attributes)}
        # Each label's index in TAGS.
        self.tag_indexes = np.array([TAGS.index(label) for label in self.labels], dtype=np.intp)
        # One zero row at the end: what an attribute the model never weighted adds.
        self.weights: Scores = np.vstack([weights, np.zeros((1, weights.shape[1]), dtype=np.float32)])
        self.spelling_bytes = len(ROLES) * self.weights.shape[1] * 4  # of one spelling's `word_scores`
        self.bos, self.eos = self.score(("BOS",)), self.score(("EOS",))
        # Whether the model has two-word features at all; the sums of the pairs' article flags and cue marks seen so
        # far, row 0 for none (`pair_emissions`).
        self.has_pairs = any(attribute.startswith("2") for attribute in self.rows)
        self._pair_bases: dict[tuple[str, ...], int] = {}
        self._pair_base_scores: Scores = np.zeros((1, self.weights.shape[1]), dtype=np.float32)
        # Per knowledge-base tag, three rows of `kb_weights`: on the token, on the token after, on the token before.
        tags = [f"{part}-{label}" for part in "BI" for label in ("PER", "ORG", "LOC", "MISC")]
        self.kb_rows = {tag: 3 * number for number, tag in enumerate(tags)}
        self.kb_weights: Scores = np.array(
            [self.score((role + tag,)) for tag in tags for role in ("kb=", "-1kb=", "+1kb=")], dtype=np.float32
        )

    def score(self, attributes: Iterable[str]) -> Scores:
        """The summed weights of `attributes`, one per label."""
        return self.weights[row_indexes(self.rows, list(attributes))].sum(axis=0)  # type: ignore[no-any-return]

    def word_scores(self, features: WordFeatures) -> bytes:
        """What one spelling adds to its own token and, as a neighbour, to the tokens at +2, +1, -1, -2
        (float32 bytes, so that an article's words are joined into one array at once)."""
        return self.spelling_scores([features])[0]

    def spelling_scores(self, spellings: Sequence[WordFeatures], surfaces: Sequence[str] = ()) -> list[bytes]:
        """`word_scores` of many spellings, summed in one numpy call (an article's new words at once; the
        features are all the CRF needs, `surfaces` is for taggers that read letters)."""
        data = self.spelling_array(spellings).tobytes()
        size = self.spelling_bytes
        return [data[start : start + size] for start in range(0, len(data), size)]

    def spelling_array(self, spellings: Sequence[WordFeatures]) -> Scores:
        """`spelling_scores` as one array [spelling, role, label]."""
        attributes: list[str] = []
        bounds: list[int] = []
        for features in spellings:
            for role in (features.own, features.prev2, features.prev, features.next, features.next2):
                bounds.append(len(attributes))
                attributes.extend(role)
                attributes.append(NO_ATTRIBUTE)  # the zero row: no part is empty, as reduceat needs
        sums = np.add.reduceat(self.weights[row_indexes(self.rows, attributes)], bounds, axis=0).astype(np.float32)
        return sums.reshape(len(spellings), len(ROLES), -1)

    def pair_emissions(self, halves: Sequence[tuple[str, ...]]) -> Scores:
        """What the two-word features add to each token, from every token's `WordFeatures.pair` half and the one
        before it (a sentence's first token gets its predecessor's pair too: `emissions` ignores it). The
        article-flag and cue-mark pairs take a few hundred values, so their sums are kept; the stem pair is one
        row looked up per token."""
        if native is None or not halves:
            return self.pair_emissions_python(halves)
        stems = np.empty(len(halves), dtype=np.int64)
        combined = np.empty(len(halves), dtype=np.int64)
        for position in native.pair_rows(halves, self.rows, self._pair_bases, len(self.rows), stems, combined):
            combined[position] = self._pair_base(halves[position - 1], halves[position])
        return self.weights[stems] + self._pair_base_scores[combined]

    def pair_emissions_python(self, halves: Sequence[tuple[str, ...]]) -> Scores:
        """`pair_emissions` in Python (the reference for the C version, and what runs without it)."""
        rows, bases, missing = self.rows, self._pair_bases, len(self.rows)
        stems, combined = [missing], [0]
        for left, right in pairwise(halves):
            if not (left and right):
                stems.append(missing)
                combined.append(0)
                continue
            stems.append(rows.get(stem_pair(left[0], right[0]), missing))
            index = bases.get((left[1], right[1], left[2], right[2]))
            combined.append(self._pair_base(left, right) if index is None else index)
        return self.weights[stems] + self._pair_base_scores[combined]

    def _pair_base(self, left: tuple[str, ...], right: tuple[str, ...]) -> int:
        """The row of `_pair_base_scores` for the article flags and cue marks of two halves, added if new."""
        key = (left[1], right[1], left[2], right[2])
        index = self._pair_bases.get(key)
        if index is None:
            _, article, marks = pair_features(left, right)
            index = self._pair_bases[key] = len(self._pair_base_scores)
            self._pair_base_scores = np.vstack([self._pair_base_scores, self.score([article, marks])])
        return index

    def emissions(
        self, words: Sequence[bytes], kb: Sequence[str], firsts: Sequence[int], pairs: Scores | None = None
    ) -> Scores:
        """State scores of each token from its words' `word_scores` (and `pairs`, from `pair_emissions`): the sums
        CRFsuite makes over the attribute lists of `FeatureExtractor.sequence`."""
        blocks = np.frombuffer(b"".join(words), dtype=np.float32).reshape(len(words), len(ROLES), len(self.labels))
        return self.block_emissions(blocks, kb, firsts, pairs)

    def block_emissions(
        self, blocks: Scores, kb: Sequence[str], firsts: Sequence[int], pairs: Scores | None = None
    ) -> Scores:
        """`emissions` from the words' `word_scores` as one array [token, role, label]."""
        if native is None:
            return self.block_emissions_numpy(blocks, kb, firsts, pairs)
        count = len(blocks)
        begins = np.zeros(count + 2, dtype=np.uint8)
        begins[list(firsts)] = 1
        begins[count:] = 1
        rows = np.array([self.kb_rows[tag] if tag else -1 for tag in kb], dtype=np.int64)
        emit = np.empty((count, self.weights.shape[1]), dtype=np.float32)
        native.crf_emissions(
            np.ascontiguousarray(blocks, dtype=np.float32),
            emit.shape[1],
            begins,
            b"" if pairs is None else np.ascontiguousarray(pairs, dtype=np.float32),
            self.bos,
            self.eos,
            rows,
            self.kb_weights,
            emit,
        )
        return emit

    def block_emissions_numpy(
        self, blocks: Scores, kb: Sequence[str], firsts: Sequence[int], pairs: Scores | None = None
    ) -> Scores:
        """`block_emissions` in numpy (the reference for the C version, and what runs without it)."""
        count = len(blocks)
        emit = blocks[:, 0].copy()
        begins = np.zeros(count + 2, dtype=bool)
        begins[list(firsts)] = True
        begins[count:] = True
        # Token i has a left neighbour in its sentence unless it begins one; a right one unless i + 1 begins one.
        has_prev = ~begins[:count]
        has_prev2 = has_prev.copy()
        has_prev2[1:] &= has_prev[:-1]
        has_prev2[:1] = False
        has_next = ~begins[1 : count + 1]
        has_next2 = has_next & ~begins[2 : count + 2]
        emit[1:][has_prev[1:]] += blocks[:-1, 2][has_prev[1:]]
        emit[2:][has_prev2[2:]] += blocks[:-2, 1][has_prev2[2:]]
        emit[:-1][has_next[:-1]] += blocks[1:, 3][has_next[:-1]]
        emit[:-2][has_next2[:-2]] += blocks[2:, 4][has_next2[:-2]]
        if pairs is not None:
            emit[has_prev] += pairs[has_prev]
        emit[~has_prev] += self.bos
        emit[~has_next] += self.eos
        # A knowledge-base tag's weights on its token, as the next token's left neighbour and as the previous
        # token's right one. A token receives them in the order of a loop over the tokens (from the token before
        # it, its own, from the token after it), so three passes in that order add the same floats.
        matched = [(index, self.kb_rows[tag]) for index, tag in enumerate(kb) if tag]
        if matched:
            indexes, rows = np.array(matched, dtype=np.intp).T
            after = (indexes + 1 < count) & has_prev[np.minimum(indexes + 1, count - 1)]
            emit[indexes[after] + 1] += self.kb_weights[rows[after] + 1]
            emit[indexes] += self.kb_weights[rows]
            before = (indexes > 0) & has_next[indexes - 1]
            emit[indexes[before] - 1] += self.kb_weights[rows[before] + 2]
        return emit

    def label_scores(
        self, words: Sequence[bytes], halves: Sequence[tuple[str, ...]], kb: Sequence[str], firsts: Sequence[int]
    ) -> Scores:
        """`emissions`, with the two-word scores of `halves` (each token's `WordFeatures.pair`) if the model has
        two-word features."""
        return self.emissions(words, kb, firsts, self.pair_emissions(halves) if self.has_pairs else None)

    def block_label_scores(
        self, blocks: Scores, halves: Sequence[tuple[str, ...]], kb: Sequence[str], firsts: Sequence[int]
    ) -> Scores:
        """`label_scores` from the words' `word_scores` as one array [token, role, label]."""
        return self.block_emissions(blocks, kb, firsts, self.pair_emissions(halves) if self.has_pairs else None)

    def decode(self, emit: Scores, firsts: Sequence[int]) -> list[str]:
        """The best labels of each sentence (Viterbi; sentences start at the token indexes `firsts`, as in
        training each one is a sequence of its own). The sentences are decoded side by side, one step per token
        of the longest."""
        return [TAGS[index] for index in self.decode_tags(emit, firsts).tolist()]

    def decode_tags(self, emit: Scores, firsts: Sequence[int]) -> npt.NDArray[np.intp]:
        """`decode`, as indexes into TAGS."""
        return self.tag_indexes[best_labels(emit, self.transitions, firsts)]


def row_indexes(rows: dict[str, int], attributes: list[str]) -> list[int]:
    """Each attribute's row in `rows`, or `len(rows)` (the zero row after the last) for one the model never saw.
    (`map` with the default repeated: a quarter cheaper than a comprehension, on every new spelling's hundred or so
    attributes.)"""
    return list(map(rows.get, attributes, repeat(len(rows), len(attributes))))


def best_labels(emit: Scores, transitions: Scores, firsts: Sequence[int]) -> npt.NDArray[np.intp]:
    """The best label of every token (indexes into the scores' columns) of the sentences starting at `firsts`."""
    starts = np.array(sorted(firsts), dtype=np.intp)
    ends = np.append(starts[1:], len(emit))
    if native is None:
        labels = np.zeros(len(emit), dtype=np.intp)
        viterbi(emit, transitions, starts, ends, labels)
        return labels
    found = np.zeros(len(emit), dtype=np.int64)
    native.viterbi(
        np.ascontiguousarray(emit, dtype=np.float32),
        transitions.shape[0],
        np.ascontiguousarray(transitions, dtype=np.float32),
        starts.astype(np.int64),
        ends.astype(np.int64),
        found,
    )
    return found.astype(np.intp, copy=False)


def viterbi(emit: Scores, transitions: Scores, starts: Any, ends: Any, labels: Any) -> None:
    """Best paths of the sequences [starts[k], ends[k]) of `emit` (label scores per token) under `transitions`
    (from label, to label), written into `labels`. Sequences are columns, longest first, so the ones still going at
    a step are the first columns; arrays are [from label, to label, sequence], as numpy reduces a small first axis
    much faster than a small last one."""
    width = transitions.shape[0]
    order = np.argsort(starts - ends, kind="stable")
    starts, lengths = starts[order], (ends - starts)[order]
    parts, steps = len(starts), int(lengths[0])
    going = (lengths[:, None] > np.arange(steps)[None, :]).sum(axis=0).tolist()
    position = starts[:, None] + np.arange(steps)[None, :]
    scores = emit[np.minimum(position, len(emit) - 1)].transpose(1, 2, 0).copy()  # [step, label, sequence]
    moves = transitions[:, :, None]
    back = np.empty((steps, width, parts), dtype=np.intp)
    delta = scores[0].copy()
    for step in range(1, steps):
        columns = going[step]
        candidates = delta[:, None, :columns] + moves
        back[step, :, :columns] = candidates.argmax(axis=0)
        delta[:, :columns] = candidates.max(axis=0) + scores[step, :, :columns]
    path = np.empty((steps, parts), dtype=np.intp)
    current = delta.argmax(axis=0)
    for step in range(steps - 1, -1, -1):
        columns = going[step]
        path[step, :columns] = current[:columns]
        if step:
            current[:columns] = back[step, current[:columns], np.arange(columns)]
    active = np.arange(steps)[None, :] < lengths[:, None]
    labels[position[active]] = path.T[active]
