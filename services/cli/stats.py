"""`newswire stats`: streams, groups, pending work and throughput, for operators and scripts."""

from __future__ import annotations

import time
from typing import Any

import redis
from rich import box
from rich.table import Table

from newswire.runtime.settings import StreamKeys
from newswire.stages import STAGE_NAMES


def collect(client: redis.Redis, keys: StreamKeys, now: float | None = None) -> dict[str, Any]:
    """Everything `stats` shows, as plain data."""
    now = time.time() if now is None else now
    streams = {
        "raw": keys.raw,
        "cleaned": keys.cleaned,
        "enriched": keys.enriched,
        "published": keys.published,
        "dlq": keys.dlq,
    }
    result: dict[str, Any] = {"streams": [], "throughput_per_s": {}}
    for label, key in streams.items():
        length = int(client.xlen(key))
        groups: list[dict[str, Any]] = []
        if length or client.exists(key):
            for group in _groups(client, key):
                groups.append(_group_row(client, key, group, now))
        result["streams"].append({"stream": label, "key": key, "length": length, "groups": groups})
    for stage in STAGE_NAMES:
        result["throughput_per_s"][stage] = round(_last_minute_rate(client, keys, stage, now), 2)
    result["dlq_size"] = next(s["length"] for s in result["streams"] if s["stream"] == "dlq")
    return result


def _groups(client: redis.Redis, key: str) -> list[dict[str, Any]]:
    try:
        groups: Any = client.xinfo_groups(key)
    except redis.ResponseError:
        return []
    return list(groups)


def _group_row(client: redis.Redis, key: str, group: dict[str, Any], now: float) -> dict[str, Any]:
    name = group["name"].decode() if isinstance(group["name"], bytes) else str(group["name"])
    oldest_idle_s = None
    if group["pending"]:
        rows: Any = client.xpending_range(key, name, min="-", max="+", count=1)
        if rows:
            oldest_idle_s = round(int(rows[0]["time_since_delivered"]) / 1000, 1)
    return {
        "group": name,
        # Redis 7.0+ reports lag; 6.2 cannot, and the column shows "-".
        "lag": group.get("lag"),
        "pending": int(group["pending"]),
        "consumers": int(group["consumers"]),
        "oldest_pending_idle_s": oldest_idle_s,
    }


def _last_minute_rate(client: redis.Redis, keys: StreamKeys, stage: str, now: float) -> float:
    """Entries per second over the last 60 s, from the stage's per-minute counters."""
    current, previous = client.mget(keys.rate(stage, now), keys.rate(stage, now - 60))
    into_minute = (now % 60) / 60
    return (int(current or 0) + int(previous or 0) * (1 - into_minute)) / 60


def render(stats: dict[str, Any]) -> Table:
    """The stats as a terminal table."""
    tag = stats["streams"][0]["key"].rsplit(":", 1)[0] if stats["streams"] else ""
    table = Table(title=f"newswire streams {tag}", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("stream", "length", "group", "lag", "pending", "consumers", "oldest", "done/s"):
        table.add_column(column, justify="left" if column in ("stream", "group") else "right", min_width=len(column))
    finishing_stage = {"raw": "cleaner", "cleaned": "enricher", "enriched": "publisher"}
    for stream in stats["streams"]:
        rows = stream["groups"] or [None]
        for index, group in enumerate(rows):
            stage = finishing_stage.get(stream["stream"])
            rate = stats["throughput_per_s"].get(stage) if group and group["group"] == stage else None
            table.add_row(
                stream["stream"] if index == 0 else "",
                str(stream["length"]) if index == 0 else "",
                group["group"] if group else "-",
                _dash(group["lag"]) if group else "-",
                str(group["pending"]) if group else "-",
                str(group["consumers"]) if group else "-",
                f"{group['oldest_pending_idle_s']} s" if group and group["oldest_pending_idle_s"] is not None else "-",
                _dash(rate),
            )
    table.caption = (
        f"dead letters: {stats['dlq_size']}  ·  oldest: idle time of the oldest pending entry  ·  "
        "done/s: entries the stage finished per second over the last minute"
    )
    return table


def _dash(value: Any) -> str:
    return "-" if value is None else str(value)
