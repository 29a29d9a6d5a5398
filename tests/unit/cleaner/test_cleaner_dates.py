"""Date parsing: month names in many languages, Arabic-Indic digits, weekdays, scraper strings, URLs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newswire.cleaner.dates import date_from_url, date_line, parse_date_string, solar_hijri_to_gregorian


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("الخميس 19 Sep / September 2024", "2024-09-19"),
        ("الخميس ١٩ أيلول/سبتمبر ٢٠٢٤", "2024-09-19"),
        ("الاثنين 1 كانون الثاني 2024", "2024-01-01"),
        ("٣١ كانون الأول ٢٠٢٣", "2023-12-31"),
        ("السبت ٢ تشرين الثاني ٢٠٢٤", "2024-11-02"),
        ("الأربعاء، 15 مايو 2024", "2024-05-15"),
        ("8 جانفي 2024", "2024-01-08"),
        ("Thursday, September 19, 2024", "2024-09-19"),
        ("Sept. 5, 2023", "2023-09-05"),
        ("Publié le jeudi 1er février 2024 à 10h05", "2024-02-01"),
        ("Mis à jour le 3 mars 2024", "2024-03-03"),
        ("Madrid, martes 17 de septiembre de 2024", "2024-09-17"),
        ("Stand: 17.03.2023 14:32 Uhr", "2023-03-17"),
        ("19. Dezember 2022", "2022-12-19"),
        ("13 сентября 2024 г., 13:30", "2024-09-13"),
        ("19 Eylül 2024 Perşembe", "2024-09-19"),
        ("پنجشنبه ۲۹ شهریور ۱۴۰۳", "2024-09-19"),
        ("۱۹ سپتامبر ۲۰۲۴", "2024-09-19"),
        ("09/19/2024", "2024-09-19"),
        ("Published: 2024-09-19", "2024-09-19"),
    ],
)
def test_date_lines(line: str, expected: str) -> None:
    found = date_line(line)
    assert found is not None
    assert found == datetime.fromisoformat(expected).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "line",
    [
        "The summit took place on 19 September 2024 in Beijing, officials said after the talks.",
        "15 ربيع الأول 1446",
        "Updated 2 hours ago",
        "31 February 2024",
        "In 2024 May 19 people came",
        "It happened on 12 March 1850",
    ],
)
def test_not_date_lines(line: str) -> None:
    assert date_line(line) is None


def test_time_with_explicit_zone_is_kept() -> None:
    assert date_line("Thursday, September 19, 2024 10:32 GMT") == datetime(2024, 9, 19, 10, 32, tzinfo=UTC)
    # Without a zone the time is local to an unknown place: the date alone is kept.
    assert date_line("19 September 2024 10:32") == datetime(2024, 9, 19, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-09-19T10:32:00+03:00", datetime(2024, 9, 19, 7, 32, tzinfo=UTC)),
        ("2024-09-19T10:32:00Z", datetime(2024, 9, 19, 10, 32, tzinfo=UTC)),
        ("2024-09-19", datetime(2024, 9, 19, tzinfo=UTC)),
        ("Thu, 19 Sep 2024 10:32:00 GMT", datetime(2024, 9, 19, 10, 32, tzinfo=UTC)),
        ("1726741920", datetime(2024, 9, 19, 10, 32, tzinfo=UTC)),
        ("١٩ سبتمبر ٢٠٢٤", datetime(2024, 9, 19, tzinfo=UTC)),
        ("not a date", None),
        ("", None),
    ],
)
def test_scraper_strings(text: str, expected: datetime | None) -> None:
    assert parse_date_string(text) == expected


def test_future_dates_beyond_latest_year_are_rejected() -> None:
    assert parse_date_string("2031-01-01", latest_year=2025) is None


@pytest.mark.parametrize(
    ("solar", "gregorian"),
    [((1403, 1, 1), (2024, 3, 20)), ((1403, 6, 29), (2024, 9, 19)), ((1402, 12, 29), (2024, 3, 19)),
     ((1399, 10, 11), (2020, 12, 31))],
)  # fmt: skip
def test_solar_hijri_conversion(solar: tuple[int, int, int], gregorian: tuple[int, int, int]) -> None:
    assert solar_hijri_to_gregorian(*solar) == gregorian


def test_date_from_url() -> None:
    assert date_from_url("https://x.example/news/2024/01/08/story") == datetime(2024, 1, 8, tzinfo=UTC)
    assert date_from_url("https://x.example/2023-12-31-year-review.html") == datetime(2023, 12, 31, tzinfo=UTC)
    assert date_from_url("https://x.example/story-12345") is None
