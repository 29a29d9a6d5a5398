"""The near-duplicate index in Redis, shared by every publisher worker and bounded by a time window.

Each LSH band key is a sorted set of article ids scored by when they were indexed; each article's
signature is a string with a TTL of the window. A whole batch is looked up and indexed by one script
(`near_duplicates.lua`): one round trip, and no other worker's batch between a lookup and its insert.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from newswire.publisher.near_duplicates import Signature

# Most recent members read per band. Every indexed article remembers the first article of its story,
# so a few recent ones suffice; without a cap, a burst of templated articles (all near-duplicates of
# each other) would make each lookup read the whole burst.
CANDIDATES_PER_BAND = 16


@dataclass(frozen=True, slots=True)
class Match:
    """The earliest article of the same story, and how similar this one is to the one it matched."""

    first_article_id: str
    similarity: float


class NearDuplicateIndex:
    """Finds earlier articles telling the same story (within the window) and indexes new ones."""

    def __init__(self, prefix_key: str, window_s: int, threshold: float) -> None:
        self.prefix_key = prefix_key
        self.window_s = window_s
        self.threshold = threshold
        self._script: AsyncScript | None = None

    async def match_and_add(self, redis: Redis, items: list[tuple[str, Signature]], now: float) -> dict[str, Match]:
        """For each (article id, signature): the best earlier match at or above the threshold; then index them all."""
        if not items:
            return {}
        if self._script is None:
            source = resources.files("newswire.publisher").joinpath("near_duplicates.lua").read_text(encoding="utf-8")
            self._script = redis.register_script(source)
        arguments: list[Any] = [
            repr(now),
            repr(now - self.window_s),
            self.window_s,
            repr(self.threshold),
            CANDIDATES_PER_BAND,
            len(items),
        ]
        for article_id, signature in items:
            bands = signature.bands()
            arguments += [article_id, signature.encode(), len(bands), *bands]
        replies: list[Any] = await self._script(keys=[f"{self.prefix_key}:"], args=arguments, client=redis)
        matches: dict[str, Match] = {}
        for index, (article_id, _) in enumerate(items):
            root, equal, compared = replies[3 * index : 3 * index + 3]
            if root:
                matches[article_id] = Match(root.decode(), round(int(equal) / int(compared), 3))
        return matches
