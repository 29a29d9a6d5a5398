"""Settings validation, and the documents that must agree with the code: schemas, README, compose."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from newswire.cli.main import RUN_CHOICES
from newswire.cli.schema_export import stale_files
from newswire.runtime.settings import Settings, SettingsError, load_settings
from tests.support import REPO


def test_defaults_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("NEWSWIRE_"):
            monkeypatch.delenv(name)
    settings = load_settings()
    assert settings.redis_url is None
    assert settings.keys.raw == "{newswire}:raw"
    assert settings.max_deliveries == 5
    assert settings.max_article_bytes == 5 * 1024 * 1024


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NEWSWIRE_BATCH_SIZE", "lots", "NEWSWIRE_BATCH_SIZE is invalid: Input should be a valid integer"),
        ("NEWSWIRE_BATCH_SIZE", "0", "NEWSWIRE_BATCH_SIZE is invalid: Input should be greater than or equal to 1"),
        ("NEWSWIRE_REDIS_URL", "http://x", "NEWSWIRE_REDIS_URL is invalid: Value error, must start with redis://"),
        ("NEWSWIRE_PREFIX", "a b", "NEWSWIRE_PREFIX is invalid"),
    ],
)
def test_a_bad_setting_is_one_sentence(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_the_command_reports_a_bad_setting_without_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "newswire.cli", "run", "cleaner"],
        env={"NEWSWIRE_BATCH_SIZE": "lots", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("newswire: NEWSWIRE_BATCH_SIZE is invalid")
    assert "Traceback" not in result.stderr


def test_checked_in_schema_files_are_up_to_date() -> None:
    assert stale_files(REPO / "schemas") == [], "run `newswire schema export` and commit the result"


def test_the_readme_documents_every_setting_with_its_default() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(NEWSWIRE_[A-Z_]+)` \| `?([^`|]*)`? \|", readme, flags=re.MULTILINE))
    for name, field in Settings.model_fields.items():
        variable = f"NEWSWIRE_{name.upper()}"
        assert variable in rows, f"{variable} is missing from the README's settings table"
        default = field.default
        if default is None or field.default_factory is not None:
            continue
        assert rows[variable].strip().lower() == str(default).lower(), variable


def test_compose_file_uses_real_commands_and_settings() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert "healthcheck" in services["redis"]
    assert "--appendonly" in services["redis"]["command"]
    known_settings = {f"NEWSWIRE_{name.upper()}" for name in Settings.model_fields}
    stages = set(RUN_CHOICES)
    for stage in ("cleaner", "enricher", "publisher"):
        service = services[stage]
        assert service["command"][0] == "run"
        assert service["command"][1] in stages
        assert "container_name" not in service, "a fixed name would stop `--scale`"
        assert "ports" not in service, "a published port would stop `--scale`"
        assert set(service["environment"]) <= known_settings
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        grace = int(service["stop_grace_period"].rstrip("s"))
        assert grace > float(service["environment"]["NEWSWIRE_SHUTDOWN_TIMEOUT_S"])
    ingest = services["ingest"]
    assert ingest["command"] == ["run", "ingest"]
    assert set(ingest["environment"]) <= known_settings
    port = ingest["environment"]["NEWSWIRE_INGEST_PORT"]
    assert ingest["ports"] == [f"127.0.0.1:{port}:8700"]
    # Its health check probes the API's own port: `run ingest` serves no worker port.
    assert f"127.0.0.1:{port}/readyz" in " ".join(ingest["healthcheck"]["test"])


def test_dockerfile_runs_the_cli_as_non_root() -> None:
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^USER (?!root|0\b)\S+", dockerfile, flags=re.MULTILINE)
    assert 'ENTRYPOINT ["newswire"]' in dockerfile
    assert "FROM python:3.11-slim" in dockerfile
