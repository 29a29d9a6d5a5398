"""A window tagger for Arabic names: a small neural network trained with torch (build_ner), run here in numpy
(its per-token hidden layer also in C, `_tagger.c`, with the same floats).

Each word becomes a vector from its spelling alone: the sum of learnt vectors of its features (the same word, stem,
proclitic, affix and cue-word attributes the CRF reads, `WordFeatures.own`) and a convolution over its letters
(max-pooled), so a name never seen in training still reads like one by its letters. With a vector for its
knowledge-base match, every token of a five-token window (two words each side; learnt padding beyond the
sentence) feeds one ReLU layer, then label scores, decoded with learnt transitions (Viterbi, as the CRF).

Because a word's vector depends on its spelling only, what it adds to the hidden layer at each of the five window
positions is computed once per spelling and cached (`spelling_scores`, one byte a value: `quantised`); an
article's hidden layer is then five shifted additions, corrected at sentence edges and knowledge-base matches, and
one small matrix product for the label scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from newswire.enricher.entities import crf
from newswire.enricher.entities.crf import NO_ATTRIBUTE, ROLES, TAGS, LinearChainCRF, best_labels, row_indexes
from newswire.enricher.entities.features import WordFeatures
from newswire.enricher.entities.normalize import alias_key

Array = npt.NDArray[np.float32]
WIDTH = 5  # tokens in the window: two before, the token, two after
_UNKNOWN_CHAR = 1  # index of a letter the model never saw (0 pads)
_NO_LETTER = "\x01"  # stands for a spelling whose normalised form is empty: read as an unknown letter


def quantised_layout(hidden: int) -> np.dtype[np.void]:
    """How a spelling's part of the hidden layer is kept (`quantised`): per window position, one float32 scale and
    `hidden` signed bytes."""
    return np.dtype([("scale", np.float32, (WIDTH,)), ("codes", np.int8, (WIDTH, hidden))])


def quantised(values: Array) -> npt.NDArray[np.void]:
    """Values [spelling, window position, hidden] as signed bytes with a scale per spelling and position (the
    largest magnitude maps to 127, every value rounded to the nearest step): a quarter of float32's memory, so the
    spelling cache holds more spellings in the same room. On the Arabic dev splits the tagger's labels are those of
    float32 parts on every token (RESULTS.md, "Spelling parts in one byte")."""
    values = np.asarray(values, dtype=np.float32)
    out = np.empty(values.shape[0], dtype=quantised_layout(values.shape[2]))
    largest = np.abs(values).max(axis=2)
    scale = np.where(largest > 0, largest / 127, 1.0).astype(np.float32)
    out["scale"] = scale
    out["codes"] = np.rint(values / scale[:, :, None])
    return out


def dequantised_at(parts: npt.NDArray[np.void], rows: slice | npt.NDArray[np.intp], position: int) -> Array:
    """`quantised`'s values of `rows` at one window position, as float32 [row, hidden]: one multiplication that
    widens the bytes as it goes (half the time of widening first)."""
    return np.multiply(  # type: ignore[no-any-return]
        parts["codes"][rows, position], parts["scale"][rows, position, None], dtype=np.float32
    )


class WindowTagger:
    """The trained arrays (see `build_window.train_window`) and the per-spelling parts of the hidden layer."""

    def __init__(self, path: Path) -> None:
        with np.load(path) as arrays:
            if tuple(arrays["labels"].tolist()) != TAGS:
                raise ValueError(f"{path.name}: labels {arrays['labels'].tolist()} are not {TAGS}")
            self.rows = {attribute: index for index, attribute in enumerate(arrays["attr_vocab"].tolist())}
            # One zero row at the end: what an attribute the model never saw adds. Kept in float16 (most of the
            # model's memory); rows are widened to float32 before they are summed.
            attr_emb = arrays["attr_emb"].astype(np.float16)
            self.attr_emb = np.vstack([attr_emb, np.zeros((1, attr_emb.shape[1]), dtype=np.float16)])
            # The letters the model knows, by code point (sorted, for a vectorised lookup), and their indexes;
            # the vocabulary's first two entries name the padding and the unknown letter.
            vocabulary = enumerate(arrays["char_vocab"].tolist())
            letters = sorted((ord(char), index) for index, char in vocabulary if len(char) == 1)
            self.char_points = np.array([point for point, _ in letters], dtype=np.uint32)
            self.char_indexes = np.array([index for _, index in letters], dtype=np.intp)
            self.char_emb: Array = arrays["char_emb"].astype(np.float32)
            conv_w = arrays["conv_w"].astype(np.float32)  # [filters, char dim, 3]
            self.conv_b: Array = arrays["conv_b"].astype(np.float32)
            self.max_chars = int(arrays["max_chars"])
            kb_tags = arrays["kb_tags"].tolist()
            kb_emb = arrays["kb_emb"].astype(np.float32)
            pad_left = arrays["pad_left"].astype(np.float32)
            pad_right = arrays["pad_right"].astype(np.float32)
            win_w = arrays["win_w"].astype(np.float32)  # [window position, input dim, hidden]
            self.win_b: Array = arrays["win_b"].astype(np.float32)
            self.out_w: Array = arrays["out_w"].astype(np.float32)  # [hidden, labels]
            self.out_b: Array = arrays["out_b"].astype(np.float32)
            self.transitions: Array = arrays["transitions"].astype(np.float32)
        self.hidden = self.win_b.shape[0]
        self.layout = quantised_layout(self.hidden)
        # Letter convolution as one matrix over three consecutive letter vectors.
        self.conv: Array = np.ascontiguousarray(conv_w.transpose(2, 1, 0).reshape(-1, conv_w.shape[0]))
        spelling_dim = win_w.shape[1] - kb_emb.shape[1]
        # What a spelling's vector gives each window position, as one matrix: [spelling dim, position x hidden].
        by_spelling = win_w[:, :spelling_dim].transpose(1, 0, 2).reshape(spelling_dim, -1)
        self.spelling_w: Array = np.ascontiguousarray(by_spelling)
        # What a knowledge-base tag gives each window position [tag, position, hidden]; "" (no match) is first.
        self.kb_index = {tag: index for index, tag in enumerate(kb_tags)}
        self.kb_parts: Array = np.einsum("td,pdh->tph", kb_emb, win_w[:, spelling_dim:])
        # What a tag changes against "no match", the part every spelling's cached scores hold.
        self.kb_changes: Array = self.kb_parts - self.kb_parts[0]
        # What the padding beyond a sentence's edges gives each window position [position, hidden].
        self.pad_left: Array = np.einsum("d,pdh->ph", pad_left, win_w)
        self.pad_right: Array = np.einsum("d,pdh->ph", pad_right, win_w)

    def spelling_scores(self, spellings: Sequence[WordFeatures], surfaces: Sequence[str]) -> list[bytes]:
        """What each spelling adds to the hidden layer at the five window positions (`quantised` bytes), with no
        knowledge-base match (the usual case; `emissions` corrects the matched tokens), computed for many
        spellings at once (an article's new words)."""
        data = self.spelling_array(spellings, surfaces).tobytes()
        size = self.layout.itemsize
        return [data[start : start + size] for start in range(0, len(data), size)]

    def spelling_array(self, spellings: Sequence[WordFeatures], surfaces: Sequence[str]) -> npt.NDArray[np.void]:
        """`spelling_scores` as one array of `quantised` parts, a spelling a row."""
        attributes: list[str] = []
        bounds: list[int] = []
        for features in spellings:
            bounds.append(len(attributes))
            attributes.extend(features.own)
            attributes.append(NO_ATTRIBUTE)  # the zero row: no part is empty, as reduceat needs
        indexes = row_indexes(self.rows, attributes)
        summed = np.add.reduceat(self.attr_emb[indexes].astype(np.float32), bounds, axis=0)
        vectors = np.hstack([summed, self._letters(surfaces)]) @ self.spelling_w + self.kb_parts[0].ravel()
        return quantised(vectors.reshape(len(spellings), WIDTH, self.hidden))

    def _letters(self, surfaces: Sequence[str]) -> Array:
        """The max-pooled letter convolution of each spelling (normalised, at most `max_chars` letters). The
        spellings are read as one string of code points, each padded by a 0 on both sides; a spelling with no
        letter left reads as one unknown letter."""
        keys = [alias_key(surface)[: self.max_chars] or _NO_LETTER for surface in surfaces]
        points = np.frombuffer(("\0" + "\0".join(keys) + "\0").encode("utf-32-le"), dtype=np.uint32)
        at = np.minimum(np.searchsorted(self.char_points, points), len(self.char_points) - 1)
        codes = np.where(self.char_points[at] == points, self.char_indexes[at], _UNKNOWN_CHAR)
        codes[points == 0] = 0
        # Three consecutive letters around each letter (the zeros pad each spelling on both sides).
        centres = np.flatnonzero(points)
        windows = codes[centres[:, None] + np.arange(-1, 2)]
        convolved = self.char_emb[windows].reshape(len(centres), -1) @ self.conv + self.conv_b
        # Max-pooled per spelling: its letters' rows laid out on a grid padded with -inf (a reduceat over rows is
        # twice as slow).
        lengths = np.array([len(key) for key in keys])
        grid = np.full((len(keys), int(lengths.max()), convolved.shape[1]), -np.inf, dtype=np.float32)
        firsts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        grid[np.repeat(np.arange(len(keys)), lengths), np.arange(len(centres)) - firsts] = convolved
        return grid.max(axis=1)  # type: ignore[no-any-return]

    def emissions(self, words: Sequence[bytes], kb: Sequence[str], firsts: Sequence[int]) -> Array:
        """Label scores of each token (in TAGS order) of consecutive sentences starting at `firsts`, from its
        words' `spelling_scores` (which hold the part of a token with no knowledge-base match) and the
        knowledge-base tags. Every token first takes its neighbours' parts as if the text were one sentence (five
        shifted additions); the few tokens within two of a sentence's edge, and the tokens around a knowledge-base
        match, are then corrected."""
        return self.block_emissions(np.frombuffer(b"".join(words), dtype=self.layout), kb, firsts)

    def block_emissions(self, parts: npt.NDArray[np.void], kb: Sequence[str], firsts: Sequence[int]) -> Array:
        """`emissions` from the words' `spelling_scores` as one array of `quantised` parts, a token a row."""
        if crf.native is None:
            return self.block_emissions_numpy(parts, kb, firsts)
        hidden = np.empty((len(parts), self.hidden), dtype=np.float32)
        crf.native.window_hidden(
            np.ascontiguousarray(parts, dtype=self.layout),
            self.hidden,
            self.win_b,
            np.array(sorted(firsts), dtype=np.int64),
            self.pad_left,
            self.pad_right,
            np.array([self.kb_index.get(tag, -1) if tag else -1 for tag in kb], dtype=np.int64),
            self.kb_changes,
            hidden,
        )
        return np.maximum(hidden, 0.0) @ self.out_w + self.out_b

    def block_emissions_numpy(self, parts: npt.NDArray[np.void], kb: Sequence[str], firsts: Sequence[int]) -> Array:
        """`block_emissions` in numpy (the reference for the C version, and what runs without it)."""
        count, half = len(parts), WIDTH // 2
        hidden = np.broadcast_to(self.win_b, (count, self.hidden)).copy()
        # Each position's parts are widened as they are added (a third faster than widening all of them first).
        for offset in range(WIDTH):
            shift = offset - half  # the neighbour at token + shift fills this window position
            neighbours = slice(max(0, shift), count + min(0, shift))
            hidden[max(0, -shift) : count - max(0, shift)] += dequantised_at(parts, neighbours, offset)
        edges = np.array([*sorted(firsts), count])
        sentence = np.repeat(np.arange(len(edges) - 1), np.diff(edges))
        starts, ends = edges[sentence], edges[sentence + 1]
        positions = np.arange(count)
        edge = positions[(positions - starts < half) | (ends - positions <= half)]
        for offset in range(WIDTH):
            source = edge + offset - half
            for outside, pad in ((source < starts[edge], self.pad_left), (source >= ends[edge], self.pad_right)):
                targets, sources = edge[outside], source[outside]
                taken = (sources >= 0) & (sources < count)  # a neighbour from the next sentence was added: undo
                hidden[targets[taken]] -= dequantised_at(parts, sources[taken], offset)
                hidden[targets] += pad[offset]
        matched = [(index, self.kb_index[tag]) for index, tag in enumerate(kb) if tag and tag in self.kb_index]
        if matched:
            # Each matched token's tag replaces "no match" at the five positions it fills, within its sentence. A
            # token receives these from its neighbours in the order of a loop over them (the one two before it
            # first); a pass per position, in position order, adds the same floats.
            indexes, tags = np.array(matched, dtype=np.intp).T
            for offset in range(WIDTH):
                targets = indexes - (offset - half)
                inside = (targets >= starts[indexes]) & (targets < ends[indexes])
                hidden[targets[inside]] += self.kb_changes[tags[inside], offset]
        return np.maximum(hidden, 0.0) @ self.out_w + self.out_b

    def decode_tags(self, emit: Array, firsts: Sequence[int]) -> npt.NDArray[np.intp]:
        """The best labels of each sentence, as indexes into TAGS."""
        return best_labels(emit, self.transitions, firsts)


class CrfWithWindow:
    """A CRF and a window tagger together: their label scores added (the window's times `weight`, chosen on the
    dev splits) and decoded under their transitions added the same way. The two make different mistakes: the CRF
    knows its training words' exact neighbours and two-word features, the window network reads letters and
    combines features non-linearly."""

    def __init__(self, crf: LinearChainCRF, window: WindowTagger, weight: float) -> None:
        self.crf, self.window, self.weight = crf, window, weight
        self.rows = crf.rows
        # A spelling's cached bytes: the CRF's part, then the window network's.
        self._layout = np.dtype(
            [("crf", np.float32, (len(ROLES), len(crf.labels))), ("window", window.layout)]
        )
        transitions = np.zeros((len(TAGS), len(TAGS)), dtype=np.float32)
        transitions[np.ix_(crf.tag_indexes, crf.tag_indexes)] = crf.transitions
        self.transitions: Array = transitions + weight * window.transitions

    def spelling_scores(self, spellings: Sequence[WordFeatures], surfaces: Sequence[str]) -> list[bytes]:
        """Both models' parts of each spelling, one after the other."""
        both = np.empty(len(spellings), dtype=self._layout)
        both["crf"] = self.crf.spelling_array(spellings)
        both["window"] = self.window.spelling_array(spellings, surfaces)
        data, size = both.tobytes(), self._layout.itemsize
        return [data[start : start + size] for start in range(0, len(data), size)]

    def label_scores(
        self, words: Sequence[bytes], halves: Sequence[tuple[str, ...]], kb: Sequence[str], firsts: Sequence[int]
    ) -> Array:
        """Both models' label scores of each token, added, in TAGS order."""
        both = np.frombuffer(b"".join(words), dtype=self._layout)
        crf = self.crf.block_label_scores(both["crf"], halves, kb, firsts)
        scores = self.weight * self.window.block_emissions(both["window"], kb, firsts)
        scores[:, self.crf.tag_indexes] += crf
        return scores

    def decode_tags(self, emit: Array, firsts: Sequence[int]) -> npt.NDArray[np.intp]:
        """The best labels of each sentence, as indexes into TAGS."""
        return best_labels(emit, self.transitions, firsts)

