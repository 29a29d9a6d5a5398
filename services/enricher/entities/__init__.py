"""Entity linking: people, organisations, places and events as canonical entities, the same in every language."""

from __future__ import annotations

from newswire.enricher.entities.linker import ArticleText, EntityLinker, load_linker
from newswire.schemas.articles import Entity

__all__ = ["ArticleText", "EntityLinker", "link_entities", "load_linker"]


def link_entities(body: str, *, language: str | None, title: str | None = None) -> list[Entity]:
    """Entities mentioned in `body` (offsets into `body`), most salient first; `title` mentions weigh more."""
    return load_linker().link(body, language, title)
