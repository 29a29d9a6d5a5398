"""Published articles as the console shows them: the latest, one article's revisions, and its path.

Events are read with the project's own decoder (`newswire.client.decode_event`) and filtered with the
same rules as `newswire tail`; every article field is read defensively, because events written by an
older or newer publisher may lack a field or carry one the console does not know.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis

from newswire.cli.tail import EventFilter
from newswire.client import decode_event
from newswire.runtime.settings import StreamKeys

PAGE = 200


@dataclass(frozen=True, slots=True)
class ArticleFilter:
    """What the articles page asks for; empty fields match everything."""

    language: str = ""
    topic: str = ""
    entity: str = ""
    source: str = ""

    def accepts(self, article: Mapping[str, Any]) -> bool:
        tail_rules = EventFilter(language=self.language or None, topic=None, entity=self.entity or None)
        if not tail_rules.accepts(dict(article)):
            return False
        if self.topic and not _has_topic(article, self.topic):
            return False
        return not self.source or self.source.casefold() in source_of(article).casefold()

    def may_accept(self, data: bytes) -> bool:
        """False when the event's JSON cannot pass the filter (checked on its bytes, without decoding it)."""
        if self.language and self.language.isascii():
            # `ar` also matches regional tags such as `ar-EG` (as in `newswire tail --language`).
            member = re.compile(
                rb'"language":\s*"' + re.escape(self.language.encode()) + rb'(?:-[^"]*)?"', re.IGNORECASE
            )
            if not member.search(data) and not _may_fold_to_ascii(data):
                return False
        return all(may_contain(data, value) for value in (self.topic, self.entity, self.source) if value)

    @property
    def active(self) -> bool:
        return any((self.language, self.topic, self.entity, self.source))


@dataclass(slots=True)
class PublishedEntry:
    """One event of the published stream, decoded."""

    stream_id: str
    event: dict[str, Any]

    @property
    def article(self) -> dict[str, Any]:
        data = self.event.get("data")
        return data if isinstance(data, dict) else {}

    @property
    def article_id(self) -> str:
        return str(self.event.get("subject") or self.article.get("article_id") or "")

    @property
    def time(self) -> datetime:
        return stream_time(self.stream_id)

    def summary(self) -> dict[str, Any]:
        """What the articles list shows for this event."""
        article = self.article
        return {
            "stream_id": self.stream_id,
            "event_id": self.event.get("id", ""),
            "article_id": self.article_id,
            "revision": article.get("revision", 1),
            "title": title_of(article),
            "source": source_of(article),
            "language": str(article.get("language") or ""),
            "topics": [topic_label(topic) for topic in _dicts(article.get("topics"))][:4],
            "time": self.time,
            "duplicate_of": duplicate_of(article),
        }


@dataclass(slots=True)
class HistoryStep:
    """Where one stage's entry for the article is (or was) in its stream."""

    stream: str
    key: str
    stream_id: str | None
    time: datetime | None
    note: str = ""


@dataclass(slots=True)
class ArticlePath:
    """The article's entries on every stream, and what the internal enriched entry adds (topic cues)."""

    steps: list[HistoryStep]
    topic_cues: dict[str, list[str]] = field(default_factory=dict)
    cues_known: bool = False


@dataclass(slots=True)
class LatestArticles:
    entries: list[PublishedEntry] = field(default_factory=list)
    scanned: int = 0
    exhausted: bool = True


def latest(
    client: redis.Redis,
    keysets: list[StreamKeys],
    wanted: ArticleFilter,
    *,
    limit: int,
    scan_limit: int,
    before: str | None = None,
) -> LatestArticles:
    """The newest published events (older than stream id `before`, when given) that pass the filter, newest
    first, reading at most `scan_limit` per stream."""
    result = LatestArticles()
    for keys in keysets:
        found_here = 0
        start = f"({before}" if before else "+"
        for scanned, (entry_id, fields) in enumerate(_newest_first(client, keys.published, start), start=1):
            if scanned > scan_limit:
                result.exhausted = False
                break
            result.scanned += 1
            # Decoding an event costs far more than looking at its bytes: only candidates are decoded.
            if not wanted.may_accept(fields.get(b"data", b"")):
                continue
            entry = PublishedEntry(entry_id.decode(), _decode(fields))
            if wanted.accepts(entry.article):
                result.entries.append(entry)
                found_here += 1
                if found_here >= limit:
                    break
    result.entries.sort(key=lambda e: _id_key(e.stream_id), reverse=True)
    del result.entries[limit:]
    return result


