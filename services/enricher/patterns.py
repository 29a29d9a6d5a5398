"""Regular-expression alternations of many words, factored as a trie.

`(?:said|says|stated)` makes the engine try every word at every position it reaches; the factored
`(?:sa(?:id|ys)|stated)` tests each letter once. Both match the same strings, and both prefer the longest
word at a position (a shorter one is tried only when what follows the longer one fails).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


def word_alternation(words: Iterable[str], *, ignore_case: bool = False) -> str:
    """A regex matching any of the words (escaped, longest first), as a trie of their letters; no group captures.

    With `ignore_case` (for a pattern compiled with re.IGNORECASE) letters that differ only by case share a
    branch, so the longest word still wins whatever the case of the text.
    """
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
    return _render(trie)


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
