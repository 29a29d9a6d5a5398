"""Build data/common-words-en.txt: the most frequent English words, lower-cased, one per line.

The recogniser reads a capital letter as a sign of a name, but the first word of a sentence has one whatever it
is ("Moreover", "Benchmark 10-year notes"). A sentence's first word that is a frequent English word, that the
knowledge base does not match and that the article never writes with a capital elsewhere is not taken as a name
(`ner.py`). The list comes from wordfreq (frequencies from Wikipedia, subtitles, news, books, web text and
social media; data CC BY-SA 4.0), a build-time dependency only.

Run: .venv/bin/pip install -e '.[train]' && .venv/bin/python -m newswire.enricher.entities.build_common_words
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from newswire.enricher.entities.kb import DATA_DIR

OUTPUT = DATA_DIR / "common-words-en.txt"
# Chosen on the English news dev set (tests/fixtures/entities/annotated-news-dev.json): see RESULTS.md.
WORDS = 20_000


def common_words(count: int = WORDS) -> list[str]:
    """The `count` most frequent English words of wordfreq that are made of letters only, sorted."""
    try:
        from wordfreq import top_n_list
    except ImportError:
        raise SystemExit("wordfreq is missing: install the training extra, `pip install -e '.[train]'`") from None
    return sorted({word for word in top_n_list("en", count) if word.isalpha()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--words", type=int, default=WORDS, help="how many of the most frequent words to read")
    args = parser.parse_args(argv)
    text = "".join(f"{word}\n" for word in common_words(args.words))
    args.output.write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    print(f"{args.output}: {text.count(chr(10))} words, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
