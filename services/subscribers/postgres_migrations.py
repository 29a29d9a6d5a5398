"""Versioned migrations of the PostgreSQL sink's schema, applied in order by the sink itself.

A migration is never edited once released: a change is a new one with the next version. The SQL is
written without a schema name; it runs with `search_path` set to the sink's schema (`newswire` by default).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


# Arabic letters that readers and writers spell interchangeably are folded to one form (hamza on alef,
# alef maqsura, ta marbuta), tatweel and short-vowel marks are removed, and the definite article with a
# leading conjunction or preposition (ال، وال، بال، كال، فال، لل) is stripped: `والصين` finds `الصين`.
# The `simple` configuration then lowercases Latin script and splits words without stemming, which works
# the same for every language. The sink computes documents' vectors with the same folding in Python
# (newswire.subscribers.search.search_text, tested equal to this function); queries use search_query().
_SEARCH_TEXT = r"""
CREATE FUNCTION search_text(input text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN regexp_replace(
    translate(
        lower(input),
        'أإآٱىةـ' || U&'\064B\064C\064D\064E\064F\0650\0651\0652\0670',
        'اااايه'
    ),
    '(^|[^\u0621-\u064A])[وبكف]?(ال|لل)(?=[\u0621-\u064A]{2})',
    '\1',
    'g'
);

CREATE FUNCTION search_query(query text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN websearch_to_tsquery('simple', search_text(query));
"""

_TABLES = """
CREATE TABLE articles (
    event_id      text PRIMARY KEY,
    article_id    text NOT NULL,
    revision      integer NOT NULL CHECK (revision >= 1),
    event_time    timestamptz NOT NULL,
    published_at  timestamptz,
    modified_at   timestamptz,
    received_at   timestamptz NOT NULL,
    source_name   text,
    source_domain text,
    url           text,
    language      text,
    headline      text,
    body          text NOT NULL,
    word_count    integer NOT NULL,
    duplicate_of  text,
    event         jsonb NOT NULL,
    stored_at     timestamptz NOT NULL DEFAULT now(),
    -- Headline (weight A) and body (weight B), folded as search_text() folds queries.
    search        tsvector NOT NULL
);
CREATE INDEX articles_article_revision ON articles (article_id, revision DESC);
CREATE INDEX articles_search ON articles USING gin (search);
CREATE INDEX articles_published_at ON articles (published_at DESC);
CREATE INDEX articles_language ON articles (language, published_at DESC);
CREATE INDEX articles_source_domain ON articles (source_domain, published_at DESC);

CREATE TABLE article_entities (
    event_id      text NOT NULL REFERENCES articles (event_id) ON DELETE CASCADE,
    entity_id     text NOT NULL,
    type          text NOT NULL,
    name          text NOT NULL,
    name_local    text,
    salience      real NOT NULL,
    mentions      integer NOT NULL,
    PRIMARY KEY (event_id, entity_id)
);
CREATE INDEX article_entities_entity ON article_entities (entity_id);

CREATE TABLE article_topics (
    event_id      text NOT NULL REFERENCES articles (event_id) ON DELETE CASCADE,
    qcode         text NOT NULL,
    label         text NOT NULL,
    level         integer NOT NULL,
    parent        text,
    score         real NOT NULL,
    PRIMARY KEY (event_id, qcode)
);
CREATE INDEX article_topics_qcode ON article_topics (qcode);
CREATE INDEX article_topics_parent ON article_topics (parent);

-- One row per article: its latest revision.
CREATE VIEW latest_articles AS
SELECT DISTINCT ON (article_id) *
FROM articles
ORDER BY article_id, revision DESC;
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "articles, entities, topics, latest revision view, full-text search", _SEARCH_TEXT + _TABLES),
)
