"""API keys of the ingest API, kept in Redis: only their SHA-256 is stored, with a name and an optional source.

A key is `nwk_<id>_<secret>`: the id is public (it names the key in lists, logs and metrics), the
secret is 32 random bytes. Keys are random, not passwords, so one SHA-256 is the right hash: a
lookup is one HGET, and the stored hashes reveal nothing usable.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from newswire.runtime.settings import StreamKeys

_KEY_PATTERN = re.compile(r"^nwk_([0-9a-f]{8})_[A-Za-z0-9_-]{20,}$")
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class ApiKeyError(ValueError):
    """A key cannot be created or revoked; the message says why in one sentence."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    """What is stored about a key (never the key itself)."""

    id: str
    name: str
    source: str | None
    created_at: str
    rate: float | None = None
    burst: int | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ApiKey:
        values: dict[str, Any] = json.loads(text)
        return cls(**{name: values.get(name) for name in cls.__dataclass_fields__})  # type: ignore[arg-type]


def keys_hash(keys: StreamKeys) -> str:
    """The Redis hash of every key: SHA-256 of the key -> ApiKey JSON."""
    return f"{keys.stream('ingest')}:keys"


def bucket_key(keys: StreamKeys, key_id: str) -> str:
    """The token bucket of one key (same hash tag as the key hash)."""
    return f"{keys.stream('ingest')}:bucket:{key_id}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_key(presented: str) -> bool:
    return _KEY_PATTERN.match(presented) is not None


def new_key(
    name: str, source: str | None = None, rate: float | None = None, burst: int | None = None
) -> tuple[str, ApiKey]:
    """A fresh secret and its record; the secret is shown once and never stored."""
    if not _NAME_PATTERN.match(name):
        raise ApiKeyError(
            f"{name!r} is not a usable key name: use 1 to 64 letters, digits and _ . : - (e.g. the scraper's name)"
        )
    if rate is not None and rate < 0:
        raise ApiKeyError("the rate must be 0 (unlimited) or a positive number of articles per second")
    if burst is not None and burst < 1:
        raise ApiKeyError("the burst must be at least 1 article")
    key_id = secrets.token_hex(4)
    secret = f"nwk_{key_id}_{secrets.token_urlsafe(32)}"
    created = datetime.now(UTC).isoformat(timespec="seconds")
    return secret, ApiKey(key_id, name, source or None, created, rate, burst)


def create_key(client: Any, keys: StreamKeys, record_and_secret: tuple[str, ApiKey]) -> ApiKey:
    """Store a key made by `new_key` (blocking client)."""
    secret, record = record_and_secret
    client.hset(keys_hash(keys), digest(secret), record.to_json())
    return record


def list_keys(client: Any, keys: StreamKeys) -> list[ApiKey]:
    """Every stored key, oldest first (blocking client)."""
    records = [ApiKey.from_json(value) for value in client.hgetall(keys_hash(keys)).values()]
    return sorted(records, key=lambda record: (record.created_at, record.name, record.id))


def revoke_key(client: Any, keys: StreamKeys, id_or_name: str) -> list[ApiKey]:
    """Delete the key with this id, or every key with this name; the revoked keys (blocking client)."""
    stored = {field: ApiKey.from_json(value) for field, value in client.hgetall(keys_hash(keys)).items()}
    matches = {field: record for field, record in stored.items() if record.id == id_or_name}
    if not matches:
        matches = {field: record for field, record in stored.items() if record.name == id_or_name}
    if not matches:
        raise ApiKeyError(f"no key with id or name {id_or_name!r}; `newswire ingest keys list` shows them")
    pipe = client.pipeline(transaction=True)
    pipe.hdel(keys_hash(keys), *matches)
    for record in matches.values():
        pipe.delete(bucket_key(keys, record.id))
    pipe.execute()
    return sorted(matches.values(), key=lambda record: record.created_at)


async def find_key(client: Any, keys: StreamKeys, presented: str) -> ApiKey | None:
    """The key record for a presented key, or None when it is unknown or revoked (asyncio client)."""
    if not looks_like_key(presented):
        return None
    value = await client.hget(keys_hash(keys), digest(presented))
    return None if value is None else ApiKey.from_json(value)
