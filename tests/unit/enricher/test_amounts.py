"""Amounts: money, percentages, quantities and durations in Arabic, English and French."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from typing import Any

import pytest

from newswire.enricher import amounts
from newswire.enricher.amounts import extract_amounts, parse_number


def test_gold_sample_amounts(gold: dict[str, Any], gold_body: str) -> None:
    found = {(a.text, a.value, a.unit) for a in extract_amounts(gold_body, language="ar")}
    for expected in gold["enriched"]["amounts"]["may"]:
        assert (expected["text"], float(expected["value"]), expected["unit"]) in found
    for amount in extract_amounts(gold_body, language="ar"):
        assert gold_body[amount.start : amount.end] == amount.text


@pytest.mark.parametrize(
    ("text", "language", "value", "unit", "kind"),
    [
        ("117.5 مليار دولار", "ar", 117_500_000_000, "USD", "money"),
        ("ثلاثة ملايين دولار", "ar", 3_000_000, "USD", "money"),
        ("بلغت ٣٫٥ مليار يورو", "ar", 3_500_000_000, "EUR", "money"),
        ("و١٢٬٥٠٠ طن", "ar", 12_500, "tonne", "quantity"),
        ("۱۲ في المئة", "fa", 12, "%", "percent"),
        ("خمسة وعشرين عاماً", "ar", 25, "year", "duration"),
        ("$5bn", "en", 5_000_000_000, "USD", "money"),
        ("5 billion dollars", "en", 5_000_000_000, "USD", "money"),
        ("£71.6million", "en", 71_600_000, "GBP", "money"),
        ("$2,399", "en", 2399, "USD", "money"),
        ("12%", "en", 12, "%", "percent"),
        ("12 per cent", "en", 12, "%", "percent"),
        ("€3,2 milliards", "fr", 3_200_000_000, "EUR", "money"),
        ("12,5 %", "fr", 12.5, "%", "percent"),
        ("1 500 000 euros", "fr", 1_500_000, "EUR", "money"),
        ("3 ans", "fr", 3, "year", "duration"),
    ],
)
def test_single_amounts(text: str, language: str, value: float, unit: str, kind: str) -> None:
    found = extract_amounts(text, language=language)
    assert len(found) == 1
    assert found[0].value == pytest.approx(value)
    assert (found[0].unit, found[0].kind) == (unit, kind)


def test_proclitic_is_outside_the_span() -> None:
    body = "لتزويد الصين بعشرة مليارات متر مكعب سنويًا"
    (amount,) = extract_amounts(body, language="ar")
    assert amount.text == "عشرة مليارات متر مكعب سنويًا"
    assert amount.unit == "cubic metre per year"


def test_bare_numbers_and_years_are_not_amounts() -> None:
    assert extract_amounts("In 2019 the 16 teams met 3 times.", language="en") == []


def test_scale_letter_needs_a_currency_sign() -> None:
    (snow,) = extract_amounts("Il y a 5 m de neige", language="fr")
    assert (snow.value, snow.unit) == (5, "metre")
    (money,) = extract_amounts("a $5m deal", language="en")
    assert (money.value, money.unit) == (5_000_000, "USD")


@pytest.mark.parametrize(
    ("written", "language", "value"),
    [
        ("1,234", "en", 1234),
        ("1,234", "fr", 1.234),
        ("1.234", "de", 1234),
        ("1.5", "en", 1.5),
        ("12,5", "en", 12.5),
        ("1,234,567.89", "en", 1234567.89),
        ("1.234.567,89", "de", 1234567.89),
        ("١٢٣٫٤٥", "ar", 123.45),
        ("۱۲۳", "fa", 123),
    ],
)
def test_parse_number(written: str, language: str, value: float) -> None:
    assert parse_number(written, language) == pytest.approx(value)


# The number pattern as one regex, digits and words as two alternatives (how it was written before the two
# patterns were split for speed): the split patterns must find exactly its matches.
_ONE_PATTERN_DIGITS = r"(?:\d{1,3}(?:[,.٬ \u00a0\u202f'’]\d{3})+|\d+)(?:[.,٫]\d+)?"


def _one_pattern() -> re.Pattern[str]:
    amounts.warm_up()
    lexicon = amounts._lexicon
    assert lexicon is not None
    return re.compile(
        rf"(?<![\d.,٫٬])(?<![A-Za-z])(?P<digits>{_ONE_PATTERN_DIGITS})(?![\d])|{lexicon.words.pattern}", re.IGNORECASE
    )


def _spans(matches: Iterable[re.Match[str]]) -> list[tuple[int, int, str | None, str | None]]:
    return [(m.start(), m.end(), m.groupdict().get("digits"), m.groupdict().get("words")) for m in matches]


def test_digits_and_words_patterns_find_what_one_pattern_finds() -> None:
    one = _one_pattern()
    lexicon = amounts._lexicon
    assert lexicon is not None
    pieces = [
        "1", "12", "123", "1234", "٣", "۱۲", "٫", "٬", ",", ".", " ", "\u00a0", "\u202f", "'", "’", "-", "a", "K", "x",
        "\u212a", "ſ", "و", "ب", "ل", "ال", "ثلاثة", "عشرين", "مئة", "واحد", "Three", "FIVE", "hundred", "a hundred",
        "cent", "mille", " و ", "\n", "%", "$", "دولار",
    ]  # fmt: skip
    generator = random.Random(20261201)
    texts = ["".join(generator.choice(pieces) for _ in range(generator.randint(1, 30))) for _ in range(3000)]
    texts += ["وثلاثة وعشرين", "بعشرة مليارات", "12,500.5 and 1.234.567", "x12 3,000", "٣٫٥ و١٢٬٥٠٠", "واحدة"]
    for text in texts:
        assert _spans(amounts._numbers(lexicon, text)) == _spans(one.finditer(text)), text
