"""Least-privilege Redis users (deploy/redis-acl/users.acl) against a real Redis.

The pipeline runs with one user per stage, a scraper publishes and a subscriber reads with
their own users, and every user is refused (NOPERM) what its role does not need. The users
are created from the shipped file, rendered for the test's random prefix, so a worker that
starts running a new Redis command, or touching a new key, fails here until the file allows it.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import redis
import redis.asyncio
from redis.exceptions import NoPermissionError

from newswire.cleaner.templates import TemplateLookup, TemplatePolicy, TemplateStore
from newswire.runtime.app import Pipeline
from newswire.runtime.settings import StreamKeys
from newswire.stages import STAGE_NAMES, stage_named
from tests.conftest import make_settings
from tests.support import REPO, eventually_async

ACL_FILE = REPO / "deploy" / "redis-acl" / "users.acl"
DEFAULT_PREFIX_TAG = "{newswire}"


def render_for_prefix(text: str, prefix: str) -> str:
    """Key patterns and key names of the default prefix, moved to `prefix`."""
    return text.replace(DEFAULT_PREFIX_TAG, "{" + prefix + "}")


def acl_rules(prefix: str) -> dict[str, list[str]]:
    """The users of the ACL file with their rules, for streams under `prefix`."""
    users: dict[str, list[str]] = {}
    for number, line in enumerate(ACL_FILE.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        # Redis refuses to load an ACL file with anything else on a line (comments included).
        keyword, name, *rules = line.split()
        assert keyword == "user", f"{ACL_FILE.name}:{number} does not start with `user`"
        assert not any(rule.startswith((">", "#", "nopass")) for rule in rules), (
            f"{ACL_FILE.name}:{number} sets a password; passwords are added at deploy time"
        )
        users[name] = [render_for_prefix(rule, prefix) for rule in rules]
    return users


def with_credentials(url: str, username: str, password: str) -> str:
    """`url` logging in as `username` instead of whoever it named."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(username, safe='')}:{quote(password, safe='')}@{host}"))


def run_command(client: redis.Redis, *args: str) -> Any:
    """A raw command: ACL rules go to Redis as written in the file."""
    execute: Callable[..., Any] = client.execute_command  # untyped in redis-py
    return execute(*args)


@dataclass
class AclUsers:
    """The file's users as created on the test Redis: a login URL per role, and clients to close."""

    usernames: dict[str, str]
    urls: dict[str, str]
    clients: list[redis.Redis] = field(default_factory=list)

    def client(self, role: str) -> redis.Redis:
        client = redis.Redis.from_url(self.urls[role])
        self.clients.append(client)
        return client


@pytest.fixture
def acl_users(redis_url: str, prefix: str, sync_redis: redis.Redis) -> Iterator[AclUsers]:
    """Every user of the ACL file but `default`, named after the test's prefix, with a random password."""
    users = AclUsers({}, {})
    try:
        for role, rules in acl_rules(prefix).items():
            if role == "default":
                continue  # the test server's own default user stays as it is
            username = f"{role}-{prefix}"
            password = secrets.token_hex(16)
            try:
                run_command(sync_redis, "ACL", "SETUSER", username, "reset", *rules, f">{password}")
            except NoPermissionError:
                pytest.skip("the test Redis does not let this client create users (ACL SETUSER)")
            users.usernames[role] = username
            users.urls[role] = with_credentials(redis_url, username, password)
        yield users
    finally:
        for client in users.clients:
            client.close()
        if users.usernames:
            run_command(sync_redis, "ACL", "DELUSER", *users.usernames.values())


# redis-py's connection handshake also asks for CLIENT SETINFO (Redis 7.2+) and CLIENT
# MAINT_NOTIFICATIONS, and carries on when they are refused; granting them would need
# subcommand names that Redis 7.0 rejects in an ACL file, so the file leaves them out.
HANDSHAKE_EXTRAS = {"client", "client|setinfo", "client|maint_notifications"}


