"""Regenerate the console screenshots of the README with the browser tests' own set-up.

    .venv/bin/python -m tests.e2e.console_screenshots

Starts a private Redis on 127.0.0.1, every stage and `newswire console` as processes (as the browser tests
do), publishes the bundled Arabic sample and the cleaner's multilingual text fixtures at a trickle (so the
throughput chart has a shape), adds two refused entries, and saves one PNG per page in
tests/e2e/screenshots/. Needs Debian's chromium and chromium-driver.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import redis
from selenium.webdriver.common.by import By

from newswire.runtime.settings import StreamKeys
from tests.e2e.console_browser import BrowserMissing, ConsoleStack, chromium, require_chromium
from tests.support import REPO, SAMPLE_TEXT, RedisServer, eventually

OUT = REPO / "tests" / "e2e" / "screenshots"
TOKEN = "screenshots"
PREFIX = "newswire"
TRICKLE_S = 40.0


def articles() -> list[dict[str, object]]:
    """The bundled Arabic sample, then the cleaner's text fixtures (one per language and layout)."""
    documents: list[dict[str, object]] = [
        {"id": "alaraby-russia-china", "text": SAMPLE_TEXT.read_text(encoding="utf-8"), "source": "alaraby.co.uk"}
    ]
    for path in sorted((REPO / "tests" / "fixtures" / "cleaner" / "text").glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))["raw"]
        documents.append({**raw, "id": path.stem})
    return documents


def main() -> int:
    try:
        require_chromium()
    except BrowserMissing as exc:
        print(f"console_screenshots: {exc}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="newswire-screenshots-") as work:
        server = RedisServer(Path(work) / "redis")
        server.start()
        stack = ConsoleStack(server.url, PREFIX, Path(work), TOKEN)
        try:
            stack.start()
            shoot(stack, redis.Redis.from_url(server.url), StreamKeys(PREFIX))
        finally:
            stack.stop()
            server.stop()
    for path in sorted(OUT.glob("console-*.png")):
        print(f"wrote {path.relative_to(REPO)}")
    return 0


def shoot(stack: ConsoleStack, client: redis.Redis, keys: StreamKeys) -> None:
    documents = articles()
    with chromium() as browser:
        browser.get(stack.url + "/")
        for index, document in enumerate(documents):
            client.xadd(keys.raw, {"data": json.dumps(document, ensure_ascii=False)})
            if index == 3:
                client.xadd(keys.raw, {"data": '{"title": "Truncated upload", "text": "The scraper cut this'})
                client.xadd(keys.raw, {"data": json.dumps({"title": "Only a headline", "text": "   "})})
            time.sleep(TRICKLE_S / len(documents))
        eventually(lambda: client.xlen(keys.published) >= len(documents), 120, "every article published")
        eventually(lambda: browser.execute_script(
            "return document.querySelector('#live-state').textContent") == "live", 30, "the live feed")
        time.sleep(3)
        browser.save_screenshot(str(OUT / "console-pipeline.png"))

        browser.get(stack.url + "/articles")
        browser.save_screenshot(str(OUT / "console-articles.png"))

        browser.get(stack.url + "/articles/alaraby-russia-china")
        browser.save_screenshot(str(OUT / "console-article.png"))

        browser.get(stack.url + "/login?next=/dead-letters")
        browser.find_element(By.ID, "login-name").send_keys("on-call")
        browser.find_element(By.ID, "login-token").send_keys(TOKEN)
        browser.find_element(By.ID, "login-button").click()
        eventually(lambda: browser.find_elements(By.ID, "replay-selected"), 20, "signed in")
        browser.save_screenshot(str(OUT / "console-dead-letters.png"))


if __name__ == "__main__":
    sys.exit(main())
