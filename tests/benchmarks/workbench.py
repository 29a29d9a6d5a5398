"""Where benchmarks find data that is not in the repository: the `shared/` workbench beside the checkout.

Benchmarks may read it when it is present; without it they stop with one sentence saying what is missing
and where it was looked for. Tests never read it. `NEWSWIRE_WORKBENCH` points elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORKBENCH = Path(os.environ.get("NEWSWIRE_WORKBENCH", REPO.parent / "shared"))


def require(relative: str, what: str) -> Path:
    """The workbench path `relative`, or SystemExit naming what is missing and where it was looked for."""
    path = WORKBENCH / relative
    if not path.exists():
        raise SystemExit(
            f"this benchmark needs {what} at {path}, which is missing: put the workbench beside the checkout "
            "or point NEWSWIRE_WORKBENCH at it"
        )
    return path
