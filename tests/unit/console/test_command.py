"""`newswire console` start-up: a taken port is one sentence, a missing browser fails the browser tests loudly."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from newswire.console.command import ConsolePortInUse, bind
from tests.e2e import console_browser
from tests.support import REPO


def test_a_taken_port_is_one_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConsolePortInUse, match=f"port {port} on 127.0.0.1 is taken; set NEWSWIRE_CONSOLE_PORT"):
            bind("127.0.0.1", port)
        result = subprocess.run(
            [sys.executable, "-m", "newswire.cli", "console"],
            env={"NEWSWIRE_REDIS_URL": "redis://127.0.0.1:1/0", "NEWSWIRE_CONSOLE_PORT": str(port), "PATH": ""},
            capture_output=True, text=True, timeout=60, cwd=REPO,
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"newswire: port {port} on 127.0.0.1 is taken")
    assert "Traceback" not in result.stderr


def test_a_missing_browser_is_a_failure_that_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_browser, "CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(console_browser.BrowserMissing, match="apt-get install chromium chromium-driver"):
        console_browser.require_chromium()
