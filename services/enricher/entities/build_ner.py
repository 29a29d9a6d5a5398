"""Train the named-entity recogniser's models from the shared NER corpora (and the English wire stories written
for this repository, `tests/fixtures/entities/wire_stories.json`) and write them into the package data.

    .venv/bin/python -m newswire.enricher.entities.build_ner [--datasets DIR] [--out DIR] [--only ar|latin]
        [--dev-offset K]

Two linear-chain CRF models (CRFsuite, L-BFGS) for Arabic script and for Latin script (English and French corpora
together: capitalisation and shape carry across the two), exported as numpy arrays to `ner-ar.npz` and
`ner-latin.npz` (crf.py decodes them; python-crfsuite is needed to train only); for Arabic, a window network
beside the CRF, trained with torch on the same sentences (build_window.py) and exported to `ner-ar-window.npz`
(window.py runs it in numpy). Every tenth block of 50 sentences of each corpus is held out as its dev split
(`dev_split`), never trained on; the dev figures are printed at the end. The build is deterministic: same
corpora, same model bytes (the window network: with the same torch build).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from newswire.enricher.entities.crf import TAGS, LinearChainCRF, export_model
from newswire.enricher.entities.features import FeatureExtractor
from newswire.enricher.entities.kb import DATA_DIR, load_entities, load_lexicon
from newswire.enricher.entities.marked import read_stories, tagged_sentences
from newswire.enricher.entities.matcher import AliasMatcher
from newswire.enricher.entities.ner import WINDOW_WEIGHT, Tagger, place_head, shouted
from newswire.enricher.entities.normalize import alias_key, is_arabic
from newswire.enricher.entities.window import CrfWithWindow, WindowTagger

DEFAULT_DATASETS = Path(__file__).resolve().parents[3] / ".." / "shared" / "datasets" / "ner"
BLOCK = 50
DEV_EVERY = 10
# Corpora per model. The weight repeats a corpus in training: English news-like text is scarce, so the English
# corpora count twice against the larger French one.
CORPORA: dict[str, tuple[tuple[str, int], ...]] = {
    "ar": (("anercorp-camel-train", 3), ("aqmar", 1), ("wikifane-gold", 1)),
    "latin": (("wikigold-en", 2), ("crossner-politics-en", 2), ("winer-fr", 1), ("wire-stories", 1)),
}
# Corpora kept in this repository, not in the shared folder: English wire stories (headlines, datelines, results
# tables, market reports) written with their names marked; the Wikipedia corpora have no such text. Weight 1
# chosen on the dev splits (RESULTS.md).
REPOSITORY_CORPORA = {
    "wire-stories": Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "entities" / "wire_stories.json"
}
# Models with a window network beside the CRF (build_window.py, window.py).
WINDOW_MODELS = frozenset({"ar"})
TRAINER_PARAMS = {
    "c1": 0.05,
    "max_iterations": 120,
    "feature.possible_transitions": True,
}
# L2 weight per model, chosen on the dev splits: the Arabic model, with more sparse word features, gained from
# a stronger prior (ANERcorp dev F1 0.735 -> 0.742); the Latin-script one did not (WikiGold dev 0.835 -> 0.826).
L2 = {"ar": 0.1, "latin": 0.01}
# WikiFANE is clitic-segmented ("و مدينة", "عاصمة ها"); newswire is not, so its clitics are glued back on.
_WIKIFANE_PROCLITICS = frozenset({"و", "ف", "ب", "ل"})
_WIKIFANE_ENCLITICS = frozenset({"ه", "ها", "هم", "هما", "هن", "نا"})

# Arabic Wikipedia corpora whose place names are cut the way the news corpus cuts them, and whose person names
# leave out the titles the news corpus leaves out (learnt from it: `person_titles`).
HARMONISED = frozenset({"aqmar", "wikifane-gold"})
NEWS_CORPUS = "anercorp-camel-train"
# A title: a word (of 4 letters at least, so no preposition or conjunction) that stands right before a person's
# name at least this often in the news corpus's training part and never inside one ("الملك", "الدكتور").
_TITLE_MIN_COUNT = 3

Sentence = list[tuple[str, str]]


@dataclass
class Split:
    """A corpus cut into training and dev sentences."""

    name: str
    train: list[Sentence]
    dev: list[Sentence]


def read_conll(path: Path) -> list[Sentence]:
    """Sentences of a `token<TAB>tag` file, blank line between sentences."""
    sentences: list[Sentence] = []
    current: Sentence = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
                current = []
            continue
        token, _, tag = line.partition("\t")
        if not tag:
            raise ValueError(f"{path}: line without a tab-separated tag: {line!r}")
        current.append((token, tag.strip()))
    if current:
        sentences.append(current)
    return sentences


def glue_clitics(sentence: Sentence) -> Sentence:
    """Attach WikiFANE's split proclitics to the next word and pronoun suffixes to the previous one."""
    out: Sentence = []
    pending = ""
    for token, tag in sentence:
        if token in _WIKIFANE_PROCLITICS and tag == "O":
            pending += token
            continue
        if token in _WIKIFANE_ENCLITICS and tag == "O" and out and out[-1][0][-1:].isalpha() and not pending:
            out[-1] = (out[-1][0] + token, out[-1][1])
            continue
        if pending and token[:1].isalpha():
            token = pending + token
        elif pending:
            out.append((pending, "O"))
        pending = ""
        out.append((token, tag))
    if pending:
        out.append((pending, "O"))
    return out


