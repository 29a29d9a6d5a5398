"""The articles filter's byte-level pre-test never rejects an event the full filter would accept."""

from __future__ import annotations

import json

from hypothesis import assume, given
from hypothesis import strategies as st

from newswire.console.articles import ArticleFilter, may_contain

# Letters whose case folding is tricky (ß, İ, ſ, the Kelvin sign, ligatures) beside plain ones and Arabic.
TRICKY = "aAbBkKsSiIß\u0130\u017f\u212a\ufb00\ufb01\u1e9eéÉقال "


@given(field=st.text(alphabet=TRICKY, min_size=1, max_size=12), upper=st.booleans(), padding=st.text(max_size=20))
def test_a_field_that_folds_to_the_value_always_passes(field: str, upper: bool, padding: str) -> None:
    value = field.upper() if upper else field.casefold()
    if value.casefold() != field.casefold():
        return
    data = json.dumps({"before": padding, "name": field}, ensure_ascii=False).encode()
    assert may_contain(data, value)


def test_an_ascii_value_absent_from_the_bytes_is_rejected_without_decoding() -> None:
    data = json.dumps({"language": "ar", "entities": [{"id": "Q7747", "name": "Vladimir Putin"}]},
                      ensure_ascii=False).encode()
    assert may_contain(data, "q7747") and may_contain(data, "VLADIMIR PUTIN")
    assert not may_contain(data, "Q649")
    assert not ArticleFilter(language="en").may_accept(data)
    assert ArticleFilter(language="AR", entity="Q7747").may_accept(data)
    regional = json.dumps({"language": "ar-EG"}).encode()
    assert ArticleFilter(language="ar").may_accept(regional)
    assert not ArticleFilter(language="a").may_accept(regional)
    # A value the pre-test cannot judge on bytes passes to the full filter.
    assert may_contain(data, "موسكو") and may_contain(data, 'say "hi"')


words = st.text(alphabet=TRICKY + "-:Q0123", min_size=1, max_size=8)


@given(
    language=words, qcode=words, label=words, entity_id=words, name=words, source=words,
    pick=st.sampled_from(["language", "topic", "entity", "source"]), upper=st.booleans(), regional=st.booleans(),
)
def test_the_pre_test_never_rejects_an_article_the_filter_accepts(
    language: str, qcode: str, label: str, entity_id: str, name: str, source: str, pick: str, upper: bool,
    regional: bool,
) -> None:
    article = {
        "language": f"{language}-eg" if regional else language,
        "topics": [{"qcode": qcode, "label": label, "score": 0.5}],
        "entities": [{"id": entity_id, "name": name, "type": "PERSON"}],
        "source": {"name": source},
    }
    value = {"language": language, "topic": qcode, "entity": name, "source": source}[pick]
    wanted = ArticleFilter(**{pick: value.upper() if upper else value})
    data = json.dumps(article, ensure_ascii=False, separators=(",", ":")).encode()
    assume(wanted.accepts(article))
    assert wanted.may_accept(data)
