"""Redis URLs of every kind, partition routing and the high-water decision (no Redis needed)."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest
from redis.crc import key_slot

from newswire.client import routing_identity
from newswire.runtime.connection import RedisUrlError, parse_redis_url
from newswire.runtime.pressure import MemoryReading, judge
from newswire.runtime.settings import Settings, SettingsError, StreamKeys, load_settings, partition_for


def test_single_server_urls_pass_through() -> None:
    for url in ("redis://127.0.0.1:6379/0", "rediss://h:6380/1", "unix:///tmp/redis.sock"):
        target = parse_redis_url(url)
        assert target.kind == "single" and target.url == url


def test_a_sentinel_url_names_its_sentinels_service_database_and_credentials() -> None:
    target = parse_redis_url(
        "rediss+sentinel://app:s%40cret@10.0.0.1:26379,10.0.0.2:26380/mymaster/3?sentinel_password=x&socket_timeout=2"
    )
    assert target.kind == "sentinel" and target.tls
    assert target.hosts == (("10.0.0.1", 26379), ("10.0.0.2", 26380))
    assert (target.service, target.db, target.username, target.password) == ("mymaster", 3, "app", "s@cret")
    assert target.options == {"socket_timeout": 2.0}
    assert target.sentinel_options == {"password": "x"}
    assert parse_redis_url("redis+sentinel://h:26379/mymaster").db == 0


def test_a_cluster_url_names_its_seed_nodes() -> None:
    target = parse_redis_url("redis+cluster://u:p@n1:7000,n2:7001")
    assert target.kind == "cluster" and not target.tls
    assert target.hosts == (("n1", 7000), ("n2", 7001))
    assert (target.username, target.password) == ("u", "p")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://h:1", "must start with redis://"),
        ("redis+sentinel://h:26379", "/<service-name>"),
        ("redis+sentinel://h:26379/svc/x", "must be a number"),
        ("redis+cluster://h:7000/2", "only database 0"),
        ("redis+cluster://user:hunter2@h:notaport", "is not host:port"),
        ("redis+cluster://", "at least one host:port"),
    ],
)
def test_a_bad_url_is_one_sentence_without_the_password(url: str, message: str) -> None:
    with pytest.raises(RedisUrlError) as error:
        parse_redis_url(url)
    assert message in str(error.value)
    assert "hunter2" not in str(error.value)


def test_the_setting_accepts_sentinel_and_cluster_urls_and_refuses_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWIRE_REDIS_URL", "redis+sentinel://127.0.0.1:26379/newswire")
    assert load_settings().redis_url is not None
    monkeypatch.setenv("NEWSWIRE_REDIS_URL", "redis+cluster://127.0.0.1:7000,127.0.0.1:7001")
    assert load_settings().redis_url is not None
    monkeypatch.setenv("NEWSWIRE_REDIS_URL", "redis+sentinel://127.0.0.1:26379")
    with pytest.raises(SettingsError, match="NEWSWIRE_REDIS_URL is invalid"):
        load_settings()


def test_one_partition_keeps_the_unpartitioned_names() -> None:
    settings = Settings(partitions=1)
    [keys] = settings.partition_keys()
    assert keys.raw == "{newswire}:raw" and keys.partition is None
    assert settings.partition_for("url:https://a.example/") == 0


def test_each_partition_has_its_own_hash_tag_and_slot() -> None:
    settings = Settings(partitions=3)
    sets = settings.partition_keys()
    assert [k.raw for k in sets] == ["{newswire:0}:raw", "{newswire:1}:raw", "{newswire:2}:raw"]
    for keys in sets:
        # Everything the forward script touches in a partition is in one slot.
        slots = {key_slot(k.encode()) for k in (keys.raw, keys.cleaned, keys.dlq, keys.rate("cleaner", 0),
                                                 f"{keys.revisions}:x")}
        assert len(slots) == 1
    assert len({key_slot(k.raw.encode()) for k in sets}) == 3
    assert StreamKeys("newswire", 2).stream("published") == "{newswire:2}:published"


def test_the_partition_is_the_documented_function_of_the_identity() -> None:
    for identity in ("url:https://a.example/1", "id:42", "hash:abc"):
        expected = int.from_bytes(hashlib.sha256(identity.encode()).digest()[:8], "big") % 5
        assert partition_for(identity, 5) == expected
    spread = Counter(partition_for(f"id:{n}", 3) for n in range(3000))
    assert min(spread.values()) > 900, spread


def test_the_routing_identity_prefers_the_url_then_the_id_then_the_content() -> None:
    tracked = routing_identity({"url": "HTTPS://News.Example/a?utm_source=x&page=2#top", "id": "9", "text": "t"})
    assert tracked == routing_identity({"url": "https://news.example/a?page=2", "text": "changed"})
    assert routing_identity({"id": "9", "text": "one"}) == routing_identity({"id": "9", "text": "two"})
    assert routing_identity({"text": "one"}) != routing_identity({"text": "two"})


def test_producers_are_refused_at_the_high_water_mark_and_by_backlog() -> None:
    settings = Settings(high_water_percent=80, max_raw_backlog=1000)
    assert judge(settings, MemoryReading(79 * 2**20, 100 * 2**20), 10).ok
    refused = judge(settings, MemoryReading(81 * 2**20, 100 * 2**20), 10)
    assert not refused.ok and "NEWSWIRE_HIGH_WATER_PERCENT" in refused.reason and refused.retry_after_s > 0
    assert judge(settings, MemoryReading(10**9, 0), 10).ok, "no maxmemory: no memory mark"
    backlog = judge(settings, MemoryReading(1, 100), 1000)
    assert not backlog.ok and "NEWSWIRE_MAX_RAW_BACKLOG" in backlog.reason
