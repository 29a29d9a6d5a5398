"""`newswire tail --format ninjs` on a real event: the sample article through every stage."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import redis

from newswire.runtime.app import Pipeline
from newswire.stages import PIPELINE
from tests.conftest import make_settings
from tests.support import REPO, SAMPLE_TEXT, eventually_async

NINJS_SCHEMA = json.loads((REPO / "tests" / "fixtures" / "ninjs" / "ninjs-schema_2.2.json").read_text("utf-8"))


def tail(redis_url: str, prefix: str, *args: str) -> list[dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-m", "newswire.cli", "tail", "--from-start", *args],
        env={"PATH": "", "NEWSWIRE_REDIS_URL": redis_url, "NEWSWIRE_PREFIX": prefix, "HOME": str(REPO)},
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


async def test_tail_renders_a_real_event_as_valid_ninjs_and_filters_by_source(
    redis_url: str, prefix: str, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix)
    sample = SAMPLE_TEXT.read_text(encoding="utf-8")
    sync_redis.xadd(settings.keys.raw, {"data": json.dumps({"text": sample, "source": "alaraby.co.uk"})})
    pipeline = Pipeline(settings, list(PIPELINE), redis_url)
    await pipeline.start()
    try:
        await eventually_async(lambda: sync_redis.xlen(settings.keys.published) == 1, 60, "the sample published")
    finally:
        await pipeline.stop()

    [item] = tail(redis_url, prefix, "--count", "1", "--format", "ninjs", "--source", "alaraby.co.uk")
    jsonschema.Draft202012Validator(NINJS_SCHEMA).validate(item)
    [event] = tail(redis_url, prefix, "--count", "1")
    article = event["data"]
    assert isinstance(article, dict)
    assert item["language"] == article["language"] == "ar"
    assert item["headlines"] == [{"role": "main", "value": article["headline"]}]
    assert item["bodies"][0]["value"] == article["body"]  # type: ignore[index]
    assert {s["literal"] for s in item["subjects"]} >= {t["qcode"] for t in article["topics"]}  # type: ignore[index,union-attr]
    for subject in item["subjects"]:  # type: ignore[attr-defined]
        if subject["literal"].startswith("medtop:"):
            assert subject["uri"] == "http://cv.iptc.org/newscodes/mediatopic/" + subject["literal"][7:]
    linked = [p for p in item.get("people", []) if "uri" in p]  # type: ignore[attr-defined]
    assert linked and all(p["uri"].startswith("http://www.wikidata.org/entity/Q") for p in linked)
    assert item["infosources"][0]["uri"] == "https://alaraby.co.uk/"  # type: ignore[index]


def test_sinks_refuse_bad_settings_with_one_sentence(redis_url: str, prefix: str) -> None:
    env = {"PATH": "", "NEWSWIRE_REDIS_URL": redis_url, "NEWSWIRE_PREFIX": prefix, "HOME": str(REPO)}
    cases = [
        (["sink", "postgres"], 2, "newswire: no PostgreSQL to write to: pass --dsn or set NEWSWIRE_POSTGRES_DSN"),
        (["sink", "postgres", "--dsn", "postgresql://nobody@127.0.0.1:1/none"], 1, "newswire: PostgreSQL: "),
        (["sink", "webhook", "--url", "ftp://example.com/x"], 2, "newswire: --url must be an http:// or https://"),
        (["sink", "webhook", "--url", "http://127.0.0.1:1/", "--max-attempts", "0"], 2, "newswire: --max-attempts"),
    ]
    for args, code, message in cases:
        result = subprocess.run([sys.executable, "-m", "newswire.cli", *args], env=env, capture_output=True,
                                text=True, timeout=60, cwd=REPO)
        assert result.returncode == code, (args, result.stderr)
        assert result.stderr.strip().startswith(message), (args, result.stderr)
        assert "Traceback" not in result.stderr
