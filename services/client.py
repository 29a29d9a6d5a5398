"""Python client for scrapers and subscribers: publish raw articles, read published events.

Publishing writes the language-neutral entry format of the README (one field `data` holding JSON),
so entries look the same whichever client wrote them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import redis

from newswire.runtime.settings import StreamKeys

PIPELINE_CHUNK = 500


def publish_raw(
    client: redis.Redis,
    keys: StreamKeys,
    documents: Iterable[dict[str, Any]],
    *,
    traceparent: str | None = None,
) -> Iterator[bytes]:
    """XADD each document to the raw stream, pipelined in chunks; yields the entry ids as they are written."""
    pipe = client.pipeline(transaction=False)
    pending = 0
    for document in documents:
        fields: dict[str, str] = {"data": json.dumps(document, ensure_ascii=False)}
        if traceparent:
            fields["traceparent"] = traceparent
        pipe.xadd(keys.raw, fields)  # type: ignore[arg-type]
        pending += 1
        if pending == PIPELINE_CHUNK:
            yield from pipe.execute()
            pending = 0
    if pending:
        yield from pipe.execute()


def decode_event(fields: dict[bytes, bytes]) -> dict[str, Any]:
    """A published entry as a CloudEvent in JSON form (`data` parsed)."""
    event: dict[str, Any] = {name.decode(): value.decode() for name, value in fields.items()}
    if "data" in event:
        event["data"] = json.loads(event["data"])
    return event
