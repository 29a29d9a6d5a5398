"""Small facts about stream entries shared by the stages."""

from __future__ import annotations

from datetime import UTC, datetime


def entry_time(entry_id: bytes) -> datetime:
    """The time Redis added the entry, from the millisecond part of its id."""
    milliseconds = int(entry_id.split(b"-", 1)[0])
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)
