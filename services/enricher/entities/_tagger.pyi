# Types of the C module _tagger.c (the entity recogniser's per-token loops). Arrays are passed as C-contiguous
# buffers: float32 scores, int64 indexes, uint8 flags; results are written into the last argument.
from collections.abc import Sequence

from typing_extensions import Buffer

def viterbi(
    emit: Buffer, width: int, transitions: Buffer, starts: Buffer, ends: Buffer, labels: Buffer, /
) -> None: ...
def crf_emissions(
    blocks: Buffer,
    width: int,
    begins: Buffer,
    pairs: Buffer,
    bos: Buffer,
    eos: Buffer,
    kb_rows: Buffer,
    kb_weights: Buffer,
    out: Buffer,
    /,
) -> None: ...
def window_hidden(
    parts: Buffer,
    hidden: int,
    win_b: Buffer,
    firsts: Buffer,
    pad_left: Buffer,
    pad_right: Buffer,
    kb_tags: Buffer,
    kb_changes: Buffer,
    out: Buffer,
    /,
) -> None: ...
def pair_rows(
    halves: Sequence[tuple[str, ...]],
    rows: dict[str, int],
    bases: dict[tuple[str, ...], int],
    missing: int,
    stems: Buffer,
    combined: Buffer,
    /,
) -> list[int]: ...
