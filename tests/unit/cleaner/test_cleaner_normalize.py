"""Normalisation keeps the text true: NFC, no invisible controls, no tatweel, ZWNJ kept inside words."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from newswire.cleaner.normalize import comparison_key, normalize_text
from newswire.cleaner.urls import canonical_url, registered_domain


def test_invisible_and_bidi_controls_removed() -> None:
    text = "\ufeffA\u200bB\u200e \u202bC\u202c \u2067D\u2069 soft\u00adware \u061cE"
    assert normalize_text(text) == "AB C D software E"


def test_tatweel_removed_and_letters_kept() -> None:
    assert normalize_text("العـــربي") == "العربي"
    # No letter folding: hamza forms and alef maqsura stay as written.
    assert normalize_text("أإآ ى ة") == "أإآ ى ة"


def test_zwnj_kept_between_letters_only() -> None:
    assert normalize_text("می\u200cخواهم") == "می\u200cخواهم"
    assert normalize_text("\u200cکتاب\u200c ها") == "کتاب ها"
    assert normalize_text("a\u200c\u200cb") == "a\u200cb"


def test_nfc_and_whitespace() -> None:
    assert normalize_text("Cafe\u0301\u00a0 au\tlait \r\nnext  line ") == "Café au lait\nnext line"
    assert normalize_text("a\u2028b") == "a\nb"


def test_comparison_key_folds_turkish_dotted_i() -> None:
    assert comparison_key("İlgili Haberler:") == "ilgili haberler"


@given(st.text())
def test_normalisation_is_idempotent_and_nfc(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert "\u200b" not in once and "\u0640" not in once


def test_canonical_url_strips_tracking() -> None:
    url = "HTTPS://WWW.Example.COM:443/a/b?id=3&utm_source=x&fbclid=y&gclid=z#frag"
    assert canonical_url(None, url) == "https://www.example.com/a/b?id=3"
    assert canonical_url("/canonical", "https://ex.com/a?x=1") == "https://ex.com/canonical"
    assert canonical_url(None, "ftp://ex.com/file") is None


def test_registered_domain() -> None:
    assert registered_domain("https://www.bbc.co.uk/news") == "bbc.co.uk"
    assert registered_domain("https://news.alaraby.co.uk/x") == "alaraby.co.uk"
    assert registered_domain(None) is None