def refusals(client: redis.Redis, usernames: set[str]) -> list[str]:
    """What the server refused these users (ACL LOG), beyond the handshake extras."""
    return [
        f"{entry['username']}: {entry['reason']} {entry['object']}"
        for entry in client.acl_log(count=128)
        if entry["username"] in usernames and not (entry["reason"] == "command" and entry["object"] in HANDSHAKE_EXTRAS)
    ]


def readyz_status(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


async def ready(port: int, timeout_s: float = 30) -> None:
    """Wait until the worker's /readyz answers 200: PING and XINFO GROUPS work with its user."""
    await eventually_async(lambda: readyz_status(port) == 200, timeout_s, f"/readyz on port {port} answers 200")


async def wait_for_length(
    client: redis.Redis, stream: str, length: int, usernames: set[str], timeout_s: float = 60
) -> None:
    """Wait for `length` entries in `stream`; fail at once when the server refuses one of the users."""

    def arrived() -> bool:
        refused = refusals(client, usernames)
        if refused:
            raise RuntimeError(f"the server refused a stage's user: {refused}")
        return int(client.xlen(stream)) >= length

    await eventually_async(arrived, timeout_s, f"{stream} has {length} entries")


async def test_the_pipeline_runs_with_one_least_privilege_user_per_stage(
    redis_url: str, prefix: str, sync_redis: redis.Redis, acl_users: AclUsers
) -> None:
    keys = StreamKeys(prefix)
    article = {
        "url": "https://news.example.com/world/talks",
        "title": "Talks resume in Geneva",
        "text": "Negotiators met again on Monday in Geneva. Both delegations said the talks were useful.",
    }
    # A second article of the same source: the cleaner's source-template script then reads what it learnt.
    follow_up = {
        "url": "https://news.example.com/world/ceasefire",
        "title": "Ceasefire holds in the north",
        "text": "The ceasefire held for a third day on Wednesday. Aid convoys reached two towns in the north.",
    }
    scraper = acl_users.client("scraper")
    scraper.xadd(keys.raw, {"data": json.dumps(article)})
    scraper.xadd(keys.raw, {"data": json.dumps(follow_up)})
    scraper.xadd(keys.raw, {"data": "not json"})  # refused: the dead-letter path runs as the cleaner user too

    # A cleaner that died holding the article: the live cleaner must reclaim it (XAUTOCLAIM,
    # XPENDING) with its own user.
    departed = acl_users.client("cleaner")
    departed.xgroup_create(keys.raw, "cleaner", id="0", mkstream=True)
    assert departed.xreadgroup("cleaner", "departed-worker", {keys.raw: ">"}, count=1)

    subscriber = acl_users.client("subscriber")
    subscriber.xgroup_create(keys.published, "newsroom", id="0", mkstream=True)

    usernames = set(acl_users.usernames.values())
    pipelines = []
    try:
        for stage in STAGE_NAMES:
            url = acl_users.urls[stage]
            pipeline = Pipeline(make_settings(url, prefix), [stage_named(stage)], url)
            pipelines.append(pipeline)
            await pipeline.start()
        for pipeline in pipelines:
            assert pipeline.http is not None
            await ready(pipeline.http.port)
        await wait_for_length(sync_redis, keys.published, 2, usernames)
        await wait_for_length(sync_redis, keys.dlq, 1, usernames)
    finally:
        for pipeline in pipelines:
            await pipeline.stop()

    assert [pipeline.failed for pipeline in pipelines] == [False, False, False]
    reply: Any = subscriber.xreadgroup("newsroom", "reader-1", {keys.published: ">"}, count=10)
    [(_stream, events)] = reply
    assert subscriber.xack(keys.published, "newsroom", *[entry_id for entry_id, _ in events]) == 2
    assert sorted(json.loads(event[b"data"])["headline"] for _, event in events) == sorted(
        [article["title"], follow_up["title"]]
    )
    dead_letters: Any = sync_redis.xrange(keys.dlq)
    [(_id, dead_letter)] = dead_letters
    assert dead_letter[b"error_type"] == b"invalid_json"
    for stage in STAGE_NAMES:
        summary: Any = sync_redis.xpending(stage_named(stage).input_stream(keys), stage)
        assert summary["pending"] == 0
    assert refusals(sync_redis, usernames) == []


# (role, command): each must be refused with NOPERM. `{newswire}` is the test's prefix.
REFUSED = [
    ("cleaner", "XADD {newswire}:published * data x"),
    ("cleaner", "XADD {newswire}:raw:copy * data x"),
    ("cleaner", "XREADGROUP GROUP publisher c1 STREAMS {newswire}:enriched >"),
    ("cleaner", "XLEN {newswire}:enriched"),
    ("cleaner", "HSET {newswire}:rev:a hash x"),
    ("cleaner", "INCRBY {newswire}:rate:publisher:1 1"),
    ("cleaner", "XGROUP DESTROY {newswire}:raw cleaner"),
    ("cleaner", "DEL {newswire}:raw"),
    ("cleaner", "EVAL return 0"),
    ("cleaner", "KEYS *"),
    ("cleaner", "FLUSHALL"),
    ("cleaner", "CONFIG GET maxmemory"),
    ("cleaner", "SUBSCRIBE news"),
    ("enricher", "XADD {newswire}:raw * data x"),
    ("enricher", "XADD {newswire}:published * data x"),
    ("enricher", "XREADGROUP GROUP cleaner c1 STREAMS {newswire}:raw >"),
    ("publisher", "XLEN {newswire}:raw"),
    ("publisher", "XADD {newswire}:cleaned * data x"),
    ("publisher", "SET {newswire}:cleaned:a b"),
    ("scraper", "XLEN {newswire}:raw"),
    ("scraper", "XRANGE {newswire}:raw - +"),
    ("scraper", "XREAD STREAMS {newswire}:raw 0"),
    ("scraper", "XREADGROUP GROUP cleaner c1 STREAMS {newswire}:raw >"),
    ("scraper", "XADD {newswire}:cleaned * data x"),
    ("scraper", "XADD {newswire}:published * data x"),
    ("scraper", "XADD {newswire}:dlq * data x"),
    ("scraper", "SCAN 0"),
    ("subscriber", "XADD {newswire}:published * data x"),
    ("subscriber", "XREADGROUP GROUP cleaner c1 STREAMS {newswire}:raw >"),
    ("subscriber", "XLEN {newswire}:dlq"),
    ("subscriber", "XGROUP DESTROY {newswire}:published newsroom"),
    ("keda", "XREADGROUP GROUP cleaner c1 STREAMS {newswire}:raw >"),
    ("keda", "XINFO GROUPS {newswire}:published"),
    ("keda", "XLEN {newswire}:raw"),
]


@pytest.mark.parametrize(("role", "command"), REFUSED, ids=[f"{role}: {command}" for role, command in REFUSED])
def test_a_user_is_refused_what_its_role_does_not_need(
    prefix: str, sync_redis: redis.Redis, acl_users: AclUsers, role: str, command: str
) -> None:
    keys = StreamKeys(prefix)
    for stream, group in [(keys.raw, "cleaner"), (keys.enriched, "publisher"), (keys.published, "newsroom")]:
        sync_redis.xgroup_create(stream, group, id="0", mkstream=True)
    client = acl_users.client(role)
    with pytest.raises(NoPermissionError):
        run_command(client, *render_for_prefix(command, prefix).split())


def test_the_users_can_do_what_their_role_needs_outside_the_pipeline(
    prefix: str, sync_redis: redis.Redis, acl_users: AclUsers
) -> None:
    keys = StreamKeys(prefix)
    sync_redis.xgroup_create(keys.raw, "cleaner", id="0", mkstream=True)
    keda = acl_users.client("keda")
    # KEDA's redis-streams scaler reads the group's lag with XINFO GROUPS.
    assert [group["name"] for group in keda.xinfo_groups(keys.raw)] == [b"cleaner"]
    subscriber = acl_users.client("subscriber")
    subscriber.xgroup_create(keys.published, "archive", id="$", mkstream=True)
    assert subscriber.xlen(keys.published) == 0
    assert subscriber.xinfo_groups(keys.published)[0]["name"] == b"archive"


async def test_the_cleaner_user_keeps_bounded_source_templates(
    prefix: str, sync_redis: redis.Redis, acl_users: AclUsers
) -> None:
    """Learning, reading back and evicting sources (the template script's every branch) under the cleaner's user."""
    store = TemplateStore(StreamKeys(prefix).templates + ":", policy=TemplatePolicy(max_sources=2))
    cleaner = redis.asyncio.Redis.from_url(acl_users.urls["cleaner"])
    try:
        for number in range(6):
            lines = ["Home", "Subscribe to our newsletter", f"Story {number} of the day"]
            lookup = TemplateLookup(f"site{number % 3}.example", [f"story-{number}"], lines)
            [template] = await store.match_and_learn(cleaner, [lookup], 1_000_000.0 + number)
            assert isinstance(template, set)
    finally:
        await cleaner.aclose()
    assert refusals(sync_redis, set(acl_users.usernames.values())) == []
    assert sync_redis.zcard(f"{StreamKeys(prefix).templates}:sources") == 2


def test_a_script_runs_with_the_permissions_of_its_caller(
    prefix: str, sync_redis: redis.Redis, acl_users: AclUsers
) -> None:
    keys = StreamKeys(prefix)
    cleaner = acl_users.client("cleaner")
    # Loading a script is allowed (redis-py falls back to SCRIPT LOAD on NOSCRIPT), and the
    # script may touch the cleaner's own streams...
    add = cleaner.register_script("return redis.call('XADD', KEYS[1], '*', 'data', ARGV[1])")
    add(keys=[keys.cleaned], args=["ok"])
    assert sync_redis.xlen(keys.cleaned) == 1
    # ...but nothing else: a key declared to EVALSHA is checked before the script runs,
    with pytest.raises(NoPermissionError):
        add(keys=[keys.published], args=["forged"])
    # and a key the script names by itself is checked when it calls Redis.
    sneaky = cleaner.register_script(f"return redis.call('XADD', '{keys.published}', '*', 'data', 'forged')")
    with pytest.raises(redis.ResponseError, match=r"(?i)noperm|no permissions|can't access"):
        sneaky()
    assert sync_redis.xlen(keys.published) == 0


def test_the_ingest_api_runs_with_its_own_user(
    redis_url: str, prefix: str, sync_redis: redis.Redis, acl_users: AclUsers
) -> None:
    """The HTTP ingest API writes raw articles, checks keys, rate limits and idempotency as the `ingest` user."""
    from tests.ingest_support import ThreadedIngest, make_key

    settings = make_settings(redis_url, prefix, ingest_port=0, http_host="127.0.0.1")
    keys = StreamKeys(prefix)
    sync_redis.xgroup_create(keys.raw, "cleaner", id="0", mkstream=True)
    key = make_key(redis_url, settings, name="acl-scraper")  # keys are created by an operator, not by the API
    with ThreadedIngest(settings, acl_users.urls["ingest"]) as ingest, ingest.client(key) as http:
        article = {"url": "https://example.com/acl", "title": "ACL", "text": "Published through the ingest API."}
        first = http.post("/v1/articles", json=article, headers={"Idempotency-Key": "acl-1"})
        again = http.post("/v1/articles", json=article, headers={"Idempotency-Key": "acl-1"})
        batch = http.post("/v1/articles:batch", json=[{**article, "url": "https://example.com/acl-2"}])
        ready = http.get("/readyz")
    assert (first.status_code, again.status_code, batch.status_code) == (202, 202, 202), first.text
    assert ready.status_code == 200, ready.text
    assert sync_redis.xlen(keys.raw) == 2
    assert refusals(sync_redis, {acl_users.usernames["ingest"]}) == []
