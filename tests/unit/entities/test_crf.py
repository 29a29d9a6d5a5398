"""The numpy CRF decoder against CRFsuite's own tagger: same labels, sentence by sentence and many at once."""

from __future__ import annotations

import random
from pathlib import Path

import pycrfsuite

from newswire.enricher.entities.crf import LinearChainCRF, export_model
from newswire.enricher.entities.features import WordFeatures, pair_features

_WORDS = ["mr", "smith", "of", "acme", "corp", "went", "to", "paris", "said", "the", "bank", ",", "."]


def _features(word: str) -> WordFeatures:
    shape = "p" if word in ",." else "w"
    own = (f"w={word}", f"s1={word[-1]}", *(("short",) if len(word) < 4 else ()))
    # Words of more than two letters have a half of the two-word features (Arabic words, in the recogniser).
    pair = (word, str(int(word.startswith("the"))), "cue" if word in ("mr", "said") else "") if len(word) > 2 else ()
    return WordFeatures(
        own, (f"-2w={word}",), (f"-1w={word}", f"-1sh={shape}"), (f"+1w={word}",), (f"+2w={word}",), pair
    )


def _items(words: list[str], kb: list[str]) -> list[list[str]]:
    """The attribute lists features.FeatureExtractor.sequence makes for one sentence."""
    items = []
    for index, word in enumerate(words):
        features = list(_features(word).own)
        if index == 0:
            features.append("BOS")
        else:
            features.extend(_features(words[index - 1]).prev)
            if kb[index - 1]:
                features.append("-1kb=" + kb[index - 1])
            if index > 1:
                features.extend(_features(words[index - 2]).prev2)
            left, right = _features(words[index - 1]).pair, _features(word).pair
            if left and right:
                features.extend(pair_features(left, right))
        if index == len(words) - 1:
            features.append("EOS")
        else:
            features.extend(_features(words[index + 1]).next)
            if kb[index + 1]:
                features.append("+1kb=" + kb[index + 1])
            if index < len(words) - 2:
                features.extend(_features(words[index + 2]).next2)
        if kb[index]:
            features.append("kb=" + kb[index])
        items.append(features)
    return items


def _sentence(rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(1, 12))]
    kb = [rng.choice(["", "", "", "B-LOC", "B-PER", "I-PER"]) for _ in words]
    tags = []
    for word in words:
        if word in ("smith", "paris", "acme"):
            label = {"smith": "PER", "paris": "LOC", "acme": "ORG"}[word]
            inside = bool(tags) and tags[-1].endswith(label)
            tags.append(("I-" if inside else "B-") + label)
        else:
            tags.append("O")
    return words, kb, tags


def test_numpy_decoding_gives_crfsuite_labels(tmp_path: Path) -> None:
    rng = random.Random(7)
    trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
    trainer.set_params({"c1": 0.01, "c2": 0.01, "max_iterations": 50, "feature.possible_transitions": True})
    for _ in range(200):
        words, kb, tags = _sentence(rng)
        trainer.append(_items(words, kb), tags)
    trainer.train(str(tmp_path / "toy.crfsuite"))
    export_model(tmp_path / "toy.crfsuite", tmp_path / "toy.npz")
    model = LinearChainCRF(tmp_path / "toy.npz")
    tagger = pycrfsuite.Tagger()
    tagger.open(str(tmp_path / "toy.crfsuite"))
    sentences = [_sentence(rng) for _ in range(300)]
    words, kb, firsts, expected = [], [], [], []
    for sentence_words, sentence_kb, _ in sentences:
        firsts.append(len(words))
        words += sentence_words
        kb += sentence_kb
        expected += tagger.tag(_items(sentence_words, sentence_kb))
    scores = [model.word_scores(_features(word)) for word in words]
    pairs = model.pair_emissions([_features(word).pair for word in words])
    assert model.has_pairs and pairs.any()  # the toy model weights word pairs
    assert model.decode(model.emissions(scores, kb, firsts, pairs), firsts) == expected
    first = sentences[0]
    alone = model.decode(model.emissions(scores[: len(first[0])], first[1], [0], pairs[: len(first[0])]), [0])
    assert alone == tagger.tag(_items(first[0], first[1]))
    assert len(set(expected)) > 3  # the toy model tags names, not only O
