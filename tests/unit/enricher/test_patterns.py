"""A trie-factored alternation matches exactly what the plain longest-first alternation matches."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from newswire.enricher.patterns import WholeWords, word_alternation

LETTERS = "abcAB.é و"
words = st.lists(st.text(alphabet=LETTERS, min_size=1, max_size=6), min_size=1, max_size=30)


def plain(items: list[str]) -> str:
    return "|".join(re.escape(item) for item in sorted(set(items), key=len, reverse=True))


@given(words, st.text(alphabet=LETTERS, max_size=200), st.booleans())
@settings(max_examples=300, deadline=None)
def test_same_matches_as_the_plain_alternation(items: list[str], text: str, ignore_case: bool) -> None:
    flags = re.IGNORECASE if ignore_case else 0
    for template in ("(?:{})", r"(?<!\w)(?:{})(?!\w)"):
        expected = re.compile(template.format(plain(items)), flags)
        factored = re.compile(template.format(word_alternation(items, ignore_case=ignore_case)), flags)
        assert [m.span() for m in factored.finditer(text)] == [m.span() for m in expected.finditer(text)]


def test_shared_prefixes_are_factored_and_empty_words_ignored() -> None:
    assert word_alternation(["said", "says", "stated", ""]) == "s(?:a(?:id|ys)|tated)"
    assert word_alternation(["an", "and"]) == "and?"
    assert re.fullmatch(word_alternation(["a.b", "a+b"]), "a+b")


CASED = LETTERS + "kKſSsİı\u212a"  # the long s and the Kelvin sign are s and k to IGNORECASE


@given(words, st.text(alphabet=CASED, max_size=200), st.booleans(), st.sampled_from(["", "و", "aو"]))
@settings(max_examples=200, deadline=None)
def test_whole_words_find_what_the_plain_pattern_finds(
    items: list[str], text: str, ignore_case: bool, proclitics: str
) -> None:
    flags = re.IGNORECASE if ignore_case else 0
    prefix = f"[{proclitics}]?" if proclitics else ""
    expected = re.compile(rf"(?<!\w){prefix}(?:{plain(items)})(?!\w)", flags)
    found = WholeWords(items, ignore_case=ignore_case, proclitics=proclitics)
    assert [m.span() for m in found.finditer(text)] == [m.span() for m in expected.finditer(text)]


def test_whole_words_are_looked_for_from_the_first_possible_letter() -> None:
    said = WholeWords(["said", "Says"], ignore_case=True)
    # IGNORECASE reads the long s ſ as s too, so it is one of the letters a match may start with.
    assert said.first is not None and said.first.pattern == "[Ssſ]"
    assert [m.group() for m in said.finditer("He SAID, she says; unsaid, ſaid")] == ["SAID", "says", "ſaid"]
    assert list(said.finditer("قال الوزير")) == []
    assert list(WholeWords([]).finditer("anything")) == []
    # The lookbehind still sees the text before the first possible letter: no match inside a word.
    assert [m.span() for m in WholeWords(["ab"]).finditer("xab ab")] == [(4, 6)]
