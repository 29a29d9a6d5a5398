"""Regular-expression alternations of many words, factored as a trie.

`(?:said|says|stated)` makes the engine try every word at every position it reaches; the factored
`(?:sa(?:id|ys)|stated)` tests each letter once. Both match the same strings, and both prefer the longest
word at a position (a shorter one is tried only when what follows the longer one fails).
"""

from __future__ import annotations

import array
import itertools
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any


def word_alternation(words: Iterable[str], *, ignore_case: bool = False) -> str:
    """A regex matching any of the words (escaped, longest first), as a trie of their letters; no group captures.

    With `ignore_case` (for a pattern compiled with re.IGNORECASE) letters that differ only by case share a
    branch, so the longest word still wins whatever the case of the text.
    """
    return _render(_trie(words, ignore_case=ignore_case))


class WholeWords:
    r"""Where any of the words stands as a whole word: `(?<!\w)[proclitics]?(?:word_alternation(words))(?!\w)`,
    searched only from the first character any match could start with.

    A pattern that starts with a lookbehind is tried at every position of the text (about 40 ns each), so a text
    with none of the words' first letters still costs a scan: on Arabic news a third of the speech-verb search
    went to Latin verbs, which cannot match there. The first letters (every case variant the engine's IGNORECASE
    accepts, and the proclitics) form a character class the engine skips through quickly; the pattern runs from
    the first of them (its lookbehind still sees the text before), so it finds exactly what it finds from the start.
    """

    def __init__(self, words: Iterable[str], *, ignore_case: bool = False, proclitics: str = "") -> None:
        words = list(words)
        flags = re.IGNORECASE if ignore_case else 0
        before = f"[{re.escape(proclitics)}]?" if proclitics else ""
        alternation = word_alternation(words, ignore_case=ignore_case)
        self.pattern = re.compile(rf"(?<!\w){before}(?:{alternation})(?!\w)", flags)
        firsts = "".join(re.escape(char) for char in sorted({word[0] for word in words if word} | set(proclitics)))
        if ignore_case and firsts:
            # The characters the engine takes for these letters: "s" is also "S" and the long s "ſ".
            firsts = "".join(re.escape(char) for char in re.findall(f"[{firsts}]", _every_character(), flags))
        self.first = re.compile(f"[{firsts}]") if firsts else None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """The matches of `pattern` in the text, in order."""
        first = self.first.search(text) if self.first is not None else None
        if first is None:
            return iter(())
        return self.pattern.finditer(text, first.start())


def _every_character() -> str:
    """Every Unicode character but the surrogates, once (4 MB, built in about 50 ms): the text in which the case
    variants of letters are found with the engine's own IGNORECASE rules."""
    typecode = next(code for code in "IL" if array.array(code).itemsize == 4)
    points = array.array(typecode, itertools.chain(range(0xD800), range(0xE000, 0x110000)))
    return points.tobytes().decode("utf-32-le" if sys.byteorder == "little" else "utf-32-be")


def _trie(words: Iterable[str], *, ignore_case: bool) -> dict[str, Any]:
    trie: dict[str, Any] = {}
    for word in set(words):
        if not word:
            continue
        node = trie
        for char in word:
            if ignore_case and len(char.lower()) == 1:
                char = char.lower()
            node = node.setdefault(char, {})
        node[""] = {}
    return trie


def _render(node: dict[str, Any]) -> str:
    branches = [(re.escape(char), _render(child)) for char, child in sorted(node.items()) if char]
    optional = "" in node
    if not branches:
        return ""
    if len(branches) == 1 and not optional:
        return branches[0][0] + branches[0][1]
    if len(branches) == 1 and not branches[0][1]:
        return branches[0][0] + "?"
    return "(?:" + "|".join(char + rest for char, rest in branches) + ")" + ("?" if optional else "")
