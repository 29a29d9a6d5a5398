"""The message contract: one pydantic model per stream, each stage extending the previous."""

from newswire.schemas.articles import (
    Amount,
    ArticleImage,
    CleanedArticle,
    DateSource,
    EnrichedArticle,
    Entity,
    EntityType,
    LanguageGuess,
    Mention,
    Paragraph,
    Quote,
    RawArticle,
    Topic,
)
from newswire.schemas.events import DeadLetter, PublishedEvent
from newswire.schemas.published import PublishedArticle

__all__ = [
    "Amount",
    "ArticleImage",
    "CleanedArticle",
    "DateSource",
    "DeadLetter",
    "EnrichedArticle",
    "Entity",
    "EntityType",
    "LanguageGuess",
    "Mention",
    "Paragraph",
    "PublishedArticle",
    "PublishedEvent",
    "Quote",
    "RawArticle",
    "Topic",
]
