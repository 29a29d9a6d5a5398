"""The browser set-up of the console's tests and screenshots: Debian's chromium driven by Selenium, headless,
against a real pipeline and `newswire console` running as processes on 127.0.0.1.

Never downloads a browser or a driver: it uses /usr/bin/chromium and /usr/bin/chromedriver (Debian packages
`chromium` and `chromium-driver`, which .ci/run installs) and fails with that sentence when they are missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.support import REPO, eventually, free_port, worker_env

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Headless, nothing fetched from the network by the browser itself, a fresh profile per run.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1360,900",
    "--lang=en-US",
)
NEWSWIRE = [sys.executable, "-m", "newswire.cli"]


class BrowserMissing(RuntimeError):
    """Chromium or its driver is not installed."""


def require_chromium() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        raise BrowserMissing(
            f"{' and '.join(missing)} not found: the console's browser tests need Debian's `chromium` and "
            "`chromium-driver` packages (apt-get install chromium chromium-driver; .ci/run installs them)"
        )


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    """A headless Debian chromium with a fresh profile, driven through /usr/bin/chromedriver."""
    require_chromium()
    with tempfile.TemporaryDirectory(prefix="newswire-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
        driver.set_page_load_timeout(30)
        try:
            yield driver
        finally:
            driver.quit()


class ConsoleStack:
    """Every stage (`newswire run all`) and `newswire console` as processes, on one Redis and stream prefix."""

    def __init__(self, redis_url: str, prefix: str, log_dir: Path, token: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.env = worker_env(
            redis_url, prefix, NEWSWIRE_CONSOLE_TOKEN=token, NEWSWIRE_CONSOLE_PORT=str(self.port),
            NEWSWIRE_INGEST_PORT="0",
        )
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for args in (("run", "all"), ("console",)):
            with open(self.log_dir / f"{'-'.join(args)}.log", "wb") as log:
                self.processes.append(
                    subprocess.Popen([*NEWSWIRE, *args], env=self.env, stdout=log, stderr=log, cwd=REPO)
                )
        eventually(self._console_answers, 60, f"the console answers on {self.url}")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
                         for path in sorted(self.log_dir.glob("*.log")))

    def _console_answers(self) -> bool:
        for process in self.processes:
            if process.poll() is not None:
                raise RuntimeError(f"a process exited with {process.returncode}:\n{self.logs()}")
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return bool(json.loads(response.read())["redis"] == "ok")
        except OSError:
            return False
