"""The committed data files are what their build scripts make from the recorded sources."""

from __future__ import annotations

import json
from importlib import metadata

from newswire.enricher import build_iptc
from newswire.enricher.entities import build_kb
from tests.support import REPO

IPTC_SOURCE = REPO / "tests" / "fixtures" / "iptc" / "iptc-mediatopics.json"


def test_the_knowledge_base_is_what_build_kb_makes_from_the_recorded_package_versions() -> None:
    committed = build_kb.KB_PATH.read_text(encoding="utf-8")
    recorded = json.loads(committed)["sources"]
    installed = {name: metadata.version(name) for name in build_kb.SOURCE_PACKAGES}
    assert recorded == installed, "kb.json was built from other package versions: rebuild it (see its README)"
    assert build_kb.render(build_kb.build()) == committed


def test_the_iptc_extract_is_what_build_iptc_makes_from_the_recorded_source() -> None:
    source = IPTC_SOURCE.read_bytes()
    committed = build_iptc.EXTRACT_PATH.read_text(encoding="utf-8")
    assert build_iptc.render(source) == committed
    concepts = json.loads(committed)["concepts"]
    full = json.loads(source)
    assert len(concepts) == sum(1 for concept in full if not concept["retired"])
    assert {c["qcode"] for c in concepts if c["level"] == 1} == {
        c["qcode"] for c in full if c["level"] == 1 and not c["retired"]
    }
