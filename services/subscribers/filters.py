"""Which published events a reader wants: the same filter expressions for `tail` and every sink.

Options of one kind are alternatives (`--language ar --language en`: either); different kinds must all
match (`--language ar --topic medtop:04000000`: both).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Values = str | Iterable[str] | None


def _folded(values: Values) -> frozenset[str]:
    items = [values] if isinstance(values, str) else list(values or ())
    return frozenset(value.strip().casefold() for value in items if value and value.strip())


class EventFilter:
    """Language, IPTC topic, entity and source filters over a v1 published article.

    Each takes one value or several (alternatives); None or empty means no filter of that kind.
    """

    __slots__ = ("entities", "languages", "sources", "topics")

    def __init__(
        self, *, language: Values = None, topic: Values = None, entity: Values = None, source: Values = None
    ) -> None:
        self.languages = _folded(language)
        self.topics = _folded(topic)
        self.entities = _folded(entity)
        self.sources = _folded(source)

    @property
    def empty(self) -> bool:
        return not (self.languages or self.topics or self.entities or self.sources)

    def accepts(self, article: Mapping[str, Any]) -> bool:
        """True when the article (an event's `data`) passes every filter given."""
        return (
            (not self.languages or _language_matches(article, self.languages))
            and (not self.topics or _topic_matches(article, self.topics))
            and (not self.entities or _entity_matches(article, self.entities))
            and (not self.sources or _source_matches(article, self.sources))
        )

    def describe(self) -> dict[str, list[str]]:
        """The filters as given, for logs."""
        named = {"language": self.languages, "topic": self.topics, "entity": self.entities, "source": self.sources}
        return {name: sorted(values) for name, values in named.items() if values}


def _language_matches(article: Mapping[str, Any], wanted: frozenset[str]) -> bool:
    # `ar` matches `ar` and regional tags such as `ar-EG`.
    language = str(article.get("language") or "").casefold()
    return language in wanted or language.split("-")[0] in wanted


def _topic_matches(article: Mapping[str, Any], wanted: frozenset[str]) -> bool:
    # A topic matches its own qcode and its parent's, so a top-level code selects its subtopics too.
    for topic in article.get("topics") or []:
        codes = {str(topic.get("qcode") or "").casefold(), str(topic.get("parent") or "").casefold()}
        if codes & wanted:
            return True
    return False


def _entity_matches(article: Mapping[str, Any], wanted: frozenset[str]) -> bool:
    for entity in article.get("entities") or []:
        names = {str(entity.get(key) or "").casefold() for key in ("id", "name", "name_local")}
        if names & wanted:
            return True
    return False


def _source_matches(article: Mapping[str, Any], wanted: frozenset[str]) -> bool:
    source = article.get("source") or {}
    domain = str(source.get("domain") or "").casefold()
    names = {str(source.get(key) or "").casefold() for key in ("name", "label")} - {""}
    for value in wanted:
        # A domain selects its subdomains (`bbc.co.uk` matches `news.bbc.co.uk`).
        if domain and (domain == value or domain.endswith("." + value)):
            return True
        if value in names:
            return True
    return False
