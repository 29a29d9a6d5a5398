"""`newswire tail`: read the published stream with a consumer group, as any subscriber would."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis

from newswire.client import decode_event
from newswire.runtime.settings import StreamKeys

_BLOCK_MS = 1000


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which published events to show."""

    language: str | None = None
    topic: str | None = None
    entity: str | None = None

    def accepts(self, article: dict[str, Any]) -> bool:
        if self.language and (article.get("language") or "").lower() != self.language.lower():
            return False
        if self.topic and not any(
            self.topic in (topic.get("qcode"), topic.get("parent")) for topic in article.get("topics", [])
        ):
            return False
        if self.entity:
            wanted = self.entity.casefold()
            return any(
                wanted in {str(e.get(k) or "").casefold() for k in ("id", "wikidata_id", "name", "name_local")}
                for e in article.get("entities", [])
            )
        return True


def tail_events(
    url: str,
    keys: StreamKeys,
    *,
    from_start: bool,
    group: str | None,
    count: int | None,
    event_filter: EventFilter,
) -> Iterator[dict[str, Any]]:
    """Yield published events (acknowledging each after it is yielded) until `count` or interruption."""
    client = redis.Redis.from_url(url, socket_timeout=_BLOCK_MS / 1000 + 10)
    temporary = group is None
    group_name = group or f"tail-{socket.gethostname()}-{secrets.token_hex(3)}"
    consumer = f"{socket.gethostname()}-tail"
    try:
        client.xgroup_create(keys.published, group_name, id="0" if from_start else "$", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
        if from_start:
            client.xgroup_setid(keys.published, group_name, id="0")
    seen = 0
    # A named group may hold entries this consumer read but did not acknowledge last time: those first.
    position = "0"
    try:
        while count is None or seen < count:
            batch = 100 if count is None else min(100, count - seen)
            reply: Any = client.xreadgroup(
                group_name, consumer, {keys.published: position}, count=batch, block=_BLOCK_MS
            )
            if position == "0" and not (reply and reply[0][1]):
                position = ">"
                continue
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    event = decode_event(fields)
                    if event_filter.accepts(event.get("data", {})):
                        yield event
                        seen += 1
                    client.xack(keys.published, group_name, entry_id)
                    if count is not None and seen >= count:
                        return
    finally:
        if temporary:
            client.xgroup_destroy(keys.published, group_name)
        client.close()