def revisions(
    client: redis.Redis, keysets: list[StreamKeys], article_id: str, *, scan_limit: int
) -> list[PublishedEntry]:
    """Every published revision of an article among the newest `scan_limit` events, newest first."""
    found: list[PublishedEntry] = []
    wanted = article_id.encode()
    for keys in keysets:
        end = "+"
        scanned = 0
        while scanned < scan_limit:
            page: Any = client.xrevrange(keys.published, max=end, count=PAGE)
            if not page:
                break
            for entry_id, fields in page:
                if fields.get(b"subject") == wanted:
                    found.append(PublishedEntry(entry_id.decode(), _decode(fields)))
            scanned += len(page)
            end = "(" + page[-1][0].decode()
    found.sort(key=lambda e: _id_key(e.stream_id), reverse=True)
    return found


def published_entry(client: redis.Redis, keysets: list[StreamKeys], stream_id: str) -> PublishedEntry | None:
    """The published event with this stream id, if it is still in the stream."""
    for keys in keysets:
        page: Any = client.xrange(keys.published, min=stream_id, max=stream_id)
        if page:
            return PublishedEntry(page[0][0].decode(), _decode(page[0][1]))
    return None


def history(
    client: redis.Redis, keysets: list[StreamKeys], entry: PublishedEntry, *, scan_limit: int
) -> ArticlePath:
    """The article's raw, cleaned, enriched and published entries (ids and times) that its streams still hold.

    The raw entry is the one Redis added at `received_at` (the cleaner takes that time from the raw entry id);
    the cleaned and enriched entries are found after it by article id and `received_at`.
    """
    article = entry.article
    received = _parse_time(article.get("received_at"))
    keys = _keys_holding(client, keysets, entry.stream_id)
    path = ArticlePath(steps=[])
    raw_id = _raw_entry(client, keys.raw, received) if received else None
    path.steps.append(_step("raw", keys.raw, raw_id))
    start = raw_id or (f"{round(received.timestamp() * 1000)}-0" if received else "-")
    for name in ("cleaned", "enriched"):
        key = keys.stream(name)
        found = _stage_entry(client, key, start, entry.article_id, article.get("received_at"), scan_limit)
        path.steps.append(_step(name, key, found[0] if found else None))
        if found:
            # Ids are per stream: the next stream's entry is no older than this one's millisecond, but its
            # sequence number may be lower (other entries shared this stream's millisecond).
            start = found[0].partition("-")[0] + "-0"
            if name == "enriched":
                path.topic_cues = _topic_cues(found[1])
                path.cues_known = True
    path.steps.append(_step("published", keys.published, entry.stream_id, f"event {entry.event.get('id', '')}"))
    return path


def title_of(article: Mapping[str, Any]) -> str:
    for name in ("title", "headline"):
        value = article.get(name)
        if isinstance(value, str) and value.strip():
            return value
    body = str(article.get("body") or "").strip()
    return body[:90] + ("…" if len(body) > 90 else "") if body else "(untitled)"


def source_of(article: Mapping[str, Any]) -> str:
    """The publication's name: v1 `source` object (name, domain, scraper label), or the older flat fields."""
    source = article.get("source")
    if isinstance(source, Mapping):
        for name in ("name", "domain", "label"):
            if isinstance(source.get(name), str) and source[name].strip():
                return str(source[name])
    for name in ("source_name", "source", "source_domain"):
        value = article.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return ""


def duplicate_of(article: Mapping[str, Any]) -> str | None:
    """The article id this one is a near-duplicate of (v1 object, or the older plain id)."""
    value = article.get("duplicate_of")
    if isinstance(value, Mapping):
        return str(value.get("article_id") or "") or None
    return str(value) if value else None


def url_of(article: Mapping[str, Any]) -> str | None:
    """The article's address, only when it is http(s): a link the page can show safely."""
    for name in ("url", "canonical_url"):
        value = article.get(name)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
    return None


def topic_label(topic: Mapping[str, Any]) -> str:
    return str(topic.get("label") or topic.get("qcode") or "")


def stream_time(stream_id: str) -> datetime:
    return datetime.fromtimestamp(int(stream_id.split("-", 1)[0]) / 1000, tz=UTC)


def _decode(fields: dict[bytes, bytes]) -> dict[str, Any]:
    """The event, or its attributes with empty data when `data` is not JSON (it is then shown, not hidden)."""
    try:
        return decode_event(fields)
    except (ValueError, UnicodeDecodeError):
        event: dict[str, Any] = {
            name.decode("utf-8", "replace"): value.decode("utf-8", "replace") for name, value in fields.items()
        }
        return {**event, "data": {}}


