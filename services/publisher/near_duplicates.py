"""Near-duplicate detection over character shingles: MinHash signatures and LSH bands (pure, no I/O).

One-permutation MinHash: each 5-character shingle of the normalised body is hashed once (CRC-32,
stable across processes and machines) and only the smallest hash per bin is kept, so a
signature costs one pass over the text instead of one pass per hash function. The fraction of
bins two signatures share estimates the Jaccard similarity of their shingle sets. Bands of the
signature are the LSH keys under which articles are indexed in Redis (services/publisher/wiring.py).
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass

import numpy as np

SHINGLE = 5
BINS = 64
# 21 bands of 3 rows: a pair at similarity 0.6 shares a band with probability 0.99,
# an unrelated pair (about 0.05) with probability 0.003.
ROWS_PER_BAND = 3
BANDS = BINS // ROWS_PER_BAND
# Below this many shingles the estimate is too noisy to call two texts the same story.
MIN_SHINGLES = 40
_EMPTY = 0xFFFFFFFF

# Arabic letter variants folded for matching only (the published body keeps its letters). Applied with
# str.replace, one C pass each: str.translate with a mapping is a dictionary lookup per character.
_FOLD = (("أ", "ا"), ("إ", "ا"), ("آ", "ا"), ("ٱ", "ا"), ("ة", "ه"), ("ى", "ي"), ("ـ", ""))
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_MARKS = re.compile(r"[\u064B-\u065F\u0670\u0300-\u036F]")


@dataclass(frozen=True, slots=True)
class Signature:
    """A MinHash signature: BINS values, _EMPTY where no shingle fell in the bin."""

    values: tuple[int, ...]

    def bands(self) -> list[str]:
        """LSH keys: one per band, `<band>:<hex of its rows>`; a band of empty bins gives no key."""
        keys = []
        for band in range(BANDS):
            rows = self.values[band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND]
            if all(value == _EMPTY for value in rows):
                continue
            keys.append(f"{band}:{zlib.crc32(repr(rows).encode()):08x}")
        return keys

    def similarity(self, other: Signature) -> float:
        """Estimated Jaccard similarity of the two shingle sets."""
        both = [(a, b) for a, b in zip(self.values, other.values, strict=True) if a != _EMPTY or b != _EMPTY]
        if not both:
            return 0.0
        return sum(1 for a, b in both if a == b) / len(both)

    def encode(self) -> str:
        return ",".join(f"{value:x}" for value in self.values)

    @classmethod
    def decode(cls, text: str) -> Signature:
        return cls(tuple(int(value, 16) for value in text.split(",")))


def normalise(text: str) -> str:
    """Case, accents, Arabic letter variants and punctuation folded; words separated by one space."""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold()
    for variant, letter in _FOLD:
        text = text.replace(variant, letter)
    text = _MARKS.sub("", unicodedata.normalize("NFD", text))
    return _NON_WORD.sub(" ", text).strip()


def signature(text: str) -> Signature | None:
    """The text's signature, or None when it is too short to compare."""
    folded = normalise(text)
    if len(folded) < SHINGLE + MIN_SHINGLES:
        return None
    seen = {folded[start : start + SHINGLE] for start in range(len(folded) - SHINGLE + 1)}
    if len(seen) < MIN_SHINGLES:
        return None
    hashes = np.fromiter(map(zlib.crc32, map(str.encode, seen)), dtype=np.uint32, count=len(seen))
    # The low bits choose the bin, the rest is the value; each bin keeps its smallest value.
    mins = np.full(BINS, _EMPTY, dtype=np.uint32)
    np.minimum.at(mins, hashes & (BINS - 1), hashes >> 6)
    return Signature(tuple(mins.tolist()))