def without_place_heads(sentence: Sentence) -> Sentence:
    """Leave the word for city, street, mosque ... out of a place name, as ANERcorp (news) does and the
    Wikipedia corpora do not ("مدينة حلب": O B-LOC, not B-LOC I-LOC)."""
    out = list(sentence)
    for index in range(len(out) - 1):
        (word, tag), (next_word, next_tag) = out[index], out[index + 1]
        if tag == "B-LOC" and next_tag == "I-LOC" and place_head(word):
            out[index] = (word, "O")
            out[index + 1] = (next_word, "B-LOC")
    return out


def person_titles(sentences: list[Sentence]) -> frozenset[str]:
    """The words the news corpus puts right before a person's name and never inside one (normalised)."""
    before: Counter[str] = Counter()
    inside: set[str] = set()
    for sentence in sentences:
        for index, (word, tag) in enumerate(sentence):
            key = alias_key(word)
            if tag.endswith("-PER"):
                inside.add(key)
            elif tag == "O" and index + 1 < len(sentence) and sentence[index + 1][1] == "B-PER":
                before[key] += 1
    return frozenset(
        word
        for word, count in before.items()
        if count >= _TITLE_MIN_COUNT and word not in inside and len(word) >= 4 and word.isalpha() and is_arabic(word)
    )


def without_titles(sentence: Sentence, titles: frozenset[str]) -> Sentence:
    """Leave a title out of the person's name it starts ("الملك عبد الله": O B-PER I-PER), as the news corpus does."""
    out = list(sentence)
    for index in range(len(out) - 1):
        (word, tag), (next_word, next_tag) = out[index], out[index + 1]
        if tag == "B-PER" and next_tag == "I-PER" and alias_key(word) in titles:
            out[index] = (word, "O")
            out[index + 1] = (next_word, "B-PER")
    return out