def _newest_first(client: redis.Redis, key: str, end: str = "+") -> Iterator[tuple[bytes, dict[bytes, bytes]]]:
    while True:
        page: Any = client.xrevrange(key, max=end, count=PAGE)
        if not page:
            return
        yield from page
        end = "(" + page[-1][0].decode()


def may_contain(data: bytes, value: str) -> bool:
    """False only when no string of `data` can casefold to `value`'s casefold: a cheap test before decoding.

    Exact for values that fold to ASCII (codes, Wikidata ids, English names): the published JSON holds text
    unescaped, and the only non-ASCII characters that fold to ASCII letters start with a byte of
    `_FOLD_TO_ASCII_LEADS`.
    Other values always pass (their exact test needs the decoded text).
    """
    folded = value.casefold()
    if not folded.isascii() or json.dumps(value)[1:-1] != value:
        return True
    return folded.encode() in data.lower() or _may_fold_to_ascii(data)


def _may_fold_to_ascii(data: bytes) -> bool:
    """Whether `data` may hold a non-ASCII character whose casefold has ASCII letters."""
    return not data.isascii() and any(lead in data for lead in _FOLD_TO_ASCII_LEADS)


# The UTF-8 lead bytes of the non-ASCII characters whose casefold has ASCII letters (ß, İ, ŉ, ſ, ǰ, ẖ-ẚ, ẞ,
# the Kelvin sign, ﬀ-ﬆ). A lead byte never occurs inside another character, and one-byte `in` is a memchr scan.
_FOLDING_TO_ASCII = (0xDF, 0x130, 0x149, 0x17F, 0x1F0, *range(0x1E96, 0x1E9B), 0x1E9E, 0x212A, *range(0xFB00, 0xFB07))
_FOLD_TO_ASCII_LEADS = tuple(bytes([lead]) for lead in sorted({chr(code).encode()[0] for code in _FOLDING_TO_ASCII}))


def _raw_entry(client: redis.Redis, key: str, received: datetime) -> str | None:
    milliseconds = round(received.timestamp() * 1000)
    page: Any = client.xrange(key, min=f"{milliseconds}-0", max=f"{milliseconds}-18446744073709551615", count=1)
    return page[0][0].decode() if page else None


def _stage_entry(
    client: redis.Redis, key: str, start: str, article_id: str, received_at: Any, scan_limit: int
) -> tuple[str, dict[str, Any]] | None:
    needle = b'"article_id":' + json.dumps(article_id).encode()
    position, scanned = start, 0
    while scanned < scan_limit:
        page: Any = client.xrange(key, min=position, max="+", count=PAGE)
        if not page:
            return None
        for entry_id, fields in page:
            data = fields.get(b"data", b"")
            if needle in data:
                document = _same_received(data, received_at)
                if document is not None:
                    return entry_id.decode(), document
        scanned += len(page)
        position = "(" + page[-1][0].decode()
    return None


def _same_received(data: bytes, received_at: Any) -> dict[str, Any] | None:
    """The entry's document when it is this version of the article (same `received_at`)."""
    try:
        document = json.loads(data)
    except json.JSONDecodeError:
        return None
    if not isinstance(document, dict) or _parse_time(document.get("received_at")) != _parse_time(received_at):
        return None
    return document


def _topic_cues(enriched: Mapping[str, Any]) -> dict[str, list[str]]:
    """qcode -> the words or entities that triggered the topic, from the internal enriched article."""
    return {
        str(topic.get("qcode")): [str(cue) for cue in topic.get("cues") or [] if isinstance(cue, str)]
        for topic in _dicts(enriched.get("topics"))
    }


def _keys_holding(client: redis.Redis, keysets: list[StreamKeys], stream_id: str) -> StreamKeys:
    if len(keysets) == 1:
        return keysets[0]
    for keys in keysets:
        if client.xrange(keys.published, min=stream_id, max=stream_id):
            return keys
    return keysets[0]


def _step(name: str, key: str, stream_id: str | None, note: str = "") -> HistoryStep:
    if stream_id is None:
        note = "no longer in the stream (trimmed once every group had read it)"
    return HistoryStep(name, key, stream_id, stream_time(stream_id) if stream_id else None, note)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _has_topic(article: Mapping[str, Any], wanted: str) -> bool:
    wanted_folded = wanted.casefold()
    for topic in _dicts(article.get("topics")):
        codes = {str(topic.get("qcode") or ""), str(topic.get("parent") or "")}
        if wanted in codes or wanted_folded in str(topic.get("label") or "").casefold():
            return True
    return False


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _id_key(stream_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = stream_id.partition("-")
    return int(milliseconds), int(sequence or 0)
