"""Per-key rate limits: a token bucket in Redis (one Lua script), so every ingest replica shares it.

A request costs one token per article; a key refills at its rate (articles per second) up to its
burst. The state lives in Redis with Redis's clock, so replicas neither multiply a key's allowance
nor disagree about time.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import Any

_SCRIPT = files("newswire.ingest").joinpath("token_bucket.lua").read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Allowance:
    """The bucket's answer for one request."""

    allowed: bool
    remaining: int
    retry_after_s: float


class TokenBucket:
    """Registers the script once per client; `take` is one EVALSHA."""

    def __init__(self, client: Any) -> None:
        self._script = client.register_script(_SCRIPT)

    async def take(self, bucket: str, *, rate: float, burst: int, cost: int) -> Allowance:
        """Take `cost` tokens if there are enough; otherwise say how long until there will be."""
        allowed, remaining, wait_ms = await self._script(keys=[bucket], args=[repr(float(rate)), burst, cost])
        return Allowance(bool(allowed), int(remaining), int(wait_ms) / 1000)
