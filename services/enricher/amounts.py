"""Money, percentages, quantities and durations in a body, with their scaled values (pure; words loaded once).

Numbers are read in any digit set (Western, Arabic-Indic, Persian) with the separators the article's language
uses, or as number words (عشرة مليارات, five billion); the words around them (data/amount_words.json) say
what they measure. Offsets are into the body as given: matching runs on a copy without Arabic diacritics
and maps back.
"""

from __future__ import annotations

import heapq
import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from newswire.enricher.patterns import word_alternation
from newswire.schemas.articles import Amount

# Languages that write a decimal comma and group thousands with a dot or a space.
_DECIMAL_COMMA_LANGUAGES = frozenset({"fr", "es", "de", "it", "pt", "ru", "nl", "tr", "pl", "id"})
_ARABIC_DIACRITICS = re.compile("[\u064b-\u0652\u0670]")
_ASCII_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Digits with optional grouping (, . ٬ no-break spaces ') and an optional decimal part (. , ٫), written as what
# follows the first digit: \d{1,3}(?:,\d{3})+ or \d+ once a digit is found.
_DIGITS_AFTER_FIRST = r"(?:\d{0,2}(?:[,.٬ \u00a0\u202f'’]\d{3})+|\d*)(?:[.,٫]\d+)?"
# Scale letters glued to a number only count after a currency sign ($5m, £40k): "5 m" alone is five metres.
_SIGN_ONLY_SCALES = frozenset({"m", "b", "k"})
_NOT_LETTER_AFTER = r"(?![^\W\d_])"

AmountKind = Literal["money", "percent", "quantity", "duration"]


@dataclass(frozen=True, slots=True)
class _Lexicon:
    digits: re.Pattern[str]
    words: re.Pattern[str]
    scale: re.Pattern[str]
    tail: re.Pattern[str]
    period: re.Pattern[str]
    currency_before: re.Pattern[str]
    currency_before_codes: dict[str, str]
    currencies: dict[str, str]
    scales: dict[str, float]
    percent: frozenset[str]
    units: dict[str, str]
    periods: dict[str, str]
    durations: dict[str, str]
    number_words: dict[str, int]


def _load() -> _Lexicon:
    data = json.loads((resources.files("newswire.enricher") / "data" / "amount_words.json").read_text(encoding="utf-8"))

    def inverse(table: dict[str, list[str]]) -> dict[str, str]:
        return {word.casefold(): name for name, words in table.items() for word in words}

    currencies = inverse(data["currency_after"])
    scales = {word.casefold(): float(value) for value, words in data["scales"].items() for word in words}
    units = inverse(data["units"])
    periods = inverse(data["per_period"])
    durations = inverse(data["durations"])
    percent = frozenset(word.casefold() for word in data["percent"])
    number_words = {
        word.casefold(): int(value) for table in data["number_words"].values() for word, value in table.items()
    }

    def folded(words: Iterable[str]) -> str:
        return word_alternation(words, ignore_case=True)

    number_alternation = folded(number_words)
    # Digits and number words are two patterns whose matches are merged in order (`_numbers`). As one pattern,
    # both alternatives were tried at every position of the text; the digits' pattern starts with the digit itself
    # (the characters before it are checked by a lookbehind once one is found), so the engine skips from digit to
    # digit: 0.11 instead of 0.27 ms per 1,700-character SANAD article (RESULTS.md). A digit is never inside a run
    # of number words nor a letter inside digits, so the two never overlap, and the merged matches are those of
    # the one pattern (tests/unit/enricher/test_amounts.py).
    digits = re.compile(rf"(?P<digits>\d(?<![\d.,٫٬A-Za-z].){_DIGITS_AFTER_FIRST})(?![\d])", re.IGNORECASE)
    words = re.compile(
        # Arabic number words may carry a proclitic (بعشرة مليارات, وثلاثة); compounds join with و.
        rf"(?<!\w)(?:[وبل](?=(?:{number_alternation})\b))?(?P<words>(?:{number_alternation})"
        rf"(?:\s+و\s?(?:{number_alternation}))*){_NOT_LETTER_AFTER}",
        re.IGNORECASE,
    )
    tails = list(currencies) + list(percent) + list(units) + list(durations)
    gap = r"[\s\u00a0\u202f]*(?:-\s*)?"
    before: dict[str, str] = data["currency_before"]
    return _Lexicon(
        digits=digits,
        words=words,
        scale=re.compile(rf"{gap}(?P<word>{folded(scales)}){_NOT_LETTER_AFTER}", re.IGNORECASE),
        tail=re.compile(rf"{gap}(?P<word>{folded(tails)}){_NOT_LETTER_AFTER}", re.IGNORECASE),
        period=re.compile(rf"\s+(?P<word>{folded(periods)}){_NOT_LETTER_AFTER}", re.IGNORECASE),
        currency_before=re.compile(rf"(?:{word_alternation(before)})\s?$"),
        currency_before_codes=before,
        currencies=currencies,
        scales=scales,
        percent=percent,
        units=units,
        periods=periods,
        durations=durations,
        number_words=number_words,
    )


_lexicon: _Lexicon | None = None
_lexicon_lock = threading.Lock()


def warm_up() -> None:
    """Load the amount words and compile the patterns (once per process); the worker calls it at start."""
    global _lexicon
    with _lexicon_lock:
        if _lexicon is None:
            _lexicon = _load()


def _without_diacritics(body: str) -> tuple[str, list[int] | None]:
    """The body without Arabic diacritics, and where each kept character was (None when nothing changed)."""
    if not _ARABIC_DIACRITICS.search(body):
        return body, None
    kept: list[str] = []
    positions: list[int] = []
    start = 0
    for mark in _ARABIC_DIACRITICS.finditer(body):
        kept.append(body[start : mark.start()])
        positions.extend(range(start, mark.start()))
        start = mark.end()
    kept.append(body[start:])
    positions.extend(range(start, len(body)))
    positions.append(len(body))
    return "".join(kept), positions


def parse_number(written: str, language: str | None) -> float:
    """Value of digits as written: any digit set, thousands and decimal separators by language."""
    digits = written.translate(_ASCII_DIGITS).replace("\u00a0", "").replace("\u202f", "")
    digits = digits.replace("'", "").replace("’", "").replace("٬", "").replace(" ", "")
    if "٫" in digits:
        return float(digits.replace(",", "").replace("٫", "."))
    separators = [char for char in digits if char in ",."]
    if not separators:
        return float(digits)
    if len(set(separators)) == 2:
        decimal = separators[-1]
        grouping = "," if decimal == "." else "."
        return float(digits.replace(grouping, "").replace(decimal, "."))
    separator = separators[0]
    groups = digits.split(separator)
    if len(groups) > 2:
        return float(digits.replace(separator, ""))
    decimal_comma = (language or "").split("-")[0].lower() in _DECIMAL_COMMA_LANGUAGES
    looks_grouped = len(groups[1]) == 3
    is_decimal = not looks_grouped or (separator == "," and decimal_comma) or (separator == "." and not decimal_comma)
    return float(digits.replace(separator, ".")) if is_decimal else float(digits.replace(separator, ""))


def _word_value(written: str, number_words: dict[str, int]) -> float:
    return float(sum(number_words.get(part.strip().removeprefix("و").casefold(), 0) for part in written.split()))


def _numbers(lexicon: _Lexicon, text: str) -> Iterator[re.Match[str]]:
    """Numbers in digits and in words, in order of where they start."""
    return heapq.merge(lexicon.digits.finditer(text), lexicon.words.finditer(text), key=lambda match: match.start())


def extract_amounts(body: str, *, language: str | None) -> list[Amount]:
    """Money (ISO 4217), percentages, quantities with units and durations, in order of appearance."""
    if _lexicon is None:
        warm_up()
    lexicon = _lexicon
    assert lexicon is not None
    text, positions = _without_diacritics(body)
    found: list[Amount] = []
    last_end = 0
    for match in _numbers(lexicon, text):
        if match.start() < last_end:
            continue
        if match.re is lexicon.digits:
            value = parse_number(match.group("digits"), language)
            start = match.start()
        else:
            value = _word_value(match.group("words"), lexicon.number_words)
            # The span starts at the number itself, after any proclitic (بعشرة -> عشرة).
            start = match.start("words")
        end = match.end()
        currency: str | None = None
        before = lexicon.currency_before.search(text, max(0, start - 6), start)
        if before:
            currency = lexicon.currency_before_codes[before.group(0).strip()]
            start = before.start()
        kind: AmountKind | None = "money" if currency else None
        unit: str | None = currency
        cursor = end
        scale = lexicon.scale.match(text, cursor)
        if scale and (scale.group("word").casefold() not in _SIGN_ONLY_SCALES or currency is not None):
            value *= lexicon.scales[scale.group("word").casefold()]
            cursor = scale.end()
        tail = lexicon.tail.match(text, cursor) if kind is None else None
        if tail:
            word = tail.group("word").casefold()
            if word in lexicon.currencies:
                kind, unit = "money", lexicon.currencies[word]
            elif word in lexicon.percent:
                kind, unit = "percent", "%"
            elif word in lexicon.units:
                kind, unit = "quantity", lexicon.units[word]
            else:
                kind, unit = "duration", lexicon.durations[word]
            cursor = tail.end()
        period = lexicon.period.match(text, cursor) if kind == "quantity" else None
        if period:
            unit = f"{unit} per {lexicon.periods[period.group('word').casefold()]}"
            cursor = period.end()
        if kind is None:
            continue
        end = cursor
        last_end = end
        original_start = positions[start] if positions else start
        original_end = positions[end - 1] + 1 if positions else end
        # A diacritic right after the last kept letter (the tanween of عامًا) belongs to the amount.
        while original_end < len(body) and _ARABIC_DIACRITICS.match(body[original_end]):
            original_end += 1
        found.append(
            Amount(
                text=body[original_start:original_end],
                kind=kind,
                value=value,
                unit=unit,
                start=original_start,
                end=original_end,
            )
        )
    return found
