"""The near-duplicate index in Redis, shared by every publisher worker and bounded by a time window.

Each LSH band key is a sorted set of article ids scored by when they were indexed; each article's
signature is a string with a TTL of the window. Lookups and inserts for a whole batch take two
pipelined round trips plus one for the candidates' signatures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

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

    def _band_key(self, band: str) -> str:
        return f"{self.prefix_key}:band:{band}"

    def _signature_key(self, article_id: str) -> str:
        return f"{self.prefix_key}:sig:{article_id}"

    async def match_and_add(
        self, redis: Redis, items: list[tuple[str, Signature]], now: float
    ) -> dict[str, Match]:
        """For each (article id, signature): the best earlier match at or above the threshold; then index them all."""
        if not items:
            return {}
        since = now - self.window_s
        pipe = redis.pipeline(transaction=False)
        bands = [signature.bands() for _, signature in items]
        for keys in bands:
            for band in keys:
                pipe.zrevrangebyscore(self._band_key(band), "+inf", since, start=0, num=CANDIDATES_PER_BAND)
        replies: list[Any] = await pipe.execute()
        candidates: list[set[str]] = []
        position = 0
        for (article_id, _), keys in zip(items, bands, strict=True):
            found: set[str] = set()
            for members in replies[position : position + len(keys)]:
                found.update(member.decode() for member in members)
            position += len(keys)
            found.discard(article_id)
            candidates.append(found)

        wanted = sorted(set().union(*candidates))
        stored: dict[str, tuple[str, Signature]] = {}
        if wanted:
            values: list[Any] = await redis.mget([self._signature_key(c) for c in wanted])
            for candidate, value in zip(wanted, values, strict=True):
                if value is not None:
                    root, _, encoded = value.decode().partition("|")
                    stored[candidate] = (root, Signature.decode(encoded))

        matches: dict[str, Match] = {}
        # Earlier articles of this batch, by band: (id, root, signature).
        batch_bands: dict[str, list[tuple[str, str, Signature]]] = {}
        for (article_id, signature), found, keys in zip(items, candidates, bands, strict=True):
            best: Match | None = None
            pool = [(c, *stored[c]) for c in found if c in stored]
            for band in keys:
                pool += batch_bands.get(band, [])[-CANDIDATES_PER_BAND:]
            for candidate_id, root, other in pool:
                if candidate_id == article_id:
                    continue
                similarity = signature.similarity(other)
                if similarity >= self.threshold and (best is None or similarity > best.similarity):
                    best = Match(root, round(similarity, 3))
            if best is not None:
                matches[article_id] = best
            entry = (article_id, best.first_article_id if best else article_id, signature)
            for band in keys:
                batch_bands.setdefault(band, []).append(entry)

        pipe = redis.pipeline(transaction=False)
        for (article_id, signature), keys in zip(items, bands, strict=True):
            root = matches[article_id].first_article_id if article_id in matches else article_id
            pipe.set(self._signature_key(article_id), f"{root}|{signature.encode()}", ex=self.window_s)
            for band in keys:
                band_key = self._band_key(band)
                pipe.zadd(band_key, {article_id: now})
                pipe.zremrangebyscore(band_key, "-inf", since)
                pipe.expire(band_key, self.window_s)
        await pipe.execute()
        return matches
