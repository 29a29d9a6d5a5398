"""Near-duplicate signatures: the same story with edits is close, different stories are far."""

from __future__ import annotations

from newswire.publisher.near_duplicates import BANDS, Signature, normalise, signature
from tests.support import load_gold

BODY = "\n\n".join(load_gold()["cleaned"]["body_paragraphs_in_order"])
OTHER = (
    "The central bank raised its main interest rate by half a percentage point on Thursday, the third increase "
    "this year, as inflation stayed well above its target. Economists had expected a smaller move. The governor "
    "said further increases could not be ruled out if prices kept rising at the current pace through the winter."
)


def test_normalise_folds_case_accents_arabic_variants_and_punctuation() -> None:
    assert normalise("Élysée,  PALACE!") == "elysee palace"
    assert normalise("أعلنت الحكومةُ ـــ الجديدة") == normalise("اعلنت الحكومه الجديده")


def test_identical_text_has_similarity_one() -> None:
    first, second = signature(BODY), signature(BODY)
    assert first is not None and second is not None
    assert first.similarity(second) == 1.0


def test_a_syndicated_copy_with_changed_boilerplate_and_trimmed_paragraphs_is_close() -> None:
    paragraphs = BODY.split("\n\n")
    copy = "شارك الخبر\n\n" + "\n\n".join(paragraphs[1:-2]) + "\n\nالمصدر: وكالات"
    original, syndicated = signature(BODY), signature(copy)
    assert original is not None and syndicated is not None
    assert original.similarity(syndicated) >= 0.7
    assert set(original.bands()) & set(syndicated.bands())


def test_different_stories_are_far_apart() -> None:
    first, second = signature(BODY), signature(OTHER)
    assert first is not None and second is not None
    assert first.similarity(second) < 0.2


def test_short_texts_get_no_signature() -> None:
    assert signature("Breaking: markets fall.") is None


def test_signatures_survive_encoding_and_bands_are_stable() -> None:
    original = signature(OTHER)
    assert original is not None
    assert Signature.decode(original.encode()) == original
    assert len(original.bands()) == BANDS
    assert original.bands() == signature(OTHER).bands()  # type: ignore[union-attr]
