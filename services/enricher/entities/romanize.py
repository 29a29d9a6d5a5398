"""A readable Latin-script form of an Arabic name, for entities that are not in the knowledge base.

Unvocalised Arabic does not say which short vowels to read, so this is a romanisation for recognition by a
reader ("بيسكوف" -> "Biskuf", "عبد الله" -> "Abd Allah"), not a standard transliteration; it is deterministic.
"""

from __future__ import annotations

from newswire.enricher.entities.normalize import is_arabic, normalize_text

_CONSONANTS = {
    "ب": "b",
    "ت": "t",
    "ث": "th",
    "ج": "j",
    "ح": "h",
    "خ": "kh",
    "د": "d",
    "ذ": "dh",
    "ر": "r",
    "ز": "z",
    "س": "s",
    "ش": "sh",
    "ص": "s",
    "ض": "d",
    "ط": "t",
    "ظ": "z",
    "غ": "gh",
    "ف": "f",
    "ق": "q",
    "ك": "k",
    "ل": "l",
    "م": "m",
    "ن": "n",
    "ه": "h",
    "ڤ": "v",
    "پ": "p",
    "چ": "ch",
    "گ": "g",
}
_SILENT = {"ع", "ء"}
# Normalised forms: hamza seats are bare alef, ta marbuta is ha, alef maqsura is ya (see normalize.py).
_WORD_FINAL_HA = "ه"
_FIXED = {"الله": "Allah", "عبد": "Abd", "بن": "bin", "ابن": "ibn", "ابو": "Abu", "بنت": "bint"}


def _romanize_word(word: str) -> str:
    if word in _FIXED:
        return _FIXED[word]
    out: list[str] = []
    if word.startswith("ال") and len(word) > 3:
        out.append("al-")
        word = word[2:]
    for index, ch in enumerate(word):
        first, last = index == 0, index == len(word) - 1
        after_vowel = bool(out) and out[-1][-1:] in "aiu"
        if ch == "ا":
            out.append("" if out and out[-1].endswith("a") else "a")
        elif ch in "وي":
            # A consonant at the start, after a vowel or before alef (رياض -> Riyad), else a long vowel.
            consonant = first or after_vowel or word[index + 1 : index + 2] == "ا"
            vowel = "u" if ch == "و" else "i"
            if consonant:
                out.append(("w" if ch == "و" else "y") if first or after_vowel else vowel + ("w" if ch == "و" else "y"))
            else:
                out.append(vowel)
        elif ch == _WORD_FINAL_HA and last and index > 1:
            out.append("a")
        elif ch in _SILENT:
            out.append("a" if first else "" if last else "'")
        elif ch in _CONSONANTS:
            out.append(_CONSONANTS[ch])
        elif ch.isascii():
            out.append(ch)
    text = "".join(out).replace("''", "'")
    if len(text) > 1 and not any(vowel in text for vowel in "aiu"):
        # No long vowel written at all ("محمد", "بن"): read a short a after the first consonant.
        text = text[:1] + "a" + text[1:]
    return text[:1].upper() + text[1:] if not text.startswith("al-") else "al-" + text[3:4].upper() + text[4:]


def romanize(name: str) -> str:
    """Latin-script form of an Arabic name, words capitalised; text without Arabic letters comes back unchanged."""
    if not is_arabic(name):
        return name
    norm, _ = normalize_text(name)
    words = [_romanize_word(word) for word in norm.split()]
    romanized = " ".join(word for word in words if word)
    return romanized or name
