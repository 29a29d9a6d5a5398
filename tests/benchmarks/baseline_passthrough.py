"""The peer baseline: a plain redis-py asyncio pass-through, what a careful user would write by hand.

Per hop: XREADGROUP COUNT 100, pydantic validation of each message, then one pipelined round trip with
XADD of every message to the next stream and one XACK of the batch. uvloop and hiredis, like newswire.
It gives no delivery guarantee beyond at-least-once (no atomic forward, no reclaim, no dead letters).

Run one hop:  python tests/benchmarks/baseline_passthrough.py URL PREFIX HOP
Run all hops: python tests/benchmarks/baseline_passthrough.py URL PREFIX all
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

import uvloop
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import ResponseError

HOPS = (("raw", "cleaned", "cleaner"), ("cleaned", "enriched", "enricher"), ("enriched", "published", "publisher"))


class Message(BaseModel):
    id: str
    text: str


async def hop(client: Redis, prefix: str, source: str, target: str, group: str) -> None:
    tag = "{" + prefix + "}"
    source_key, target_key = f"{tag}:{source}", f"{tag}:{target}"
    with contextlib.suppress(ResponseError):
        await client.xgroup_create(source_key, group, id="0", mkstream=True)
    while True:
        reply: Any = await client.xreadgroup(group, "c", {source_key: ">"}, count=100, block=1000)
        if not reply:
            continue
        entries = reply[0][1]
        pipe = client.pipeline(transaction=False)
        for _entry_id, fields in entries:
            Message.model_validate_json(fields[b"data"])
            pipe.xadd(target_key, fields)
        pipe.xack(source_key, group, *[entry_id for entry_id, _ in entries])
        await pipe.execute()


async def main(url: str, prefix: str, which: str) -> None:
    client = Redis.from_url(url)
    hops = HOPS if which == "all" else [h for h in HOPS if h[2] == which]
    await asyncio.gather(*(hop(client, prefix, *h) for h in hops))


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
