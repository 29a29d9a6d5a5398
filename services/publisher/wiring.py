"""Wiring of the publishing stage: enriched entry -> CloudEvents entry, once per article revision."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas import EnrichedArticle
from services.publisher.publish import draft_event
from services.runtime.delivery import Entry, Outcome, PublishRevision
from services.runtime.settings import Settings


class PublisherStage:
    """Reads EnrichedArticle JSON and publishes it as a CloudEvent, skipping unchanged re-submissions."""

    stage = "publisher"

    def __init__(self, settings: Settings) -> None:
        self.default_source = settings.event_source
        self.schema_url = f"{settings.schema_base_url.rstrip('/')}/published-article.json"
        self.revision_prefix = settings.keys.revisions

    def warm_up(self) -> None:
        """Nothing to preload."""

    def process(self, entry: Entry) -> Outcome:
        article = EnrichedArticle.model_validate_json(entry.fields[b"data"])
        draft = draft_event(
            article, now=datetime.now(UTC), default_source=self.default_source, schema_url=self.schema_url
        )
        return PublishRevision(
            draft.article_id, f"{self.revision_prefix}:{draft.identity}", draft.content_hash, draft.fields
        )
