"""The console in a real browser (Debian chromium, headless) against a running pipeline on 127.0.0.1.

Chromium missing is a failure with the install command, never a skip: CI installs it (.ci/run).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from selenium import webdriver
from selenium.webdriver.common.by import By

from newswire.runtime.settings import StreamKeys
from tests.e2e.console_browser import ConsoleStack, chromium
from tests.support import SAMPLE_TEXT, delete_prefix, eventually, unique_prefix

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TOKEN = "browser-test-token"


@pytest.fixture(scope="module")
def keys(redis_url: str) -> Iterator[StreamKeys]:
    prefix = unique_prefix()
    yield StreamKeys(prefix)
    client = redis.Redis.from_url(redis_url)
    delete_prefix(client, prefix)
    client.close()


@pytest.fixture(scope="module")
def stack(redis_url: str, keys: StreamKeys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleStack]:
    prefix = keys.raw[1:].split("}", 1)[0]
    running = ConsoleStack(redis_url, prefix, tmp_path_factory.mktemp("console-stack"), TOKEN)
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


def publish(client: redis.Redis, keys: StreamKeys, document: dict[str, object]) -> None:
    client.xadd(keys.raw, {"data": json.dumps(document, ensure_ascii=False)})


def published_ids(client: redis.Redis, keys: StreamKeys) -> set[str]:
    return {fields[b"subject"].decode() for _, fields in client.xrange(keys.published)}


def text_of(browser: webdriver.Chrome, css: str) -> str:
    """The text of the element now (read in one step: the live page replaces its rows on every update)."""
    text = browser.execute_script("const e = document.querySelector(arguments[0]); return e && e.innerText;", css)
    assert text is not None, f"nothing matches {css}"
    return str(text)


def test_the_pipeline_page_shows_live_counts_as_articles_are_published(
    stack: ConsoleStack, browser: webdriver.Chrome, client: redis.Redis, keys: StreamKeys
) -> None:
    browser.get(stack.url + "/")
    eventually(lambda: text_of(browser, "#live-state") == "live", 30, "the live feed connected")
    published_cell = f'tr[data-stream="{keys.published}"] td[data-field="length"]'
    before = int(text_of(browser, published_cell))
    # A marker that a reload would erase: the figures must change in this same page.
    browser.execute_script("window.sameDocument = true;")
    for n in range(5):
        publish(client, keys, {"id": f"live-{n}", "title": f"Live {n}", "text": f"Live article {n}.\n\nMore text."})
    eventually(lambda: int(text_of(browser, published_cell)) >= before + 5, 90, "five more published in the page")
    eventually(lambda: float(text_of(browser, '[data-rate="publisher"]')) > 0, 30, "publisher throughput shown")
    assert browser.execute_script("return window.sameDocument === true")
    assert browser.find_elements(By.CSS_SELECTOR, 'svg[data-chart="publisher"] polyline')


def test_an_arabic_article_page_shows_its_entities_highlighted(
    stack: ConsoleStack, browser: webdriver.Chrome, client: redis.Redis, keys: StreamKeys
) -> None:
    publish(client, keys, {"id": "arabic-sample", "text": SAMPLE_TEXT.read_text(encoding="utf-8"),
                           "source": "alaraby.co.uk"})
    eventually(lambda: "arabic-sample" in published_ids(client, keys), 90, "the Arabic sample published")
    browser.get(stack.url + "/articles?language=ar")
    browser.find_element(By.CSS_SELECTOR, '#article-list a[href^="/articles/arabic-sample"]').click()
    eventually(lambda: browser.find_elements(By.ID, "article-body"), 20, "the article page")
    body = browser.find_element(By.ID, "article-body")
    assert body.get_attribute("dir") == "auto"
    # dir="auto" resolved to right-to-left by the browser from the Arabic text itself.
    assert browser.execute_script("return arguments[0].matches(':dir(rtl)')", body)
    assert browser.execute_script("return arguments[0].matches(':dir(rtl)')",
                                  browser.find_element(By.ID, "headline"))
    marks = body.find_elements(By.CSS_SELECTOR, "mark.hl-entity")
    assert marks, "no entity highlighted"
    linked = [m for m in marks if m.get_attribute("data-wikidata")]
    assert linked, "no entity linked to Wikidata"
    mark = linked[0]
    assert f"Wikidata {mark.get_attribute('data-wikidata')}" in (mark.get_attribute("title") or "")
    assert mark.get_attribute("data-name") in (mark.get_attribute("title") or "")
    link = mark.find_element(By.TAG_NAME, "a").get_attribute("href")
    assert link == f"https://www.wikidata.org/wiki/{mark.get_attribute('data-wikidata')}"
    # Every mark wraps exactly the text of a mention: the highlighted page reads as the body.
    assert all(m.text.strip() for m in marks)
    assert browser.find_elements(By.CSS_SELECTOR, "#history tbody tr")


def test_a_script_in_an_article_body_is_shown_as_text_and_never_runs(
    stack: ConsoleStack, browser: webdriver.Chrome, client: redis.Redis, keys: StreamKeys
) -> None:
    hostile = ('<script>window.pwned = 1</script>', '<img src=x onerror="window.pwned = 2">')
    publish(client, keys, {
        "id": "hostile-body",
        "title": "Reader comment <script>window.pwned = 3</script>",
        "text": "A story quoting code a reader pasted.\n\n"
                f"The snippet {hostile[0]} and {hostile[1]} appeared in the comments.\n\nThe end of the story.",
    })
    eventually(lambda: "hostile-body" in published_ids(client, keys), 90, "the hostile article published")
    for page in ("/articles", "/articles/hostile-body"):
        browser.get(stack.url + page)
        assert browser.execute_script("return typeof window.pwned") == "undefined", page
    body = browser.find_element(By.ID, "article-body")
    assert hostile[0] in body.text and hostile[1] in body.text
    assert not body.find_elements(By.CSS_SELECTOR, "script, img")
    assert "<script>window.pwned = 3</script>" in text_of(browser, "#headline")


def test_a_dead_letter_is_fixed_and_replayed_from_the_browser(
    stack: ConsoleStack, browser: webdriver.Chrome, client: redis.Redis, keys: StreamKeys
) -> None:
    broken = '{"id": "fixed-later", "title": "Fixed later", "text": "Refused, then fixed.\\n\\nAnd replayed."'
    client.xadd(keys.raw, {"data": broken})
    eventually(lambda: client.xlen(keys.dlq) >= 1, 60, "the broken entry dead-lettered")
    [(entry_id, _)] = [(e.decode(), f) for e, f in client.xrange(keys.dlq) if f[b"data"].decode() == broken]

    browser.get(stack.url + "/dead-letters")
    row = browser.find_element(By.XPATH, f'//table[@id="dlq-list"]//tr[.//a[text()="{entry_id}"]]')
    assert "invalid_json" in row.text
    # Read-only until signed in: the actions are not offered.
    assert not browser.find_elements(By.ID, "replay-selected")
    browser.get(stack.url + "/login?next=/dead-letters")
    browser.find_element(By.ID, "login-name").send_keys("on-call")
    browser.find_element(By.ID, "login-token").send_keys(TOKEN)
    browser.find_element(By.ID, "login-button").click()
    eventually(lambda: browser.find_elements(By.ID, "replay-selected"), 20, "signed in")

    browser.find_element(By.LINK_TEXT, entry_id).click()
    assert text_of(browser, "#reason"), "the one-sentence reason is shown"
    editor = browser.find_element(By.ID, "edited-data")
    editor.clear()
    editor.send_keys(broken + "}")
    browser.find_element(By.ID, "replay-one").click()
    eventually(lambda: browser.find_elements(By.ID, "confirm-button"), 20, "the confirmation page")
    assert client.xlen(keys.dlq) >= 1 and "fixed-later" not in published_ids(client, keys)
    browser.find_element(By.ID, "confirm-button").click()
    eventually(lambda: "Replayed 1 dead letter." in text_of(browser, ".flash"), 20, "the replay reported")
    eventually(lambda: "fixed-later" in published_ids(client, keys), 90, "the fixed entry published")
    assert not [e for e, f in client.xrange(keys.dlq) if e.decode() == entry_id]
    browser.get(stack.url + "/articles/fixed-later")
    assert text_of(browser, "#headline") == "Fixed later"
    # The console's log has the action with who did it, written at once (not left in a buffer).
    audit = [json.loads(line) for line in (stack.log_dir / "console.log").read_text().splitlines()
             if "console_dead_letters_replayed" in line]
    assert [(a["operator"], a["ids"], a["edited"]) for a in audit] == [("on-call", [entry_id], True)]
