"""Wiring of the publishing stage: enriched entry -> CloudEvents entry, once per article revision."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from newswire.publisher.duplicate_index import NearDuplicateIndex
from newswire.publisher.near_duplicates import Signature, signature
from newswire.publisher.publish import draft_event
from newswire.runtime.delivery import Entry, Outcome, PublishRevision
from newswire.runtime.settings import Settings
from newswire.schemas import EnrichedArticle
from newswire.schemas.events import dataschema_uri


@dataclass(slots=True)
class DraftedRevision(PublishRevision):
    """A revision to publish, with what the publisher needs to re-draft it once the batch is resolved."""

    article: EnrichedArticle | None = None
    signature: Signature | None = None
    traceparent: str | None = None


class PublisherStage:
    """Reads EnrichedArticle JSON and publishes it as a CloudEvent, once per revision, marking near-duplicates."""

    def __init__(self, settings: Settings) -> None:
        self.default_source = settings.event_source
        self.schema_url = dataschema_uri(settings.schema_base_url)
        self.revision_prefix = settings.keys.revisions
        self.index = NearDuplicateIndex(
            settings.keys.near_duplicates, settings.near_duplicate_window_s, settings.near_duplicate_threshold
        )

    def warm_up(self) -> None:
        """Nothing to preload."""

    def process(self, entry: Entry) -> Outcome:
        article = EnrichedArticle.model_validate_json(entry.fields[b"data"])
        incoming = entry.fields.get(b"traceparent")
        return self._outcome(article, signature(article.body), traceparent=incoming.decode() if incoming else None)

    def _outcome(
        self,
        article: EnrichedArticle,
        article_signature: Signature | None,
        duplicate_of: str | None = None,
        similarity: float | None = None,
        traceparent: str | None = None,
    ) -> DraftedRevision:
        draft = draft_event(
            article,
            now=datetime.now(UTC),
            default_source=self.default_source,
            schema_url=self.schema_url,
            duplicate_of=duplicate_of,
            similarity=similarity,
            traceparent=traceparent,
        )
        return DraftedRevision(
            draft.article_id,
            f"{self.revision_prefix}:{draft.identity}",
            draft.content_hash,
            draft.fields,
            received_at=article.received_at.timestamp(),
            near_duplicate=duplicate_of is not None,
            article=article,
            signature=article_signature,
            traceparent=traceparent,
        )

    async def resolve(self, redis: Redis, outcomes: list[Outcome]) -> list[Outcome]:
        """Look the batch up in the shared near-duplicate index; re-draft the events that are duplicates."""
        items = [
            (outcome.article_id, outcome.signature)
            for outcome in outcomes
            if isinstance(outcome, DraftedRevision) and outcome.signature is not None
        ]
        matches = await self.index.match_and_add(redis, items, time.time())
        if not matches:
            return outcomes
        resolved: list[Outcome] = []
        for outcome in outcomes:
            match = matches.get(outcome.article_id) if isinstance(outcome, DraftedRevision) else None
            if match is None or not isinstance(outcome, DraftedRevision) or outcome.article is None:
                resolved.append(outcome)
                continue
            resolved.append(
                self._outcome(
                    outcome.article, outcome.signature, match.first_article_id, match.similarity, outcome.traceparent
                )
            )
        return resolved
