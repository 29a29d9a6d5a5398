"""`newswire dlq`: inspect, replay and purge refused entries."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis

from newswire.runtime.settings import StreamKeys

# What the dead-letter stream adds to an entry; everything else is the original entry.
DEAD_LETTER_FIELDS = ("stage", "error_type", "error", "attempts", "source_stream", "source_id", "failed_at")


@dataclass(frozen=True, slots=True)
class DeadLetterEntry:
    """One entry of the dead-letter stream, split into its original fields and the reason."""

    id: str
    original: dict[str, str]
    reason: dict[str, str]

    @classmethod
    def from_fields(cls, entry_id: bytes, fields: dict[bytes, bytes]) -> DeadLetterEntry:
        decoded = {name.decode(): value.decode("utf-8", "replace") for name, value in fields.items()}
        reason = {name: decoded.pop(name) for name in DEAD_LETTER_FIELDS if name in decoded}
        return cls(entry_id.decode(), decoded, reason)

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, **self.reason}

    def as_json(self) -> dict[str, Any]:
        original: dict[str, Any] = dict(self.original)
        if "data" in original:
            # Left as the string it is when it is not JSON: that may be why it was refused.
            with contextlib.suppress(json.JSONDecodeError):
                original["data"] = json.loads(original["data"])
        return {"id": self.id, **self.reason, "original": original}


def list_entries(
    client: redis.Redis, keys: StreamKeys, *, limit: int, stage: str | None = None, error_type: str | None = None
) -> list[DeadLetterEntry]:
    """The most recent dead letters first, optionally filtered."""
    found: list[DeadLetterEntry] = []
    end = "+"
    while len(found) < limit:
        page: Any = client.xrevrange(keys.dlq, max=end, count=500)
        if not page:
            break
        for entry_id, fields in page:
            entry = DeadLetterEntry.from_fields(entry_id, fields)
            if stage and entry.reason.get("stage") != stage:
                continue
            if error_type and entry.reason.get("error_type") != error_type:
                continue
            found.append(entry)
            if len(found) == limit:
                break
        end = "(" + page[-1][0].decode()
    return found


def get_entry(client: redis.Redis, keys: StreamKeys, entry_id: str) -> DeadLetterEntry | None:
    page: Any = client.xrange(keys.dlq, min=entry_id, max=entry_id)
    return DeadLetterEntry.from_fields(*page[0]) if page else None


def replay(client: redis.Redis, keys: StreamKeys, entries: Iterable[DeadLetterEntry]) -> int:
    """Put each entry's original fields back on the stream it was read from, and remove it from the DLQ.

    Add and delete are one MULTI/EXEC per entry, so an entry is never both replayed and kept, nor lost.
    """
    allowed = {keys.raw, keys.cleaned, keys.enriched}
    replayed = 0
    for entry in entries:
        target = entry.reason.get("source_stream")
        if target not in allowed:
            raise ValueError(f"dead letter {entry.id} came from {target!r}, not a stream of this prefix")
        pipe = client.pipeline(transaction=True)
        pipe.xadd(target, entry.original)  # type: ignore[arg-type]
        pipe.xdel(keys.dlq, entry.id)
        pipe.execute()
        replayed += 1
    return replayed


def purge(client: redis.Redis, keys: StreamKeys) -> int:
    """Delete every dead letter; return how many there were."""
    pipe = client.pipeline(transaction=True)
    pipe.xlen(keys.dlq)
    pipe.delete(keys.dlq)
    count, _ = pipe.execute()
    return int(count)
