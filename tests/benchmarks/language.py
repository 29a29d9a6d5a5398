"""Language identification: accuracy on short and long texts and memory per detector profile.

Run: .venv/bin/python tests/benchmarks/language.py
Each profile runs in its own process, so the RSS it adds (after warm-up and after the whole run, when lazily
loaded models have come in) is measured from a clean interpreter.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
FIXTURES = ROOT / "tests" / "fixtures" / "topics"
sys.path.insert(0, str(ROOT))

from lingua import Language  # noqa: E402

from newswire.enricher.language import DEFAULT_PROFILE, DetectorProfile, LanguageIdentifier  # noqa: E402

_ARABIC_SCRIPT = frozenset({Language.ARABIC, Language.PERSIAN, Language.URDU})
PROFILES = {
    "all-high-preloaded": DetectorProfile("all-high-preloaded", _ARABIC_SCRIPT, broad_low_accuracy=False),
    "all-low-preloaded": DetectorProfile("all-low-preloaded", frozenset()),
    DEFAULT_PROFILE.name: DEFAULT_PROFILE,
    "default-lazy": DetectorProfile("default-lazy", _ARABIC_SCRIPT, preload=False),
    "arabic-script+en+fr-precise+all-low": DetectorProfile(
        "arabic-script+en+fr-precise+all-low", _ARABIC_SCRIPT | {Language.ENGLISH, Language.FRENCH}
    ),
}


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    match = re.search(r"^.{30,160}?[.!?。](?=\s|$)", flat)
    return match.group(0) if match else flat[:120]


def load_cases() -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[list[str], str]]]:
    """(expected, text) pairs for short and long texts, and (languages, text) for mixed ones."""
    gold = json.loads((SHARED / "samples" / "alaraby-russia-china.ar.gold.json").read_text())
    aeb = json.loads((SHARED / "benchmarks" / "aeb" / "ground-truth.json").read_text())
    labels = json.loads((FIXTURES / "aeb_labels.json").read_text())["labels"]
    written = json.loads((FIXTURES / "language_texts.json").read_text())
    short_topics = json.loads((FIXTURES / "short_texts.json").read_text())["texts"]
    short = [(item["language"], item["text"]) for item in written["short"]]
    short += [(item["language"], item["text"]) for item in short_topics]
    short.append(("ar", gold["cleaned"]["title"]))
    short += [(label["language"], _first_sentence(aeb[label["id"]]["articleBody"])) for label in labels]
    long = [(label["language"], aeb[label["id"]]["articleBody"]) for label in labels]
    long.append(("ar", "\n\n".join(gold["cleaned"]["body_paragraphs_in_order"])))
    mixed = [(item["languages"], item["text"]) for item in written["mixed"]]
    return short, long, mixed


def run_profile(name: str) -> dict[str, object]:
    process = psutil.Process()
    short, long, mixed = load_cases()
    baseline = process.memory_info().rss
    started = time.perf_counter()
    identifier = LanguageIdentifier(PROFILES[name])
    warm_up_s = time.perf_counter() - started
    after_warm_up = process.memory_info().rss
    errors: list[str] = []

    def score(cases: list[tuple[str, str]], label: str) -> tuple[float, float]:
        right = 0
        started = time.perf_counter()
        for expected, text in cases:
            report = identifier.report(text, None)
            got = report.body.code if report.body else None
            if got == expected:
                right += 1
            else:
                errors.append(f"{label}: expected {expected} got {got}: {text[:60]!r}")
        return right / len(cases), (time.perf_counter() - started) * 1000 / len(cases)

    short_accuracy, short_ms = score(short, "short")
    long_accuracy, long_ms = score(long, "long")
    arabic_script = [(e, t) for e, t in short if e in {"ar", "fa", "ur", "ps", "ckb"}]
    arabic_right = sum(
        1 for e, t in arabic_script if (r := identifier.report(t, None).body) is not None and r.code == e
    )
    mixed_right = sum(
        1 for langs, text in mixed if sorted(g.code for g in identifier.report(text, None).mixed) == sorted(langs)
    )
    monolingual_flagged = sum(1 for _, text in long if identifier.report(text, None).mixed)
    return {
        "profile": name,
        "short_n": len(short),
        "short_accuracy": round(short_accuracy, 3),
        "short_ms": round(short_ms, 2),
        "arabic_script_short": f"{arabic_right}/{len(arabic_script)}",
        "long_n": len(long),
        "long_accuracy": round(long_accuracy, 3),
        "long_ms": round(long_ms, 2),
        "mixed_found": f"{mixed_right}/{len(mixed)}",
        "monolingual_flagged_mixed": monolingual_flagged,
        "warm_up_s": round(warm_up_s, 2),
        "rss_added_after_warm_up_mb": round((after_warm_up - baseline) / 2**20),
        "rss_added_after_run_mb": round((process.memory_info().rss - baseline) / 2**20),
        "errors": errors,
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--profile":
        print(json.dumps(run_profile(sys.argv[2])))
        return
    print(f"command: .venv/bin/python tests/benchmarks/language.py   (cpus: {os.cpu_count()})")
    header = (
        f"{'profile':40} {'short acc':>9} {'ar-script':>9} {'long acc':>8} {'mixed':>5} {'false mix':>9} "
        f"{'ms short':>8} {'ms long':>7} {'warm s':>6} {'RSS warm':>8} {'RSS run':>7}"
    )
    print(header)
    results = []
    for name in PROFILES:
        output = subprocess.run(
            [sys.executable, __file__, "--profile", name], capture_output=True, text=True, check=True
        ).stdout
        result = json.loads(output)
        results.append(result)
        print(
            f"{name:40} {result['short_accuracy']:>9} {result['arabic_script_short']:>9} "
            f"{result['long_accuracy']:>8} {result['mixed_found']:>5} {result['monolingual_flagged_mixed']:>9} "
            f"{result['short_ms']:>8} {result['long_ms']:>7} {result['warm_up_s']:>6} "
            f"{result['rss_added_after_warm_up_mb']:>7}M {result['rss_added_after_run_mb']:>6}M"
        )
    print(f"short texts: {results[0]['short_n']}, long texts: {results[0]['long_n']}")
    for result in results:
        if result["profile"] == DEFAULT_PROFILE.name:
            print(f"errors of the default profile ({DEFAULT_PROFILE.name}):")
            for error in result["errors"]:  # type: ignore[attr-defined]
                print("  " + error)


if __name__ == "__main__":
    main()
