"""The wheel: one top-level import package, `newswire`, holding every file of `services/` and `schemas/`."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import REPO

pytestmark = pytest.mark.slow

# Files in the source folders that are not part of the package.
NOT_SHIPPED = ("__pycache__",)


def tracked_package_files() -> dict[str, str]:
    """Wheel path -> repository path, for every committed file under services/ and schemas/."""
    listed = subprocess.run(
        ["git", "ls-files", "services", "schemas"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    expected: dict[str, str] = {}
    for path in listed:
        if any(part in NOT_SHIPPED for part in Path(path).parts) or not (REPO / path).exists():
            continue
        top, _, rest = path.partition("/")
        expected[("newswire/" if top == "services" else "newswire/schemas/") + rest] = path
    return expected


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    [built] = out.glob("newswire-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_installs_only_the_newswire_package(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/", 1)[0] for name in wheel.namelist()}
    dist_info = {top for top in tops if top.endswith(".dist-info")}
    assert len(dist_info) == 1
    assert tops - dist_info == {"newswire"}


def test_every_committed_source_and_data_file_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    shipped = set(wheel.namelist())
    expected = tracked_package_files()
    missing = sorted(repo_path for wheel_path, repo_path in expected.items() if wheel_path not in shipped)
    assert not missing, (
        f"not in the wheel: {missing[:10]} (add the folder to [tool.setuptools] packages or the file's "
        "extension to package-data in pyproject.toml)"
    )


def test_the_console_script_points_into_the_package(wheel: zipfile.ZipFile) -> None:
    [entry_points] = [name for name in wheel.namelist() if name.endswith(".dist-info/entry_points.txt")]
    assert "newswire = newswire.cli.main:main" in wheel.read(entry_points).decode()


def test_the_wheel_carries_the_compiled_recogniser_loops(wheel: zipfile.ZipFile) -> None:
    # Built where a C compiler is at hand, as here; the package falls back to numpy where it is not.
    compiled = [name for name in wheel.namelist() if name.startswith("newswire/enricher/entities/_tagger.")]
    assert any(name.endswith((".so", ".pyd")) for name in compiled), compiled
