"""Marked stories (`[[PER|name]]`) read as plain text with names, and as the recogniser's training sentences."""

from __future__ import annotations

from pathlib import Path

import pytest

from newswire.enricher.entities.build_ner import REPOSITORY_CORPORA, load_corpus
from newswire.enricher.entities.marked import MarkupError, read_stories, tagged_sentences, unmark
from newswire.enricher.entities.ner import shouted

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "entities"


def test_unmark_gives_the_plain_text_and_the_spans_of_the_names() -> None:
    text, names = unmark("[[PER|Anna Berg]] ( [[LOC|Sweden]] ) beat [[PER|Luis Moreno]] 6-4 .")
    assert text == "Anna Berg ( Sweden ) beat Luis Moreno 6-4 ."
    assert [(text[start:end], kind) for start, end, kind in names] == [
        ("Anna Berg", "PER"),
        ("Sweden", "LOC"),
        ("Luis Moreno", "PER"),
    ]


def test_sentences_are_cut_and_tagged_as_the_recogniser_reads_them() -> None:
    sentences = tagged_sentences(
        "[[LOC|LONDON]] 2025-11-08\n[[ORG|Leeds]] [[ORG|United]] beat [[ORG|Fulham]] 2-1. [[PER|Ola Berg]] scored."
    )
    assert sentences == [
        [("LONDON", "B-LOC"), ("2025-11-08", "O")],
        [("Leeds", "B-ORG"), ("United", "B-ORG"), ("beat", "O"), ("Fulham", "B-ORG"), ("2-1", "O"), (".", "O")],
        [("Ola", "B-PER"), ("Berg", "I-PER"), ("scored", "O"), (".", "O")],
    ]


@pytest.mark.parametrize("broken", ["[[PER|Anna Berg] beat", "[[PERSON|Anna Berg]] beat", "[[PER|Anna|Berg]]"])
def test_a_mark_that_cannot_be_read_is_a_clear_error(broken: str) -> None:
    with pytest.raises(MarkupError, match="unreadable mark"):
        unmark(broken)


def test_the_wire_stories_read_cleanly_and_train_without_their_capitals_lines() -> None:
    for path in (REPOSITORY_CORPORA["wire-stories"], FIXTURES / "wire_stories_heldout.json"):
        stories = read_stories(path)
        assert len({story_id for story_id, _ in stories}) == len(stories)
        for _, marked in stories:
            text, names = unmark(marked)
            assert names and all(text[start:end].strip() == text[start:end] for start, end, _ in names)
    # The corpus lives in the repository: no shared folder is needed to read it.
    corpus = load_corpus(Path("/nonexistent"), "wire-stories")
    sentences = corpus.train + corpus.dev
    every = [s for _, marked in read_stories(REPOSITORY_CORPORA["wire-stories"]) for s in tagged_sentences(marked)]
    headlines = [s for s in every if shouted([token for token, _ in s])]
    assert len(headlines) > 100 and len(sentences) == len(every) - len(headlines)
    assert not any(shouted([token for token, _ in sentence]) for sentence in sentences)
