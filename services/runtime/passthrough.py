"""Benchmark-only identity stage (NEWSWIRE_IDENTITY_TRANSFORMS): forwards entries unchanged.

It measures what the delivery mechanism itself costs, with no transform work.
"""

from __future__ import annotations

from newswire.runtime.delivery import Entry, Forward, Outcome


class PassThroughStage:
    """Forwards every entry's fields as they are."""

    def warm_up(self) -> None:
        """Nothing to load."""

    def process(self, entry: Entry) -> Outcome:
        return Forward(None, list(entry.fields.items()))
