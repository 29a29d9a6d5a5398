"""`newswire stats`: streams, groups, pending work and throughput, for operators and scripts."""

from __future__ import annotations

import time
from typing import Any

import redis
from rich import box
from rich.table import Table

from newswire.runtime.pressure import read_memory_sync
from newswire.runtime.settings import Settings, StreamKeys
from newswire.stages import STAGE_NAMES

_STREAMS = ("raw", "cleaned", "enriched", "published", "dlq")
BIGGEST_KEYS = 5


def collect(client: Any, settings: Settings, now: float | None = None) -> dict[str, Any]:
    """Everything `stats` shows, as plain data: every stream of every partition, throughput and Redis memory."""
    now = time.time() if now is None else now
    result: dict[str, Any] = {"partitions": settings.partitions, "streams": [], "throughput_per_s": {}}
    partitioned = settings.partitions > 1
    for keys in settings.partition_keys():
        for label in _STREAMS:
            key = keys.stream(label)
            length = int(client.xlen(key))
            groups: list[dict[str, Any]] = []
            if length or client.exists(key):
                for group in _groups(client, key):
                    groups.append(_group_row(client, key, group, now))
            result["streams"].append(
                {
                    "stream": label,
                    "partition": keys.partition if partitioned else None,
                    "key": key,
                    "length": length,
                    "memory_bytes": _memory_usage(client, key) if length else 0,
                    "groups": groups,
                }
            )
    for stage in STAGE_NAMES:
        rate = sum(_last_minute_rate(client, keys, stage, now) for keys in settings.partition_keys())
        result["throughput_per_s"][stage] = round(rate, 2)
    result["dlq_size"] = sum(s["length"] for s in result["streams"] if s["stream"] == "dlq")
    result["memory"] = memory_summary(client, settings, result["streams"])
    return result


def memory_summary(client: Any, settings: Settings, streams: list[dict[str, Any]]) -> dict[str, Any]:
    """Redis memory used, maxmemory, the high-water mark and the headroom left below it, and the biggest keys."""
    reading = read_memory_sync(client)
    high_water = int(reading.maxmemory * settings.high_water_percent / 100) if reading.maxmemory else None
    in_streams = sum(s["memory_bytes"] for s in streams)
    biggest = sorted((s for s in streams if s["memory_bytes"]), key=lambda s: s["memory_bytes"], reverse=True)
    return {
        "used_bytes": reading.used_bytes,
        "maxmemory_bytes": reading.maxmemory or None,
        "used_percent": None if reading.percent is None else round(reading.percent, 1),
        "node": reading.node,
        "high_water_percent": settings.high_water_percent,
        "high_water_bytes": high_water,
        # Room left for new articles before producers are refused (negative: they are refused now).
        "headroom_bytes": None if high_water is None else high_water - reading.used_bytes,
        "streams_bytes": in_streams,
        # Revision state, the near-duplicate index, source templates, counters and Redis's own overhead.
        "other_bytes": max(0, reading.used_bytes - in_streams),
        "biggest_keys": [{"key": s["key"], "memory_bytes": s["memory_bytes"]} for s in biggest[:BIGGEST_KEYS]],
    }


def _memory_usage(client: Any, key: str) -> int:
    """MEMORY USAGE of a key (Redis samples a few stream nodes and extrapolates: cheap and close)."""
    try:
        return int(client.memory_usage(key) or 0)
    except redis.ResponseError:
        return 0  # a user without the MEMORY command (ACL): the column shows 0


def _groups(client: Any, key: str) -> list[dict[str, Any]]:
    try:
        groups: Any = client.xinfo_groups(key)
    except redis.ResponseError:
        return []
    return list(groups)


def _group_row(client: Any, key: str, group: dict[str, Any], now: float) -> dict[str, Any]:
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


def _last_minute_rate(client: Any, keys: StreamKeys, stage: str, now: float) -> float:
    """Entries per second over the last 60 s, from the stage's per-minute counters."""
    current, previous = client.mget(keys.rate(stage, now), keys.rate(stage, now - 60))
    into_minute = (now % 60) / 60
    return (int(current or 0) + int(previous or 0) * (1 - into_minute)) / 60


def render(stats: dict[str, Any]) -> Table:
    """The stats as a terminal table."""
    partitioned = stats.get("partitions", 1) > 1
    tag = stats["streams"][0]["key"].rsplit(":", 1)[0] if stats["streams"] and not partitioned else ""
    title = f"newswire streams {tag}" if tag else f"newswire streams ({stats['partitions']} partitions)"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    columns = ("stream", "length", "memory", "group", "lag", "pending", "consumers", "oldest", "done/s")
    for column in columns:
        table.add_column(column, justify="left" if column in ("stream", "group") else "right", min_width=len(column))
    finishing_stage = {"raw": "cleaner", "cleaned": "enricher", "enriched": "publisher"}
    for stream in stats["streams"]:
        rows = stream["groups"] or [None]
        name = stream["stream"] if stream.get("partition") is None else f"{stream['stream']}:{stream['partition']}"
        for index, group in enumerate(rows):
            stage = finishing_stage.get(stream["stream"])
            # Throughput is per stage (all partitions): shown once, on the first partition's row.
            first = stream.get("partition") in (None, 0)
            rate = stats["throughput_per_s"].get(stage) if group and group["group"] == stage and first else None
            table.add_row(
                name if index == 0 else "",
                str(stream["length"]) if index == 0 else "",
                _size(stream.get("memory_bytes")) if index == 0 else "",
                group["group"] if group else "-",
                _dash(group["lag"]) if group else "-",
                str(group["pending"]) if group else "-",
                str(group["consumers"]) if group else "-",
                f"{group['oldest_pending_idle_s']} s" if group and group["oldest_pending_idle_s"] is not None else "-",
                _dash(rate),
            )
    table.caption = _memory_caption(stats.get("memory")) + (
        f"dead letters: {stats['dlq_size']}  ·  oldest: idle time of the oldest pending entry  ·  "
        "done/s: entries the stage finished per second over the last minute"
    )
    return table


def _memory_caption(memory: dict[str, Any] | None) -> str:
    if not memory:
        return ""
    used = _size(memory["used_bytes"])
    if memory["maxmemory_bytes"] is None:
        line = f"redis memory: {used} used, no maxmemory (set one, with maxmemory-policy noeviction)"
    else:
        headroom = memory["headroom_bytes"]
        state = f"{_size(headroom)} headroom" if headroom > 0 else "ABOVE the high-water mark: new articles refused"
        line = (
            f"redis memory: {used} of {_size(memory['maxmemory_bytes'])} maxmemory ({memory['used_percent']}%), "
            f"high-water mark {memory['high_water_percent']:g}%: {state}"
        )
    biggest = ", ".join(f"{k['key']} {_size(k['memory_bytes'])}" for k in memory["biggest_keys"])
    rest = f"; streams {_size(memory['streams_bytes'])}, state and overhead {_size(memory['other_bytes'])}"
    return line + rest + (f"\nbiggest keys: {biggest}" if biggest else "") + "\n"


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(value) >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value} B"


def _dash(value: Any) -> str:
    return "-" if value is None else str(value)
