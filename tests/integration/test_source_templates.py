"""Source templates learned in a real Redis: the cleaner stage's process + resolve, as the worker runs them.

Real article bodies (the extraction benchmark's ground truth, tests/fixtures/cleaner/templates) are wrapped in
two synthetic sites' recurring header, menu and footer lines; the template lines the page classifier alone
keeps disappear once the source has been seen a few times, and nothing else is removed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from newswire.cleaner.clean import clean_article
from newswire.cleaner.templates import STORE_TIMEOUT_S, TEMPLATE_ARTICLES, TemplatePolicy, TemplateStore
from newswire.cleaner.wiring import CleanedForward, CleanerStage
from newswire.enricher.language import decode_report, detect_languages
from newswire.runtime.delivery import Entry
from newswire.runtime.entries import entry_time
from newswire.runtime.settings import Settings
from newswire.schemas import CleanedArticle, RawArticle
from tests.support import RedisServer

BODIES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "cleaner" / "templates" / "aeb_bodies.json").read_text(
        encoding="utf-8"
    )
)["bodies"]

# Two sites: a menu and header above the article, promotion and footer paragraphs below it. Several lines are
# full sentences, which no single-page classifier can tell from the article.
COURIER = {
    "domain": "dailycourier.example",
    "header": ["Home", "World", "Business", "Culture", "Opinion", "Subscribe", "Sign in"],
    "after_body": [
        "The Daily Courier is an independent newspaper that has covered politics, business and culture since 1921.",
        "Our journalists are supported by readers like you, and every contribution helps keep our reporting free.",
        "Sign up to the morning briefing and get the most important stories of the day delivered to your inbox.",
    ],
    "footer": ["About us", "Contact", "Privacy policy", "© Daily Courier Media Group"],
}
SAHIFA = {
    "domain": "assahifa.example",
    "header": ["الرئيسية", "أخبار", "اقتصاد", "رياضة", "Accueil", "English"],
    "after_body": [
        "تابعوا آخر الأخبار العاجلة والتحليلات المعمقة من مراسلينا في كل العواصم العربية على مدار الساعة.",
        "Retrouvez toute l'actualité de la région et nos analyses exclusives dans notre lettre quotidienne gratuite.",
        "جميع المواد المنشورة في هذا الموقع محمية بموجب قوانين حقوق النشر ولا يجوز نقلها دون إذن مسبق من الإدارة.",
    ],
    "footer": ["من نحن", "اتصل بنا", "سياسة الخصوصية"],
}
ARTICLES_PER_SITE = 32


def page_text(site: dict[str, Any], body: dict[str, Any], number: int) -> str:
    title = f"{body['paragraphs'][0][:60].rsplit(' ', 1)[0]} ({number})"
    lines = [*site["header"], title, *body["paragraphs"], *site["after_body"], *site["footer"]]
    return "\n".join(lines)


def template_lines(site: dict[str, Any]) -> list[str]:
    return [*site["header"], *site["after_body"], *site["footer"]]


def entry(article: dict[str, Any], sequence: int) -> Entry:
    return Entry(f"{int(time.time() * 1000)}-{sequence}".encode(), {b"data": json.dumps(article).encode()})


@pytest.fixture
def stage(prefix: str) -> CleanerStage:
    return CleanerStage(Settings(prefix=prefix))


async def clean_batch(stage: CleanerStage, client: redis.asyncio.Redis, entries: list[Entry]) -> list[CleanedArticle]:
    outcomes = [stage.process(item) for item in entries]
    resolved = await stage.resolve(client, list(outcomes))
    articles = []
    for outcome in resolved:
        assert isinstance(outcome, CleanedForward)
        data = dict(outcome.fields)["data"]
        articles.append(CleanedArticle.model_validate_json(data))
    return articles


def count(outcome: str) -> float:
    return TEMPLATE_ARTICLES.labels("cleaner", outcome)._value.get()


@pytest.fixture
def interleaved() -> Iterator[tuple[dict[str, Any], dict[str, Any], int]]:
    """(site, body, number): the two sites' articles interleaved, each site with its own bodies."""
    courier_bodies = BODIES[:ARTICLES_PER_SITE]
    sahifa_bodies = BODIES[ARTICLES_PER_SITE : 2 * ARTICLES_PER_SITE]
    assert len(sahifa_bodies) == ARTICLES_PER_SITE
    items = []
    for number in range(ARTICLES_PER_SITE):
        items.append((COURIER, courier_bodies[number], number))
        items.append((SAHIFA, sahifa_bodies[number], number))
    return iter(items)


