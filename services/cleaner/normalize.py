"""Text normalisation that keeps the text true: NFC, no invisible controls, tidy whitespace, no tatweel."""

from __future__ import annotations

import re
import unicodedata

_ZWNJ = "\u200c"

# Characters that change nothing a reader sees in plain text: zero-width space, word joiner,
# directional marks, embeddings, overrides and isolates (LRE..PDF, LRI..PDI), Arabic letter
# mark, BOM, soft hyphen, Mongolian vowel separator, and the Arabic tatweel (a stretching
# stroke, pure typography). ZWJ stays: it joins emoji sequences and some Indic conjuncts.
_DROPPED = (
    "\u200b\u2060\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    "\u061c\ufeff\u00ad\u180e\u0640"
)
# Horizontal spaces that are spaces to a reader (NBSP, narrow NBSP before French `:`,
# en/em and thin spaces, ideographic space) become one ASCII space.
_SPACES = "\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_TRANSLATION: dict[int, str | None] = {ord(c): None for c in _DROPPED}
_TRANSLATION.update({ord(c): " " for c in _SPACES})
_TRANSLATION.update({ord(c): "\n" for c in "\r\u2028\u2029\u0085\x0b\x0c"})
# Other C0/C1 controls carry nothing in article text.
_CONTROLS = [*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F, *range(0x80, 0x85), *range(0x86, 0xA0)]
_TRANSLATION.update(dict.fromkeys(_CONTROLS))

# The characters of _TRANSLATION: replacing the few that occur is much faster than str.translate on every character.
_TRANSLATED = re.compile("[" + re.escape("".join(map(chr, _TRANSLATION))) + "]")

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_RUNS_OF_SPACES = re.compile(r" {2,}")
_SPACE_AROUND_NEWLINE = re.compile(r" *\n *")
# ZWNJ matters only between two letters (Persian `می‌خواهم`, plural `ها`): elsewhere it is noise.
_STRAY_ZWNJ = re.compile(r"(?<![^\W\d_])\u200c+|\u200c+(?![^\W\d_])")
_REPEATED_ZWNJ = re.compile(r"\u200c{2,}")


def normalize_text(text: str) -> str:
    """Return `text` in NFC with invisible controls and tatweel removed and spaces tidied; lines are kept."""
    text = _TRANSLATED.sub(_translated, text.replace("\r\n", "\n"))
    if _ZWNJ in text:
        text = _REPEATED_ZWNJ.sub(_ZWNJ, text)
        text = _STRAY_ZWNJ.sub("", text)
    text = unicodedata.normalize("NFC", text)
    if "  " in text:
        text = _RUNS_OF_SPACES.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    return text.strip()


def _translated(match: re.Match[str]) -> str:
    return _TRANSLATION[ord(match.group())] or ""


def normalize_line(text: str) -> str:
    """Return one line of text normalised, with any line breaks folded into spaces."""
    return normalize_text(text).replace("\n", " ")


def fold_case(text: str) -> str:
    """Case-fold for look-ups; Turkish dotted capital I folds to a plain `i`, not `i` plus a combining dot."""
    return text.replace("İ", "i").casefold()


def comparison_key(text: str) -> str:
    """Key for comparing two lines (headline repeats, lexicon look-ups): case-folded, punctuation-free."""
    return " ".join(_WORD.findall(fold_case(text)))
