"""Date parsing for news pages: ISO 8601, RFC 2822, and dates written with month names in many languages."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path

from newswire.cleaner.normalize import comparison_key

_LEXICON_PATH = Path(__file__).with_name("lexicons") / "months.json"
# Longer inputs are not dates; the bound also keeps every regex below on short strings.
_MAX_DATE_TEXT = 300
_EARLIEST_YEAR = 1900

# Arabic-Indic (٠-٩) and Extended Arabic-Indic (۰-۹, Persian and Urdu) digits read as ASCII.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


@dataclass(frozen=True, slots=True)
class FoundDate:
    """A date found in a piece of text, with where it was."""

    value: datetime
    start: int
    end: int
    has_time: bool


@dataclass(frozen=True, slots=True)
class _Calendars:
    gregorian: dict[str, int]
    solar_hijri: dict[str, int]
    weekdays: frozenset[str]
    labels: frozenset[str]
    dmy: re.Pattern[str]
    mdy: re.Pattern[str]


@cache
def _calendars() -> _Calendars:
    data = json.loads(_LEXICON_PATH.read_text(encoding="utf-8"))
    gregorian = {k.casefold(): v for names in data["gregorian"].values() for k, v in names.items()}
    solar_hijri = {k.casefold(): v for names in data["solar_hijri"].values() for k, v in names.items()}
    # Longest names first so that `كانون الثاني` wins over a shorter overlapping name.
    names = sorted({*gregorian, *solar_hijri}, key=len, reverse=True)
    month = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in names)
    # A month name must be a whole word: no letter right before or after it.
    month = rf"(?<![^\W\d_])(?:{month})(?![^\W\d_])\.?"
    other_months = rf"(?:\s*[/|\-–]\s*{month})*"
    dmy = re.compile(
        rf"(?<!\d)(?P<d>\d{{1,2}})(?:st|nd|rd|th|er|º|°|\.)?\s*(?:de\s+|of\s+)?(?P<m>{month}){other_months}"
        rf"\s*,?\s*(?:de\s+|del\s+)?(?P<y>\d{{4}})(?!\d)",
        re.IGNORECASE,
    )
    mdy = re.compile(
        rf"(?P<m>{month}){other_months}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s*(?P<y>\d{{4}})(?!\d)",
        re.IGNORECASE,
    )
    return _Calendars(
        gregorian=gregorian,
        solar_hijri=solar_hijri,
        weekdays=frozenset(comparison_key(w) for w in data["weekdays"]),
        # Labels are matched word by word: `mis à jour le` leaves no word behind.
        labels=frozenset(word for label in data["date_labels"] for word in comparison_key(label).split()),
        dmy=dmy,
        mdy=mdy,
    )


_YMD = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)")
_DMY_NUMERIC = re.compile(r"(?<!\d)(?P<d>\d{1,2})[./-](?P<m>\d{1,2})[./-](?P<y>(?:19|20)\d\d)(?!\d)")
_TIME = re.compile(
    r"(?<!\d)(?P<h>\d{1,2})[:h](?P<min>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?"
    r"\s*(?P<tz>z\b|utc|gmt|[+-]\d{2}:?\d{2}(?!\d))?(?:\s*(?P<tzoff>[+-]\d{1,2})(?::?(?P<tzmin>\d{2}))?)?",
    re.IGNORECASE,
)
_URL_DATE = re.compile(r"/(?P<y>(?:19|20)\d\d)[/-]?(?P<m>0[1-9]|1[0-2])[/-]?(?P<d>0[1-9]|[12]\d|3[01])(?:/|-|_|\.|$)")
_ISO_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE)
_TIME_JOINERS = frozenset({"", "at", "à", "um", "a las", "saat", "в", "ساعت", "الساعة"})
_WORDS = re.compile(r"[^\W\d_]+")


def to_ascii_digits(text: str) -> str:
    """Return `text` with Arabic-Indic and Persian digits replaced by ASCII digits."""
    return text.translate(_DIGITS)


def solar_hijri_to_gregorian(year: int, month: int, day: int) -> tuple[int, int, int]:
    """Convert a Solar Hijri (Persian calendar) date to a Gregorian (year, month, day)."""
    # The 33-year arithmetic rule; exact for 1178-1633 SH, the range news dates live in.
    jy = year + 1595
    days = -355668 + 365 * jy + (jy // 33) * 8 + ((jy % 33) + 3) // 4 + day
    days += (month - 1) * 31 if month < 7 else (month - 7) * 30 + 186
    gy = 400 * (days // 146097)
    days %= 146097
    if days > 36524:
        days -= 1
        gy += 100 * (days // 36524)
        days %= 36524
        if days >= 365:
            days += 1
    gy += 4 * (days // 1461)
    days %= 1461
    if days > 365:
        gy += (days - 1) // 365
        days = (days - 1) % 365
    leap = (gy % 4 == 0 and gy % 100 != 0) or gy % 400 == 0
    month_lengths = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    gd = days + 1
    gm = 1
    for length in month_lengths:
        if gd <= length:
            break
        gd -= length
        gm += 1
    return gy, gm, gd


def _make_date(year: int, month: int, day: int, latest_year: int) -> datetime | None:
    if not _EARLIEST_YEAR <= year <= latest_year:
        return None
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


def _month_number(name: str) -> tuple[int, bool] | None:
    key = " ".join(name.rstrip(".").casefold().split())
    calendars = _calendars()
    if key in calendars.gregorian:
        return calendars.gregorian[key], False
    if key in calendars.solar_hijri:
        return calendars.solar_hijri[key], True
    return None


def _time_after(text: str, pos: int, date: datetime) -> datetime | None:
    """Read a time with an explicit zone right after a date; a time without a zone stays unknown."""
    match = _TIME.search(text, pos, min(len(text), pos + 40))
    if match is None or not (match["tz"] or match["tzoff"]):
        return None
    if text[pos : match.start()].strip(" ,|-–—\t").casefold() not in _TIME_JOINERS:
        return None
    hour, minute, second = int(match["h"]), int(match["min"]), int(match["s"] or 0)
    ampm = (match["ampm"] or "").casefold().replace(".", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    zone = (match["tz"] or "").casefold()
    offset = timedelta(0)
    if zone and zone not in {"z", "utc", "gmt"}:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
    elif match["tzoff"]:
        sign = -1 if match["tzoff"][0] == "-" else 1
        offset = sign * timedelta(hours=int(match["tzoff"][1:]), minutes=int(match["tzmin"] or 0))
    if hour > 23 or minute > 59 or second > 59 or abs(offset) > timedelta(hours=14):
        return None
    return date.replace(hour=hour, minute=minute, second=second, tzinfo=timezone(offset)).astimezone(UTC)


def find_date(text: str, *, latest_year: int = 2100) -> FoundDate | None:
    """Find the first plausible calendar date in `text` (month names in many languages, numeric forms)."""
    text = to_ascii_digits(text[:_MAX_DATE_TEXT])
    calendars = _calendars()
    candidates: list[FoundDate] = []
    for pattern in (calendars.dmy, calendars.mdy):
        for match in pattern.finditer(text):
            month = _month_number(match["m"])
            if month is None:
                continue
            year, day = int(match["y"]), int(match["d"])
            number, solar_hijri = month
            if solar_hijri:
                if not 1300 <= year <= 1500:
                    continue
                year, number, day = solar_hijri_to_gregorian(year, number, day)
            value = _make_date(year, number, day, latest_year)
            if value is not None:
                candidates.append(FoundDate(value, match.start(), match.end(), False))
                break
    for pattern in (_YMD, _DMY_NUMERIC):
        numeric = pattern.search(text)
        if numeric is None:
            continue
        day, month_number = int(numeric["d"]), int(numeric["m"])
        if pattern is _DMY_NUMERIC and month_number > 12 >= day:
            # 09/19/2024 cannot be day-first: read it month-first as US pages write it.
            day, month_number = month_number, day
        value = _make_date(int(numeric["y"]), month_number, day, latest_year)
        if value is not None:
            candidates.append(FoundDate(value, numeric.start(), numeric.end(), False))
    if not candidates:
        return None
    first = min(candidates, key=lambda found: found.start)
    with_time = _time_after(text, first.end, first.value)
    if with_time is not None:
        return FoundDate(with_time, first.start, first.end, True)
    return first


def parse_date_string(text: str, *, latest_year: int = 2100) -> datetime | None:
    """Parse a date given on its own (scraper field, meta tag, JSON-LD): ISO 8601, RFC 2822 or written out."""
    text = to_ascii_digits(text.strip())[:_MAX_DATE_TEXT]
    if not text:
        return None
    if _ISO_LIKE.match(text):
        try:
            value = datetime.fromisoformat(text.replace("z", "Z").replace(" ", "T", 1))
        except ValueError:
            value = None
        if value is not None:
            # A time without an offset is read as UTC: the page gives nothing better.
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
            return value if _EARLIEST_YEAR <= value.year <= latest_year else None
    if text.isdigit() and len(text) in (10, 13):
        # Unix time in seconds or milliseconds, as some scrapers send it.
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        value = datetime.fromtimestamp(seconds, tz=UTC)
        return value if _EARLIEST_YEAR <= value.year <= latest_year else None
    try:
        value = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        value = None
    if value is not None:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value if _EARLIEST_YEAR <= value.year <= latest_year else None
    found = find_date(text, latest_year=latest_year)
    return found.value if found is not None else None


def date_line(line: str, *, latest_year: int = 2100) -> datetime | None:
    """Return the date if `line` is a date line (a date plus weekday, labels, a time), else None."""
    if len(line) > 120:
        return None
    found = find_date(line, latest_year=latest_year)
    if found is None:
        return None
    ascii_line = to_ascii_digits(line)
    rest = ascii_line[: found.start] + " " + ascii_line[found.end :]
    leftover = _other_words(_TIME.sub(" ", rest))
    return found.value if len(leftover) <= 1 else None


def _other_words(text: str) -> list[str]:
    """The words of `text` that are no weekday, month, date label (`Published`, `Updated` ...) or number."""
    calendars = _calendars()
    return [
        word
        for word in comparison_key(_WORDS.sub(lambda m: f" {m.group()} ", text)).split()
        if word not in calendars.weekdays
        and word not in calendars.labels
        and not word.isdigit()
        and len(word) > 1
        and _month_number(word) is None
    ]


def dateline_place(line: str, *, latest_year: int = 2100) -> str | None:
    """The place of a wire dateline, `LONDON 2025-11-08` or `CANTERBURY , England 2025-06-02`: the one to four
    capitalised words before the line's date, the first in capitals as agencies write it (`Jane Doe 2024-03-05`
    is a byline), when nothing but weekdays and labels follows the date."""
    if len(line) > 80:
        return None
    found = find_date(line, latest_year=latest_year)
    if found is None:
        return None
    ascii_line = to_ascii_digits(line)
    place = ascii_line[: found.start].strip(" ,-:|\u2013\u2014")
    words = _WORDS.findall(place)
    if _other_words(ascii_line[found.end :]) or not 1 <= len(words) <= 4 or not words[0].isupper():
        return None
    if any(not word[0].isupper() for word in words) or len(_other_words(place)) < len(words):
        return None  # a weekday, month or label is no place
    return place


def date_from_url(url: str, *, latest_year: int = 2100) -> datetime | None:
    """Read a date from a URL path such as `/2024/09/19/` or `/2024-09-19-`."""
    match = _URL_DATE.search(url)
    if match is None:
        return None
    return _make_date(int(match["y"]), int(match["m"]), int(match["d"]), latest_year)
