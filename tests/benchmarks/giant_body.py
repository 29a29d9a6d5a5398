"""Worst case of the enricher: one giant text article.

Run: .venv/bin/python tests/benchmarks/giant_body.py [--copies 700]
The sample's body repeated --copies times (700: about 4 MB) goes through clean_article and enrich_article with
the default NEWSWIRE_MAX_ANALYSED_CHARS; prints the size and the seconds each took.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from newswire.cleaner.clean import clean_article
from newswire.enricher import enrich
from newswire.schemas import RawArticle
from tests.support import SAMPLE_TEXT


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=700)
    args = parser.parse_args()
    enrich.warm_up()
    body = SAMPLE_TEXT.read_text(encoding="utf-8").split("\n\n", 3)[-1]
    text = "\n\n".join([body] * args.copies)
    started = time.perf_counter()
    cleaned = clean_article(RawArticle(title="Giant", text=text), received_at=datetime.now(UTC))
    cleaned_at = time.perf_counter()
    enriched = enrich.enrich_article(cleaned)
    done = time.perf_counter()
    print(f"{len(text.encode()) / 1e6:.1f} MB text, {len(cleaned.body):,} characters of body: "
          f"clean {cleaned_at - started:.2f} s, enrich {done - cleaned_at:.2f} s "
          f"({len(enriched.entities)} entities, {len(enriched.quotes)} quotes, {len(enriched.amounts)} amounts)")
    print(f"command: .venv/bin/python tests/benchmarks/giant_body.py --copies {args.copies}")


if __name__ == "__main__":
    main()
