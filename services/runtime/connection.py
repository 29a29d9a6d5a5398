"""Which Redis a process talks to, and how: NEWSWIRE_REDIS_URL (one server, Sentinel or Cluster), or the embedded one.

Every command (workers, CLI, the Python client) builds its redis-py client here, so a Sentinel or
Cluster URL works everywhere:

- `redis://`, `rediss://`, `unix://`: one server (`redis.Redis.from_url`).
- `redis+sentinel://[user:password@]host:port[,host:port...]/<service>[/db]` (`rediss+sentinel://` for TLS):
  the primary of `<service>` as the Sentinels report it. Connections are opened through the Sentinels, so
  after a failover the next connection goes to the new primary (no restart). The user and password are the
  data nodes'; Sentinels with their own password take `?sentinel_username=...&sentinel_password=...`.
- `redis+cluster://[user:password@]host:port[,host:port...]` (`rediss+cluster://` for TLS): Redis Cluster,
  the nodes given being only the first ones asked for the slot map.

Query parameters are passed to redis-py as connection options (e.g. `?ssl_ca_certs=/etc/ssl/ca.pem`,
`socket_timeout=5`), as `redis.Redis.from_url` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.sentinel
import redis.cluster
import redis.sentinel

from newswire.runtime.embedded_redis import EmbeddedRedis

if TYPE_CHECKING:
    from newswire.runtime.settings import Settings

SyncRedis = redis.Redis | redis.cluster.RedisCluster
AsyncRedis = redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster

_SINGLE_SCHEMES = ("redis", "rediss", "unix")
_SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
_CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
_INT_OPTIONS = frozenset({"db", "max_connections", "health_check_interval", "protocol"})
_FLOAT_OPTIONS = frozenset({"socket_timeout", "socket_connect_timeout"})
_BOOL_OPTIONS = frozenset({"socket_keepalive", "ssl_check_hostname", "retry_on_timeout"})


class RedisUrlError(ValueError):
    """NEWSWIRE_REDIS_URL cannot be understood; the message says why in one sentence."""


@dataclass(frozen=True)
class RedisTarget:
    """A parsed NEWSWIRE_REDIS_URL."""

    kind: Literal["single", "sentinel", "cluster"]
    url: str
    tls: bool = False
    hosts: tuple[tuple[str, int], ...] = ()
    service: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    sentinel_options: dict[str, Any] = field(default_factory=dict)


def parse_redis_url(url: str) -> RedisTarget:
    """Parse a Redis URL of any supported kind; RedisUrlError (one sentence, no password) when it is not one."""
    scheme, sep, _rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in (*_SINGLE_SCHEMES, *_SENTINEL_SCHEMES, *_CLUSTER_SCHEMES):
        raise RedisUrlError(
            "must start with redis://, rediss://, unix://, redis+sentinel://, rediss+sentinel://, "
            "redis+cluster:// or rediss+cluster://"
        )
    if scheme in _SINGLE_SCHEMES:
        return RedisTarget("single", url, tls=scheme == "rediss")
    parts = urlsplit(url)
    credentials, _, hostlist = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":") if credentials else ("", "", "")
    hosts = tuple(_host_port(item) for item in hostlist.split(",") if item.strip())
    if not hosts:
        raise RedisUrlError(f"a {scheme}:// URL needs at least one host:port")
    options, sentinel_options = _query_options(parts.query)
    path = [segment for segment in parts.path.split("/") if segment]
    common = {
        "url": url,
        "tls": scheme.startswith("rediss"),
        "hosts": hosts,
        "username": unquote(username) or None,
        "password": unquote(password) or None,
        "options": options,
        "sentinel_options": sentinel_options,
    }
    if scheme in _SENTINEL_SCHEMES:
        if not path or len(path) > 2:
            raise RedisUrlError(f"a {scheme}:// URL ends with /<service-name> or /<service-name>/<db>")
        db = _db_number(path[1]) if len(path) == 2 else int(options.pop("db", 0))
        return RedisTarget("sentinel", service=unquote(path[0]), db=db, **common)  # type: ignore[arg-type]
    if path and path != ["0"]:
        raise RedisUrlError("Redis Cluster has only database 0: a redis+cluster:// URL has no path")
    return RedisTarget("cluster", **common)  # type: ignore[arg-type]


def _host_port(item: str) -> tuple[str, int]:
    host, _, port = item.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RedisUrlError(f"{item.strip()!r} is not host:port")
    return host.strip("[]"), int(port)


def _db_number(text: str) -> int:
    if not text.isdigit():
        raise RedisUrlError(f"the database must be a number, not {text!r}")
    return int(text)


def _query_options(query: str) -> tuple[dict[str, Any], dict[str, Any]]:
    options: dict[str, Any] = {}
    sentinel_options: dict[str, Any] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in ("sentinel_username", "sentinel_password"):
            sentinel_options[name.removeprefix("sentinel_")] = value
            continue
        converted: Any = value
        try:
            if name in _INT_OPTIONS:
                converted = int(value)
            elif name in _FLOAT_OPTIONS:
                converted = float(value)
            elif name in _BOOL_OPTIONS:
                converted = value.lower() in ("1", "true", "yes", "on")
        except ValueError:
            raise RedisUrlError(f"the URL option {name} must be a number, not {value!r}") from None
        options[name] = converted
    return options, sentinel_options


def _node_options(target: RedisTarget, extra: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {**extra, **target.options}
    if target.username:
        options["username"] = target.username
    if target.password:
        options["password"] = target.password
    if target.tls:
        options["ssl"] = True
    return options


def _sentinel_kwargs(target: RedisTarget, node_options: dict[str, Any]) -> dict[str, Any]:
    """Sentinels get the same socket and TLS options as the data nodes, and their own credentials."""
    shared = {
        key: value
        for key, value in node_options.items()
        if key.startswith(("socket_", "ssl")) and key != "socket_keepalive_options"
    }
    return {**shared, **target.sentinel_options}


def sync_client(url: str, **extra: Any) -> SyncRedis:
    """A blocking redis-py client for `url` (any supported kind); `extra` are connection options."""
    target = parse_redis_url(url)
    if target.kind == "single":
        return redis.Redis.from_url(url, **extra)
    options = _node_options(target, extra)
    if target.kind == "sentinel":
        sentinel_class: Any = redis.sentinel.Sentinel
        sentinel = sentinel_class(list(target.hosts), sentinel_kwargs=_sentinel_kwargs(target, options), **options)
        primary: redis.Redis = sentinel.master_for(target.service, db=target.db)
        return primary
    options.pop("health_check_interval", None)
    node_class: Any = redis.cluster.ClusterNode
    nodes = [node_class(host, port) for host, port in target.hosts]
    return redis.cluster.RedisCluster(startup_nodes=nodes, **options)


def async_client(url: str, **extra: Any) -> AsyncRedis:
    """An asyncio redis-py client for `url` (any supported kind); `extra` are connection options."""
    target = parse_redis_url(url)
    if target.kind == "single":
        return redis.asyncio.Redis.from_url(url, **extra)
    options = _node_options(target, extra)
    if target.kind == "sentinel":
        sentinel_class: Any = redis.asyncio.sentinel.Sentinel
        sentinel = sentinel_class(list(target.hosts), sentinel_kwargs=_sentinel_kwargs(target, options), **options)
        primary: redis.asyncio.Redis = sentinel.master_for(target.service, db=target.db)
        return primary
    nodes = [redis.asyncio.cluster.ClusterNode(host, port) for host, port in target.hosts]
    # Per node: a worker holds one blocking read per partition and stage, beside its writes.
    options.setdefault("max_connections", 512)
    return redis.asyncio.cluster.RedisCluster(startup_nodes=nodes, **options)


def is_cluster(client: object) -> bool:
    """Whether `client` talks to Redis Cluster (commands may then not span hash slots)."""
    return isinstance(client, redis.cluster.RedisCluster | redis.asyncio.cluster.RedisCluster)


@contextmanager
def redis_url(settings: Settings) -> Iterator[str]:
    """Yield the Redis URL to use; start (and finally stop) the embedded Redis when none is configured."""
    if settings.redis_url is not None:
        yield settings.redis_url.get_secret_value()
        return
    server = EmbeddedRedis(settings.data_dir)
    try:
        yield server.start()
    finally:
        server.stop()