async def test_template_lines_disappear_after_the_first_articles(
    stage: CleanerStage, async_redis: redis.asyncio.Redis, interleaved: Iterator[tuple[Any, Any, int]]
) -> None:
    template_in_body: dict[str, list[int]] = {COURIER["domain"]: [], SAHIFA["domain"]: []}
    items = list(interleaved)
    raws = [
        {"url": f"https://www.{site['domain']}/news/{number}", "text": page_text(site, body, number)}
        for site, body, number in items
    ]
    articles: list[CleanedArticle] = []
    for start in range(0, len(raws), 4):  # batches of four, as a worker reads them
        articles += await clean_batch(
            stage, async_redis, [entry(raw, start + i) for i, raw in enumerate(raws[start : start + 4])]
        )
    for (site, _, _), raw, article in zip(items, raws, articles, strict=True):
        without_store = clean_article(RawArticle(**raw), received_at=article.received_at)
        kept = [line for line in template_lines(site) if line in article.body.split("\n\n")]
        template_in_body[site["domain"]].append(len(kept))
        # The template step removes template lines only: every other paragraph the classifier kept stays.
        others = [p.text for p in without_store.paragraphs if p.text not in template_lines(site)]
        assert [p.text for p in article.paragraphs if p.text not in template_lines(site)] == others
        assert article.article_id == without_store.article_id

    for domain, counts in template_in_body.items():
        # Before anything is learned the page classifier alone keeps some of the site's sentences...
        assert counts[0] >= 2, (domain, counts)
        # ... and once the source has been seen three times they are gone for good.
        assert counts[3:] == [0] * (ARTICLES_PER_SITE - 3), (domain, counts)


async def test_a_story_resubmitted_is_counted_once(stage: CleanerStage, async_redis: redis.asyncio.Redis) -> None:
    body = BODIES[0]
    url = "https://www.updates.example/live/1"
    for update in range(6):
        raw = {"url": url, "text": "\n".join([f"Live: the story so far ({update})", *body["paragraphs"]])}
        await clean_batch(stage, async_redis, [entry(raw, update)])
    # A new article of the same source quoting the story's paragraphs keeps them: updates taught no template.
    fresh = {"url": "https://www.updates.example/other/2", "text": "\n".join(["Another story", *body["paragraphs"]])}
    (article,) = await clean_batch(stage, async_redis, [entry(fresh, 9)])
    expected = clean_article(RawArticle(**fresh), received_at=entry_time(entry(fresh, 9).id))
    assert article.body == expected.body
    keys = [key async for key in async_redis.scan_iter(match=stage.templates.prefix + "*:meta")]
    articles = [int(await async_redis.hget(key, "articles") or 0) for key in keys]
    assert sorted(articles) == [2]


async def test_an_article_that_is_all_template_is_not_emptied(
    stage: CleanerStage, async_redis: redis.asyncio.Redis
) -> None:
    line = "This newsletter is sent to subscribers of the Example Gazette every morning at seven o'clock."
    for number in range(6):
        raw = {"url": f"https://gazette.example/{number}", "text": "\n".join([line, *BODIES[number]["paragraphs"]])}
        await clean_batch(stage, async_redis, [entry(raw, number)])
    before = count("kept_whole")
    (article,) = await clean_batch(stage, async_redis, [entry({"url": "https://gazette.example/x", "text": line}, 7)])
    assert article.body == line
    assert count("kept_whole") == before + 1


async def test_store_is_bounded_and_expires(prefix: str, async_redis: redis.asyncio.Redis) -> None:
    store = TemplateStore(f"{{{prefix}}}:templates:", policy=TemplatePolicy(max_sources=3, ttl_s=600))
    from newswire.cleaner.templates import TemplateLookup

    for number in range(5):
        lookup = TemplateLookup(f"site{number}.example", [f"id{number}"], ["Home", "Menu line", "Body text"])
        await store.match_and_learn(async_redis, [lookup], time.time() + number)
    sources = await async_redis.zrange(f"{{{prefix}}}:templates:sources", 0, -1)
    assert len(sources) == 3
    keys = [key async for key in async_redis.scan_iter(match=f"{{{prefix}}}:templates:*")]
    assert len(keys) == 1 + 3 * 3  # the registry, and sketch, meta and identities of the three newest sources
    for key in keys:
        assert 0 < await async_redis.ttl(key) <= 600
    sketch = next(key for key in keys if key.endswith(b":sketch"))
    assert await async_redis.strlen(sketch) <= 3 * 4096


