"""Benchmark-only identity stage (NEWSWIRE_IDENTITY_TRANSFORMS): forwards entries unchanged.

It measures what the delivery mechanism itself costs, with no transform work.
"""

from __future__ import annotations

from services.runtime.delivery import Entry, Forward, Outcome


class PassThroughStage:
    """Forwards every entry's fields as they are."""

    def __init__(self, stage: str) -> None:
        self.stage = stage

    def process(self, entry: Entry) -> Outcome:
        return Forward(None, list(entry.fields.items()))
