"""The ingest API's OpenAPI document, as served at `/openapi.json` and checked in as `schemas/openapi.json`."""

from __future__ import annotations

import json

from newswire.ingest.app import create_app
from newswire.runtime.settings import Settings


def render_openapi() -> str:
    """The document for the default settings, rendered stably (sorted keys) for the checked-in file."""
    settings = Settings.model_construct()
    document = create_app(settings).openapi()
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
