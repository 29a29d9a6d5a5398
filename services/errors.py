"""Outcomes of a transform that are not articles."""

from __future__ import annotations


class ArticleRefused(Exception):
    """Bad input: the entry goes to the dead-letter stream with this reason, the worker goes on.

    `error_type` is a short machine-readable code; `reason` is one sentence a scraper author
    understands (what was wrong and what to send instead).
    """

    def __init__(self, error_type: str, reason: str) -> None:
        super().__init__(reason)
        self.error_type = error_type
        self.reason = reason
