"""Which Redis a process talks to: NEWSWIRE_REDIS_URL, or the embedded one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from newswire.runtime.embedded_redis import EmbeddedRedis
from newswire.runtime.settings import Settings


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