def dev_split(name: str, sentences: list[Sentence], offset: int = 0) -> Split:
    """Every tenth block of 50 consecutive sentences is dev: whole passages, so dev names were not seen nearby.
    The dev blocks are those with index % 10 == 9 (blocks 9, 19, ...); `offset` K moves them to index % 10 ==
    (9 + K) % 10, a second dev split to check a choice on (K 5: blocks 4, 14, ...)."""
    train: list[Sentence] = []
    dev: list[Sentence] = []
    held_out = (DEV_EVERY - 1 + offset) % DEV_EVERY
    for index, sentence in enumerate(sentences):
        (dev if (index // BLOCK) % DEV_EVERY == held_out else train).append(sentence)
    return Split(name, train, dev)


def load_corpus(datasets: Path, name: str, dev_offset: int = 0) -> Split:
    """One corpus from the shared folder (or this repository), with its dev split."""
    if name in REPOSITORY_CORPORA:
        # A line in capitals is left to the knowledge base at run time (ner.shouted): not learnt from either.
        stories = read_stories(REPOSITORY_CORPORA[name])
        sentences = [
            sentence
            for _, text in stories
            for sentence in tagged_sentences(text)
            if not shouted([token for token, _ in sentence])
        ]
        return dev_split(name, sentences, dev_offset)
    path = datasets / name / "train.conll"
    if not path.is_file():
        raise SystemExit(f"missing training corpus {path}: the shared NER datasets folder is needed to build")
    sentences = read_conll(path)
    if name == "wikifane-gold":
        sentences = [glue_clitics(sentence) for sentence in sentences]
    if name in HARMONISED:
        sentences = [without_place_heads(sentence) for sentence in sentences]
    return dev_split(name, sentences, dev_offset)


def extractor() -> FeatureExtractor:
    """The feature extractor over the package's knowledge base and word lists."""
    entities, lexicon = load_entities(), load_lexicon()
    return FeatureExtractor(entities, lexicon, AliasMatcher(entities, lexicon))


def featurise(features: FeatureExtractor, sentence: Sentence) -> list[list[str]]:
    """The CRF items of one training sentence."""
    words = [token for token, _ in sentence]
    return features.sequence(words, features.kb_tags(words))


def train(model: str, splits: list[Split], weights: dict[str, int], out: Path, features: FeatureExtractor) -> Path:
    """Train one CRF on the training parts of `splits` and write its weights to `out`."""
    import pycrfsuite

    trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
    trainer.set_params({**TRAINER_PARAMS, "c2": L2[model]})
    count = 0
    for split in splits:
        for _ in range(weights[split.name]):
            for sentence in split.train:
                trainer.append(featurise(features, sentence), [tag for _, tag in sentence])
                count += 1
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"ner-{model}.npz"
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        trained = Path(scratch) / "model.crfsuite"
        trainer.train(str(trained))
        export_model(trained, path)
    print(f"{model}: trained on {count} sentences in {time.perf_counter() - started:.0f} s -> {path.name}")
    return path


def spans(tags: list[str]) -> set[tuple[int, int, str]]:
    """Entity spans (start, end, label) of an IOB2 sequence; MISC is dropped."""
    found = set()
    start, label = -1, ""
    for index, tag in enumerate([*tags, "O"]):
        inside = tag.startswith("I-") and tag[2:] == label
        if start >= 0 and not inside:
            if label != "MISC":
                found.add((start, index, label))
            start = -1
        if tag.startswith("B-") or (tag.startswith("I-") and not inside):
            start, label = index, tag[2:]
    return found


def evaluate(model: Tagger, split: Split, features: FeatureExtractor) -> dict[str, tuple[int, int, int]]:
    """Span-level (tp, fp, fn) per type and untyped ("ALL") on the dev sentences."""
    counts: Counter[tuple[str, str]] = Counter()
    for sentence in split.dev:
        gold = spans([tag for _, tag in sentence])
        words = [token for token, _ in sentence]
        spellings = [features.word_features(word) for word in words]
        scores = model.spelling_scores(spellings, words)
        emit = model.label_scores(scores, [word.pair for word in spellings], features.kb_tags(words), (0,))
        predicted = spans([TAGS[index] for index in model.decode_tags(emit, (0,)).tolist()])
        for label in ("PER", "ORG", "LOC"):
            g = {s for s in gold if s[2] == label}
            p = {s for s in predicted if s[2] == label}
            counts[label, "tp"] += len(g & p)
            counts[label, "fp"] += len(p - g)
            counts[label, "fn"] += len(g - p)
        g_any = {s[:2] for s in gold}
        p_any = {s[:2] for s in predicted}
        counts["ALL", "tp"] += len(g_any & p_any)
        counts["ALL", "fp"] += len(p_any - g_any)
        counts["ALL", "fn"] += len(g_any - p_any)
    return {
        label: (counts[label, "tp"], counts[label, "fp"], counts[label, "fn"]) for label in ("PER", "ORG", "LOC", "ALL")
    }


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def report(name: str, model: Tagger, split: Split, features: FeatureExtractor) -> Iterator[str]:
    """Dev figures of one model on one corpus, as table rows."""
    for label, (tp, fp, fn) in evaluate(model, split, features).items():
        p, r, f = prf(tp, fp, fn)
        yield f"| {name} | {split.name} dev | {label} | {p:.3f} | {r:.3f} | {f:.3f} | {tp + fn} |"


def main(argv: list[str] | None = None) -> None:
    """Train the models named by --only (default all), then print their dev figures and checksums."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS, help="the shared NER corpora folder")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="where the models are written")
    parser.add_argument("--only", choices=sorted(CORPORA), action="append", help="build only this model")
    parser.add_argument(
        "--dev-offset", type=int, default=0, help="hold out the blocks with index %% 10 == (9 + K) %% 10 (default 0: 9)"
    )
    args = parser.parse_args(argv)
    rows = ["| model | split | type | P | R | F1 | gold spans |", "|---|---|---|---|---|---|---|"]
    built = []
    features = extractor()
    for model in args.only or sorted(CORPORA):
        splits = [load_corpus(args.datasets.resolve(), name, args.dev_offset) for name, _ in CORPORA[model]]
        news = next((split for split in splits if split.name == NEWS_CORPUS), None)
        if news is not None:
            # Learnt from the news corpus's training part only; its dev sentences stay as annotated.
            titles = person_titles(news.train)
            for split in splits:
                if split.name in HARMONISED:
                    split.train = [without_titles(sentence, titles) for sentence in split.train]
        path = train(model, splits, dict(CORPORA[model]), args.out, features)
        written = [path]
        taggers: list[tuple[str, Tagger]] = [(path.name, LinearChainCRF(path))]
        if model in WINDOW_MODELS:
            # The window network beside the CRF (build_window.py; torch, from the train extra).
            from newswire.enricher.entities.build_window import train_window

            window = train_window(model, splits, dict(CORPORA[model]), features, args.out)
            written.append(window)
            crf = LinearChainCRF(path)
            taggers.append((f"{path.name} + {window.name}", CrfWithWindow(crf, WindowTagger(window), WINDOW_WEIGHT)))
        for file in written:
            digest = hashlib.sha256(file.read_bytes()).hexdigest()[:16]
            print(f"{file.name}: {file.stat().st_size / 2**20:.1f} MiB, sha256 {digest}")
        built.append((taggers, splits))
    for taggers, splits in built:
        for name, tagger in taggers:
            for split in splits:
                if split.dev:
                    rows.extend(report(name, tagger, split, features))
    print("\n".join(rows))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