async def stage_that_learned(site: dict[str, Any], client: redis.asyncio.Redis, prefix: str) -> CleanerStage:
    """A cleaner stage whose store has seen five of the site's articles (its template is learned)."""
    stage = CleanerStage(Settings(prefix=prefix))
    for number in range(5):
        raw = {"url": f"https://www.{site['domain']}/n/{number}", "text": page_text(site, BODIES[number], number)}
        await clean_batch(stage, client, [entry(raw, number)])
    return stage


async def test_a_full_redis_stops_learning_not_cleaning(private_redis: RedisServer, prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(private_redis.url)
    try:
        stage = await stage_that_learned(COURIER, client, prefix)
        site = COURIER
        await client.config_set("maxmemory-policy", "noeviction")
        await client.config_set("maxmemory", "1")
        before = count("store_full")
        raw = {"url": f"https://www.{site['domain']}/n/99", "text": page_text(site, BODIES[40], 99)}
        (article,) = await clean_batch(stage, client, [entry(raw, 99)])
        assert count("store_full") == before + 1
        # What was learned before Redis filled up still applies.
        assert not [line for line in template_lines(site) if line in article.body.split("\n\n")]
        meta = [key async for key in client.scan_iter(match="*:meta")]
        assert [int(await client.hget(key, "articles") or 0) for key in meta] == [5]
    finally:
        await client.config_set("maxmemory", "0")
        await client.aclose()


async def test_the_language_field_describes_the_body_forwarded(
    stage: CleanerStage, async_redis: redis.asyncio.Redis, interleaved: Iterator[tuple[Any, Any, int]]
) -> None:
    """The cleaner identifies each article's languages for the enricher, on the body it forwards: after the
    template step, which here drops the Arabic site's French promotion line and so changes the mix."""
    items = list(interleaved)[:16]
    raws = [
        {"url": f"https://www.{site['domain']}/news/{number}", "text": page_text(site, body, number)}
        for site, body, number in items
    ]
    changed = 0
    for start in range(0, len(raws), 4):
        entries = [entry(raw, start + i) for i, raw in enumerate(raws[start : start + 4])]
        outcomes = [stage.process(item) for item in entries]
        first = [detect_languages(o.article.body, o.article.title) for o in outcomes]  # type: ignore[union-attr]
        for outcome, unfiltered in zip(await stage.resolve(async_redis, list(outcomes)), first, strict=True):
            assert isinstance(outcome, CleanedForward)
            fields = dict(outcome.fields)
            article = CleanedArticle.model_validate_json(fields["data"])
            report = decode_report(fields["language"])
            assert report == detect_languages(article.body, article.title)
            changed += report != unfiltered
    assert changed >= 1


async def test_a_stalled_redis_stops_learning_not_cleaning(private_redis: RedisServer, prefix: str) -> None:
    """The template store shares one Redis (one primary under Cluster) with every partition: while it does not
    answer, a batch waits STORE_TIMEOUT_S and is cleaned without templates; then learning resumes."""
    client = redis.asyncio.Redis.from_url(private_redis.url)
    sleeper = redis.asyncio.Redis.from_url(private_redis.url)
    try:
        stage = await stage_that_learned(COURIER, client, prefix)
        site = COURIER
        before = count("store_slow")
        stall = asyncio.create_task(sleeper.execute_command("DEBUG", "SLEEP", 3 * STORE_TIMEOUT_S))
        await asyncio.sleep(0.2)
        raw = {"url": f"https://www.{site['domain']}/n/99", "text": page_text(site, BODIES[40], 99)}
        started = time.monotonic()
        (article,) = await clean_batch(stage, client, [entry(raw, 99)])
        assert time.monotonic() - started < 2 * STORE_TIMEOUT_S
        assert count("store_slow") == before + 1
        # Cleaned all the same, by the page classifier alone: the article's own paragraphs are all there.
        assert all(paragraph in article.body for paragraph in BODIES[40]["paragraphs"])
        await stall
        raw = {"url": f"https://www.{site['domain']}/n/100", "text": page_text(site, BODIES[41], 100)}
        (article,) = await clean_batch(stage, client, [entry(raw, 100)])
        assert count("store_slow") == before + 1
        assert not [line for line in template_lines(site) if line in article.body.split("\n\n")]
    finally:
        await sleeper.aclose()
        await client.aclose()
