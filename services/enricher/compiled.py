"""The enricher's inner loops compiled from C (`entities/_tagger.c`, `_terms.c`), where the package was built with
them: `pip install` compiles them when a C compiler is at hand (pyproject.toml, ext-modules). Each has a numpy or
Python version beside it that gives the same results and runs where the compiled module is missing."""

from __future__ import annotations

import importlib
from types import ModuleType


def compiled(name: str) -> ModuleType | None:
    """The compiled module `newswire.enricher.<name>`, or None where the package was installed without it."""
    try:
        return importlib.import_module(f"newswire.enricher.{name}")
    except ImportError:
        return None
