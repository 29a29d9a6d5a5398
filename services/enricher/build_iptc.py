"""Build `data/iptc_mediatopics.json`, the enricher's extract of the IPTC Media Topics taxonomy.

Run from the repository root:
`.venv/bin/python -m newswire.enricher.build_iptc --source tests/fixtures/iptc/iptc-mediatopics.json`.
The extract keeps the current (not retired) concepts with their qcode, English label, level and parent,
plus the few labels that are IPTC's own translations. The output is deterministic; the source file's
SHA-256 is recorded in it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

EXTRACT_PATH = Path(__file__).resolve().parent / "data" / "iptc_mediatopics.json"

ABOUT = (
    "The IPTC Media Topics taxonomy (current concepts only: qcode, level, parent), with the English names. "
    "Source: IPTC Media Topics (https://www.iptc.org/standards/media-topics/), published by IPTC under CC BY 4.0; "
    "this extract was taken from a BSD-2-Clause licensed mapping file (see iptc_mediatopics.LICENSE). "
    "`label_local` holds only labels that are IPTC's own translations."
)

# IPTC's own Arabic labels of top-level topics (from IPTC's published translations); no others are added.
IPTC_LOCAL_LABELS: dict[str, dict[str, str]] = {
    "medtop:04000000": {"ar": "اقتصاد، اعمال ومال"},
    "medtop:11000000": {"ar": "سياسة"},
}


def extract(concepts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The current concepts, in the source's order, reduced to what the enricher reads."""
    current: list[dict[str, Any]] = []
    for concept in concepts:
        if concept.get("retired"):
            continue
        item: dict[str, Any] = {
            "qcode": concept["qcode"],
            "label": concept["name"],
            "level": concept["level"],
            "parent": concept["parent"],
        }
        if concept["qcode"] in IPTC_LOCAL_LABELS:
            item["label_local"] = IPTC_LOCAL_LABELS[concept["qcode"]]
        current.append(item)
    return current


def render(source: bytes) -> str:
    """The extract's text for the taxonomy file `source` (its bytes)."""
    document = {
        "about": ABOUT,
        "source": {"file": "iptc-mediatopics.json", "sha256": hashlib.sha256(source).hexdigest()},
        "concepts": extract(json.loads(source)),
    }
    return json.dumps(document, ensure_ascii=False, indent=0) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="the full taxonomy JSON (see tests/fixtures/iptc)")
    args = parser.parse_args()
    text = render(args.source.read_bytes())
    EXTRACT_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {len(json.loads(text)['concepts'])} concepts to {EXTRACT_PATH}")


if __name__ == "__main__":
    main()
