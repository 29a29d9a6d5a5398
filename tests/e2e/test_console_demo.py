"""`newswire demo --console` with the embedded Redis: the demo's article is on the console, Ctrl-C stops it all."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.support import REPO, eventually, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def test_demo_console_serves_the_demo_streams_of_the_embedded_redis(tmp_path: Path) -> None:
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("NEWSWIRE_")}
    env.update({"NEWSWIRE_DATA_DIR": str(tmp_path / "data"), "NEWSWIRE_CONSOLE_PORT": str(port),
                "NEWSWIRE_INGEST_PORT": "0", "NEWSWIRE_HTTP_PORT": "0"})
    log = tmp_path / "demo.log"
    with open(log, "wb") as output:
        demo = subprocess.Popen([sys.executable, "-m", "newswire.cli", "demo", "--console"], env=env, cwd=REPO,
                                stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        def published() -> Any:
            assert demo.poll() is None, log.read_text()
            try:
                figures = json.loads(get(base + "/api/pipeline")[1])["figures"]
            except OSError:
                return None
            return figures and next(s for s in figures["streams"] if s["stream"] == "published")["length"] >= 1

        eventually(published, 150, "the console shows the demo's published article")
        status, page = get(base + "/articles")
        assert status == 200
        [link] = set(re.findall(r'href="(/articles/[^"]+)"', page))
        status, article = get(base + link.replace("&amp;", "&"))
        assert status == 200 and 'class="hl hl-entity"' in article
        status, pipeline = get(base + "/")
        assert "{newswire-demo}:published" in pipeline and "embedded Redis" in pipeline
        children = psutil.Process(demo.pid).children(recursive=True)
        assert any("run" in child.cmdline() and "all" in child.cmdline() for child in children), "no pipeline kept"
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            code = demo.wait(60)
        except subprocess.TimeoutExpired:
            demo.kill()
            raise
    assert code == 0, log.read_text()
    gone = psutil.wait_procs(children, timeout=30)[1]
    assert not gone, f"still running after the demo stopped: {[p.cmdline() for p in gone]}"
