"""Error answers of the ingest API as RFC 9457 problem documents (`application/problem+json`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Problem types are URNs: stable identifiers a client can switch on (RFC 9457 allows non-resolvable URIs).
TYPE_PREFIX = "urn:newswire:problem:"


class ArticleError(BaseModel):
    """What is wrong with one article of the request."""

    model_config = ConfigDict(title="ArticleError")

    index: int | None = Field(default=None, description="Position of the article in a batch (0-based); absent for "
                              "a single article.")
    line: int | None = Field(default=None, description="Line of the article in an NDJSON batch (1-based).")
    field: str | None = Field(default=None, description="The article field at fault (dotted path), when one is.")
    pointer: str = Field(description="JSON Pointer (as a URI fragment) to the value at fault in the request body.")
    error_type: str = Field(description="Machine-readable reason, the same codes as the dead-letter stream's.")
    detail: str = Field(description="One sentence: what is wrong and what to send instead.")


class ProblemDocument(BaseModel):
    """An RFC 9457 problem document: why the request was refused. Nothing of a refused request is written."""

    model_config = ConfigDict(title="Problem")

    type: str = Field(description="Problem type, a URN such as `urn:newswire:problem:invalid-article`.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What happened in this request, in one or two sentences.")
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[ArticleError] | None = Field(
        default=None, description="For invalid articles: every article error found (up to 100)."
    )
    retry_after: float | None = Field(default=None, description="For 429 and 503: seconds to wait before retrying.")


@dataclass
class Problem(Exception):
    """Raised anywhere while handling a request; the app turns it into a problem response."""

    status: int
    slug: str
    title: str
    detail: str
    errors: list[ArticleError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    retry_after_s: float | None = None

    def __post_init__(self) -> None:
        super().__init__(self.detail)
        if self.retry_after_s is not None:
            # Retry-After takes whole seconds; round up so a client waiting exactly that long succeeds.
            self.headers.setdefault("Retry-After", str(max(1, int(-(-self.retry_after_s // 1)))))

    def document(self, instance: str) -> dict[str, Any]:
        problem = ProblemDocument(
            type=TYPE_PREFIX + self.slug,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            errors=self.errors[:100] or None,
            retry_after=self.retry_after_s,
        )
        return problem.model_dump(mode="json", exclude_none=True)
