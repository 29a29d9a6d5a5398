"""Full-text folding of Arabic (and every other script) before PostgreSQL's `simple` configuration.

The same folding as the SQL function `search_text()` of the sink's schema (a test compares them): the sink
folds documents here, cheaply, and queries go through `search_query()` in SQL.
"""

from __future__ import annotations

import re

# Tatweel and short-vowel marks (U+064B-U+0652, superscript alef U+0670) are removed.
_MARKS = re.compile("[\u0640\u064b-\u0652\u0670]")
# Hamza forms of alef, alef maqsura and ta marbuta are folded to one letter.
_LETTERS = (("أ", "ا"), ("إ", "ا"), ("آ", "ا"), ("ٱ", "ا"), ("ى", "ي"), ("ة", "ه"))
# The definite article, alone or after a one-letter conjunction or preposition, before at least two letters.
_ARTICLE = re.compile(r"(?<![\u0621-\u064A])[وبكف]?(?:ال|لل)(?=[\u0621-\u064A]{2})")


def search_text(text: str) -> str:
    """Text as the full-text index sees it (before `to_tsvector('simple', ...)`, which lowercases)."""
    text = _MARKS.sub("", text)
    for variant, letter in _LETTERS:
        text = text.replace(variant, letter)
    return _ARTICLE.sub("", text)
