"""Page debris, photo credits and source trailers recognised line by line from the boilerplate lexicon."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from newswire.cleaner.normalize import comparison_key, fold_case

_LEXICON_PATH = Path(__file__).with_name("lexicons") / "boilerplate.json"
# Captions and credits are short; the bound also keeps the regexes below on short strings.
_MAX_CAPTION_CHARS = 500
_MAX_CREDIT_CHARS = 80
_HAS_LETTER = re.compile(r"[^\W\d_]")
_YEAR_FIRST = re.compile(r"^\s*(?:19|20)\d\d\b")


@dataclass(frozen=True, slots=True)
class DebrisLexicon:
    """Compiled form of `lexicons/boilerplate.json`."""

    lines: frozenset[str]
    rights_reserved: tuple[str, ...]
    prefixes: tuple[str, ...]
    max_prefix_line_chars: int
    app_store: re.Pattern[str]
    credit_line: re.Pattern[str]
    trailing_credit: re.Pattern[str]
    caption_line: re.Pattern[str]
    source_line: re.Pattern[str]
    copyright_line: re.Pattern[str]


def _alternation(labels: list[str]) -> str:
    return "|".join(re.escape(label).replace(r"\ ", r"\s+") for label in sorted(labels, key=len, reverse=True))


@cache
def debris_lexicon() -> DebrisLexicon:
    """Load and compile the lexicon once per process."""
    data = json.loads(_LEXICON_PATH.read_text(encoding="utf-8"))
    groups = data["languages"].values()
    credit = _alternation(data["credit_labels"])
    caption = _alternation(data["caption_labels"])
    source = _alternation(data["source_labels"])
    return DebrisLexicon(
        lines=frozenset(comparison_key(line) for group in groups for line in group["lines"]),
        rights_reserved=tuple(fold_case(phrase) for phrase in data["rights_reserved"]),
        prefixes=tuple(sorted({fold_case(p) for group in groups for p in group["prefixes"]}, key=len, reverse=True)),
        max_prefix_line_chars=int(data["max_prefix_line_chars"]),
        app_store=re.compile("|".join(data["app_store_patterns"]), re.IGNORECASE),
        credit_line=re.compile(
            rf"^\(?(?:{credit})\s*[:：,]\s*(?P<credit>[^()\n]{{1,{_MAX_CREDIT_CHARS}}}?)\)?$", re.IGNORECASE
        ),
        # `... (الصورة: تويتر)`, `... (Photo: AFP)`, `... Foto: dpa` at the end of a caption line.
        trailing_credit=re.compile(
            rf"(?:\((?:{credit})\s*[:：]\s*(?P<paren>[^()\n]{{1,{_MAX_CREDIT_CHARS}}})\)"
            rf"|(?:^|[\s|/–—-])(?:{credit})\s*[:：]\s*(?P<bare>[^():.\n]{{1,{_MAX_CREDIT_CHARS}}}))\s*$",
            re.IGNORECASE,
        ),
        caption_line=re.compile(rf"^(?:{caption})\s*[:：,]\s*(?P<caption>.+)$", re.IGNORECASE),
        source_line=re.compile(rf"^(?:{source})\s*[:：]\s*(?P<value>.{{0,{_MAX_CREDIT_CHARS}}})$", re.IGNORECASE),
        copyright_line=re.compile(
            rf"^(?:©|\(c\)|copyright)\s*:?\s*(?P<credit>[^\n]{{1,{_MAX_CREDIT_CHARS}}})$", re.IGNORECASE
        ),
    )


def is_debris(line: str, key: str | None = None) -> bool:
    """True when a whole line is page furniture (share button, cookie prompt, related link, app badge).

    `key` is the line's `comparison_key` when the caller already has it.
    """
    lexicon = debris_lexicon()
    if not _HAS_LETTER.search(line):
        return True
    if (comparison_key(line) if key is None else key) in lexicon.lines:
        return True
    if len(line) <= lexicon.max_prefix_line_chars:
        folded = fold_case(line)
        if folded.startswith(lexicon.prefixes) or any(phrase in folded for phrase in lexicon.rights_reserved):
            return True
        if lexicon.app_store.search(folded):
            return True
    return False


def credit_of_line(line: str) -> str | None:
    """The credit if the whole line is a photo credit (`Photo: AFP`, `Copyright: Getty Images`), else None."""
    if len(line) > _MAX_CREDIT_CHARS + 20:
        return None
    lexicon = debris_lexicon()
    match = lexicon.credit_line.match(line) or lexicon.copyright_line.match(line)
    if match is None or _YEAR_FIRST.match(match["credit"]):
        # `© 2024 Example Media` is the site's copyright notice, not a photo credit.
        return None
    return match["credit"].strip(" .") or None


def caption_of_line(line: str) -> tuple[str, str | None] | None:
    """(caption as printed, credit) if the line is an image caption, else None."""
    if len(line) > _MAX_CAPTION_CHARS:
        return None
    if ":" not in line and "：" not in line and "," not in line:
        return None  # both forms need a label or credit separator (and the regexes are costly on long lines)
    lexicon = debris_lexicon()
    labelled = lexicon.caption_line.match(line)
    if labelled is not None:
        caption = labelled["caption"].strip()
        credited = lexicon.trailing_credit.search(caption)
        credit = (credited["paren"] or credited["bare"]).strip() if credited else None
        return caption, credit
    credited = lexicon.trailing_credit.search(line) if ":" in line or "：" in line else None
    if credited is None or credited.start() == 0:
        return None
    return line, (credited["paren"] or credited["bare"]).strip(" .")


def source_of_line(line: str) -> tuple[str | None] | None:
    """`(value,)` if the line is a source trailer (`Source: Reuters`), `(None,)` when the value is on the next line."""
    match = debris_lexicon().source_line.match(line)
    if match is None:
        return None
    value = match["value"].strip(" .")
    return (value or None,)
