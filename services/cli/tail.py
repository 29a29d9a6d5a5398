"""`newswire tail`: read the published streams (every partition) with a consumer group, as any subscriber would."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from typing import Any

from newswire.client import PublishedReader
from newswire.runtime.connection import sync_client
from newswire.runtime.settings import Settings
from newswire.subscribers.filters import EventFilter

# The same filters as the sinks'.
__all__ = ["EventFilter", "tail_events"]

_BLOCK_MS = 1000


def tail_events(
    url: str,
    settings: Settings,
    *,
    from_start: bool,
    group: str | None,
    count: int | None,
    event_filter: EventFilter,
) -> Iterator[dict[str, Any]]:
    """Yield published events of every partition (each acknowledged once yielded) until `count` or interruption."""
    client = sync_client(url, socket_timeout=_BLOCK_MS / 1000 + 10)
    temporary = group is None
    group_name = group or f"tail-{socket.gethostname()}-{secrets.token_hex(3)}"
    reader = PublishedReader(client, settings, group_name, f"{socket.gethostname()}-tail", from_start=from_start)
    seen = 0
    try:
        while count is None or seen < count:
            batch = 100 if count is None else min(100, count - seen)
            for published in reader.read(count=batch, block_ms=_BLOCK_MS):
                event = published.event()
                if event_filter.accepts(event.get("data", {})):
                    yield event
                    seen += 1
                reader.ack(published)
                if count is not None and seen >= count:
                    return
    finally:
        if temporary:
            reader.destroy_group()
        client.close()
