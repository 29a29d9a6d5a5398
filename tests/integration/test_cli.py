"""The operator commands against a real Redis: dlq list/show/replay/purge, stats, publish, tail."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from newswire.cli.dlq import DEAD_LETTER_FIELDS
from tests.support import REPO, eventually, worker_env

NEWSWIRE = [sys.executable, "-m", "newswire.cli"]


def newswire(redis_url: str, prefix: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NEWSWIRE, *args],
        env=worker_env(redis_url, prefix),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def add_dead_letter(client: redis.Redis, prefix: str, data: str, error_type: str, stage: str = "cleaner") -> str:
    tag = "{" + prefix + "}"
    entry_id = client.xadd(
        f"{tag}:dlq",
        {
            "data": data,
            "stage": stage,
            "error_type": error_type,
            "error": "the `data` field is not valid JSON",
            "attempts": "1",
            "source_stream": f"{tag}:raw",
            "source_id": "1-0",
            "failed_at": "2026-01-01T00:00:00+00:00",
        },
    )
    return entry_id.decode()


def test_dlq_list_show_replay_and_purge(redis_url: str, prefix: str, sync_redis: redis.Redis) -> None:
    tag = "{" + prefix + "}"
    first = add_dead_letter(sync_redis, prefix, "{broken", "invalid_json")
    second = add_dead_letter(sync_redis, prefix, '{"text": "fixed"}', "wrong_type")

    listed = newswire(redis_url, prefix, "dlq", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [row["id"] for row in rows] == [second, first]
    assert rows[1]["error_type"] == "invalid_json"

    shown = newswire(redis_url, prefix, "dlq", "show", second)
    assert json.loads(shown.stdout)["original"] == {"data": {"text": "fixed"}}

    replayed = newswire(redis_url, prefix, "dlq", "replay", second)
    assert replayed.returncode == 0, replayed.stderr
    [(_, fields)] = sync_redis.xrange(f"{tag}:raw")
    assert fields == {b"data": b'{"text": "fixed"}'}  # the original entry, without the dead-letter fields
    assert not set(DEAD_LETTER_FIELDS) & {name.decode() for name in fields}
    assert sync_redis.xlen(f"{tag}:dlq") == 1

    refused = newswire(redis_url, prefix, "dlq", "purge", stdin="n\n")
    assert refused.returncode == 1
    assert sync_redis.xlen(f"{tag}:dlq") == 1
    purged = newswire(redis_url, prefix, "dlq", "purge", "--yes")
    assert purged.returncode == 0
    assert "deleted 1 dead letter" in purged.stderr
    assert sync_redis.exists(f"{tag}:dlq") == 0


def test_publish_reads_files_directories_and_stdin(
    redis_url: str, prefix: str, sync_redis: redis.Redis, tmp_path: Path
) -> None:
    (tmp_path / "one.json").write_text(json.dumps({"text": "one"}))
    (tmp_path / "many.json").write_text(json.dumps([{"text": "two"}, {"text": "three"}]))
    (tmp_path / "lines.jsonl").write_text('{"text": "four"}\n\n{"text": "five"}\n')
    (tmp_path / "page.html").write_text("<html><body><p>six</p></body></html>")
    (tmp_path / "story.txt").write_text("seven")
    (tmp_path / "ignored.csv").write_text("not an article")
    result = newswire(redis_url, prefix, "publish", str(tmp_path), "-", "--source", "unit", stdin='{"text": "eight"}')
    assert result.returncode == 0, result.stderr
    assert "published 8 articles" in result.stderr
    documents = [json.loads(f[b"data"]) for _, f in sync_redis.xrange("{" + prefix + "}:raw")]
    assert sorted(d.get("text") or d.get("html") for d in documents)[0].startswith("<html>")
    assert {d.get("text") for d in documents} >= {"one", "two", "three", "four", "five", "seven", "eight"}
    assert {d["source"] for d in documents} == {"unit"}


def test_publish_reports_a_bad_file_and_exits_non_zero(redis_url: str, prefix: str, tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{nope")
    (tmp_path / "good.json").write_text('{"text": "fine"}')
    result = newswire(redis_url, prefix, "publish", str(tmp_path / "bad.json"), str(tmp_path / "good.json"))
    assert result.returncode == 1
    assert "bad.json: not valid JSON" in result.stderr
    assert "published 1 article " in result.stderr


def test_stats_json_reports_streams_groups_and_pending(redis_url: str, prefix: str, sync_redis: redis.Redis) -> None:
    raw = "{" + prefix + "}:raw"
    for n in range(5):
        sync_redis.xadd(raw, {"data": json.dumps({"text": str(n)})})
    sync_redis.xgroup_create(raw, "cleaner", id="0")
    sync_redis.xreadgroup("cleaner", "c1", {raw: ">"}, count=2)
    result = newswire(redis_url, prefix, "stats", "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    [raw_row] = [s for s in stats["streams"] if s["stream"] == "raw"]
    assert raw_row["length"] == 5
    [group] = raw_row["groups"]
    assert group["group"] == "cleaner"
    assert group["pending"] == 2
    assert group["consumers"] == 1
    assert stats["dlq_size"] == 0


@pytest.mark.skipif(os.environ.get("NEWSWIRE_REDIS_URL", "").count("@") > 0, reason="the URL already has a user")
def test_stats_never_prints_the_password(redis_url: str, prefix: str, sync_redis: redis.Redis) -> None:
    user, password = f"{prefix}-ops", "s3cret-Passw0rd"
    sync_redis.acl_setuser(user, enabled=True, passwords=[f"+{password}"], keys=["*"], commands=["+@all"])
    try:
        url = redis_url.replace("redis://", f"redis://{user}:{password}@", 1)
        for args in (["stats"], ["stats", "--json"], ["dlq", "list"]):
            result = newswire(url, prefix, *args)
            assert result.returncode == 0, result.stderr
            assert password not in result.stdout + result.stderr
    finally:
        sync_redis.acl_deluser(user)


def test_worker_logs_never_contain_the_password(redis_url: str, prefix: str, sync_redis: redis.Redis) -> None:
    user, password = f"{prefix}-worker", "An0ther-s3cret"
    sync_redis.acl_setuser(user, enabled=True, passwords=[f"+{password}"], keys=["*"], commands=["+@all"])
    try:
        url = redis_url.replace("redis://", f"redis://{user}:{password}@", 1)
        env = worker_env(url, prefix, NEWSWIRE_LOG_LEVEL="DEBUG")
        process = subprocess.Popen([*NEWSWIRE, "run", "all"], env=env, stderr=subprocess.PIPE, cwd=REPO)
        sync_redis.xadd("{" + prefix + "}:raw", {"data": "not json"})
        eventually(lambda: sync_redis.xlen("{" + prefix + "}:dlq") >= 1, 60, "the bad entry dead-lettered")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0
        assert b"article_refused" in stderr
        assert password.encode() not in stderr
    finally:
        sync_redis.acl_deluser(user)


def test_tail_reads_with_its_own_group_and_filters(redis_url: str, prefix: str, sync_redis: redis.Redis) -> None:
    published = "{" + prefix + "}:published"
    articles = [
        {"language": "ar", "topics": [{"qcode": "medtop:11000000", "parent": None}], "entities": [{"id": "Q7747"}]},
        {"language": "en", "topics": [{"qcode": "medtop:20000638", "parent": "medtop:11000000"}], "entities": []},
        {"language": "en", "topics": [{"qcode": "medtop:15000000", "parent": None}], "entities": []},
    ]
    for n, article in enumerate(articles):
        sync_redis.xadd(published, {"specversion": "1.0", "id": f"a{n}/r1", "data": json.dumps(article)})

    everything = newswire(redis_url, prefix, "tail", "--from-start", "--count", "3")
    assert [json.loads(line)["id"] for line in everything.stdout.splitlines()] == ["a0/r1", "a1/r1", "a2/r1"]
    english = newswire(redis_url, prefix, "tail", "--from-start", "--count", "2", "--lang", "en")
    assert [json.loads(line)["id"] for line in english.stdout.splitlines()] == ["a1/r1", "a2/r1"]
    politics = newswire(redis_url, prefix, "tail", "--from-start", "--count", "2", "--topic", "medtop:11000000")
    assert [json.loads(line)["id"] for line in politics.stdout.splitlines()] == ["a0/r1", "a1/r1"]
    putin = newswire(redis_url, prefix, "tail", "--from-start", "--count", "1", "--entity", "q7747")
    assert [json.loads(line)["id"] for line in putin.stdout.splitlines()] == ["a0/r1"]
    # Temporary groups are removed on exit; a named group stays and resumes.
    assert sync_redis.xinfo_groups(published) == []
    named = newswire(redis_url, prefix, "tail", "--from-start", "--count", "1", "--group", "audit")
    resumed = newswire(redis_url, prefix, "tail", "--count", "1", "--group", "audit")
    assert json.loads(named.stdout)["id"] == "a0/r1"
    assert json.loads(resumed.stdout)["id"] == "a1/r1"
