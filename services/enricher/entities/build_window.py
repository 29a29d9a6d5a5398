"""Train the window network that stands beside the Arabic CRF (window.py) with torch, and export its arrays.

Called by build_ner for the Arabic model (`train_window`); needs the `train` extra (torch, CPU build). Same
training sentences, corpus weights and harmonised names as the CRF. The network: per token the sum of learnt
vectors of its `WordFeatures.own` attributes (those seen at least twice in training), a max-pooled convolution
over its letters and a vector for its knowledge-base tag; a ReLU layer over five-token windows; label scores and
transitions trained with the CRF likelihood. The number of passes over the data (3) was chosen on the ANERcorp
dev split with the CRF beside it (RESULTS.md). One thread, fixed seeds: the same corpora give the same bytes with
the same torch build.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from newswire.enricher.entities.crf import TAGS
from newswire.enricher.entities.features import FeatureExtractor
from newswire.enricher.entities.normalize import alias_key

if TYPE_CHECKING:
    from newswire.enricher.entities.build_ner import Split

EPOCHS = 3
SEED = 13
HIDDEN = 128
ATTRIBUTE_DIM = 64
CHAR_DIM = 20
FILTERS = 64
KB_DIM = 16
DROPOUT_INPUT = 0.25
DROPOUT_HIDDEN = 0.3
LEARNING_RATE = 1e-3
BATCH = 32
MAX_CHARS = 20
KB_TAGS = ("", *TAGS[1:])


def train_window(
    model_name: str, splits: list[Split], weights: dict[str, int], features: FeatureExtractor, out: Path
) -> Path:
    """Train the network beside the CRF `model_name` ("ar") on the training parts of `splits` (each repeated
    `weights[name]` times) and write its arrays to `out` (`ner-<model_name>-window.npz`)."""
    import torch

    torch.set_num_threads(1)
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    words = sorted({word for split in splits for part in (split.train, split.dev) for s in part for word, _ in s})
    own = {word: features.features_of(word).own for word in words}
    letters = {word: alias_key(word) for word in words}
    attribute_counts: Counter[str] = Counter()
    char_counts: Counter[str] = Counter()
    for split in splits:
        for sentence in split.train:
            for word, _ in sentence:
                attribute_counts.update(own[word])
                char_counts.update(letters[word][:MAX_CHARS])
    attributes = sorted(attribute for attribute, count in attribute_counts.items() if count >= 2)
    chars = ["<pad>", "<unk>", *sorted(char for char, count in char_counts.items() if count >= 2)]
    attribute_row = {attribute: index for index, attribute in enumerate(attributes)}
    char_row = {char: index for index, char in enumerate(chars)}
    word_row = {word: index for index, word in enumerate(words)}
    word_attributes = [[attribute_row[a] for a in own[word] if a in attribute_row] for word in words]
    word_chars = np.zeros((len(words), MAX_CHARS), dtype=np.int64)
    word_lengths = np.zeros(len(words), dtype=np.int64)
    for index, word in enumerate(words):
        codes = [char_row.get(char, 1) for char in letters[word][:MAX_CHARS]] or [1]
        word_chars[index, : len(codes)] = codes
        word_lengths[index] = len(codes)

    def encode(sentence: list[tuple[str, str]]) -> tuple[Any, Any, Any]:
        tokens = [word for word, _ in sentence]
        return (
            np.array([word_row[word] for word in tokens]),
            np.array([KB_TAGS.index(tag) for tag in features.kb_tags(tokens)]),
            np.array([TAGS.index(tag) for _, tag in sentence]),
        )

    training = []
    for split in splits:
        encoded = [encode(sentence) for sentence in split.train]
        training += encoded * weights[split.name]
    model = _network(len(attributes), len(chars), word_attributes, word_chars, word_lengths)
    optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    for _ in range(EPOCHS):
        order = list(range(len(training)))
        random.shuffle(order)
        # Batches of similar length (sorted within chunks of 50 batches), in random order.
        chunks = [
            sorted(order[start : start + 50 * BATCH], key=lambda item: len(training[item][0]))
            for start in range(0, len(order), 50 * BATCH)
        ]
        batches = [chunk[start : start + BATCH] for chunk in chunks for start in range(0, len(chunk), BATCH)]
        random.shuffle(batches)
        for batch in batches:
            tokens, kb, tags, lengths = _padded([training[item] for item in batch])
            emit, valid = model(tokens, kb, lengths)
            loss = _crf_loss(emit, tags, valid, model.transitions)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"ner-{model_name}-window.npz"
    _export(model, attributes, chars, path)
    return path


def _network(
    attributes: int, chars: int, word_attributes: list[list[int]], word_chars: Any, word_lengths: Any
) -> Any:
    import torch
    from torch import nn
    from torch.nn import functional

    class Window(nn.Module):  # type: ignore[misc,unused-ignore]  # torch is Any where the train extra is absent
        def __init__(self) -> None:
            super().__init__()
            self.attr = nn.EmbeddingBag(attributes, ATTRIBUTE_DIM, mode="sum")
            self.char = nn.Embedding(chars, CHAR_DIM, padding_idx=0)
            self.conv = nn.Conv1d(CHAR_DIM, FILTERS, 3, padding=1)
            self.kb = nn.Embedding(len(KB_TAGS), KB_DIM)
            dim = ATTRIBUTE_DIM + FILTERS + KB_DIM
            self.pad_left = nn.Parameter(torch.randn(dim) * 0.1)
            self.pad_right = nn.Parameter(torch.randn(dim) * 0.1)
            self.win = nn.Conv1d(dim, HIDDEN, 5)
            self.out = nn.Linear(HIDDEN, len(TAGS))
            self.transitions = nn.Parameter(torch.zeros(len(TAGS), len(TAGS)))
            nn.init.normal_(self.attr.weight, std=0.1)

        def spellings(self, unique: Any) -> Any:
            ids = [word_attributes[index] for index in unique.tolist()]
            offsets = torch.tensor(np.cumsum([0] + [len(x) for x in ids[:-1]]), dtype=torch.long)
            flat = torch.tensor([a for x in ids for a in x], dtype=torch.long)
            codes = torch.from_numpy(word_chars[unique])
            lengths = torch.from_numpy(word_lengths[unique])
            longest = int(lengths.max())
            convolved = self.conv(self.char(codes[:, :longest]).transpose(1, 2))
            mask = torch.arange(longest)[None, :] < lengths[:, None]
            pooled = convolved.masked_fill(~mask[:, None, :], -1e4).max(dim=2).values
            return self.attr(flat, offsets), pooled

        def forward(self, tokens: Any, kb: Any, lengths: Any) -> tuple[Any, Any]:
            unique, inverse = np.unique(tokens.numpy(), return_inverse=True)
            attrs, pooled = self.spellings(unique)
            where = torch.from_numpy(inverse.reshape(tokens.shape))
            x = torch.cat([attrs[where], pooled[where], self.kb(kb)], dim=-1)
            batch, steps, _ = x.shape
            valid = torch.arange(steps)[None, :] < lengths[:, None]
            x = torch.where(valid[..., None], x, self.pad_right)
            x = torch.cat([self.pad_left.expand(batch, 2, -1), x, self.pad_right.expand(batch, 2, -1)], dim=1)
            x = functional.dropout(x, DROPOUT_INPUT, self.training)
            hidden = functional.relu(self.win(x.transpose(1, 2))).transpose(1, 2)
            hidden = functional.dropout(hidden, DROPOUT_HIDDEN, self.training)
            return self.out(hidden), valid

    return Window()


def _padded(batch: list[tuple[Any, Any, Any]]) -> tuple[Any, Any, Any, Any]:
    import torch

    steps = max(len(item[0]) for item in batch)
    tokens = torch.zeros(len(batch), steps, dtype=torch.long)
    kb, tags = torch.zeros_like(tokens), torch.zeros_like(tokens)
    for row, (words, kb_tags, gold) in enumerate(batch):
        count = len(words)
        tokens[row, :count] = torch.from_numpy(words)
        kb[row, :count] = torch.from_numpy(kb_tags)
        tags[row, :count] = torch.from_numpy(gold)
    return tokens, kb, tags, torch.tensor([len(item[0]) for item in batch])


def _crf_loss(emit: Any, tags: Any, valid: Any, transitions: Any) -> Any:
    """Mean negative log-likelihood of the gold label sequences (forward algorithm over the padded batch)."""
    import torch

    gold = emit.gather(2, tags[..., None]).squeeze(2)
    moves = transitions[tags[:, :-1], tags[:, 1:]]
    score = (gold * valid).sum(1) + (moves * valid[:, 1:]).sum(1)
    alpha = emit[:, 0]
    for step in range(1, emit.shape[1]):
        following = torch.logsumexp(alpha[:, :, None] + transitions[None], dim=1) + emit[:, step]
        alpha = torch.where(valid[:, step : step + 1], following, alpha)
    return (torch.logsumexp(alpha, 1) - score).mean()


def _export(model: Any, attributes: list[str], chars: list[str], path: Path) -> None:
    """The arrays window.WindowTagger reads; the two embedding tables in float16 (most of the file)."""

    def array(tensor: Any, dtype: Any = np.float32) -> Any:
        return tensor.detach().numpy().astype(dtype)

    with path.open("wb") as handle:
        np.savez_compressed(
            handle,
            labels=np.array(TAGS),
            kb_tags=np.array(KB_TAGS),
            kb_emb=array(model.kb.weight),
            pad_left=array(model.pad_left),
            pad_right=array(model.pad_right),
            win_w=np.ascontiguousarray(array(model.win.weight).transpose(2, 1, 0)),
            win_b=array(model.win.bias),
            out_w=np.ascontiguousarray(array(model.out.weight).T),
            out_b=array(model.out.bias),
            transitions=array(model.transitions),
            max_chars=np.array(MAX_CHARS),
            attr_vocab=np.array(attributes),
            attr_emb=array(model.attr.weight, np.float16),
            char_vocab=np.array(chars),
            char_emb=array(model.char.weight, np.float16),
            conv_w=array(model.conv.weight),
            conv_b=array(model.conv.bias),
        )
