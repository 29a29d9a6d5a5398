"""A published event as an IPTC ninjs 2.2 news item ("News in JSON").

IPTC Media Topics become `subjects` with their concept URIs; entities linked to Wikidata carry their
Wikidata entity URIs in `people`, `organisations`, `places`, `events` (and `subjects` for other kinds).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from newswire.schemas import PublishedArticle
from newswire.schemas.articles import EntityType
from newswire.schemas.published import ArticleEntity

NINJS_VERSION = "2.2"
NINJS_SCHEMA = "http://www.iptc.org/std/ninjs/ninjs-schema_2.2.json"
MEDIATOPIC_URI = "http://cv.iptc.org/newscodes/mediatopic/"
WIKIDATA_ENTITY_URI = "http://www.wikidata.org/entity/"
# Who assigned the metadata, in ninjs `subjects[].creator`.
CREATOR = "newswire"

_ENTITY_LISTS = {
    EntityType.PERSON: "people",
    EntityType.ORG: "organisations",
    EntityType.LOC: "places",
    EntityType.EVENT: "events",
    EntityType.MISC: "subjects",
}


def article_uri(article_id: str) -> str:
    """The ninjs `uri` of an article: the same for every revision (`version` tells them apart)."""
    return "urn:newswire:article:" + quote(article_id, safe="")


def to_ninjs(event: dict[str, Any]) -> dict[str, Any]:
    """Render a published event (attributes plus parsed `data`) as a ninjs 2.2 object."""
    article = PublishedArticle.model_validate(event["data"])
    item: dict[str, Any] = {
        "uri": article_uri(article.article_id),
        "standard": {"name": "ninjs", "version": NINJS_VERSION, "schema": NINJS_SCHEMA},
        "type": "text",
        "representationtype": "full",
        "version": str(article.revision),
        "pubstatus": "usable",
        "firstcreated": _time(article.published_at or article.received_at),
        "versioncreated": _time(_version_time(article)),
    }
    if article.language:
        item["language"] = article.language
    if article.headline:
        item["headlines"] = [{"role": "main", "value": article.headline}]
    if article.summary:
        item["descriptions"] = [{"role": "summary", "value": article.summary}]
    item["bodies"] = [
        {"role": "main", "contenttype": "text/plain", "charcount": len(article.body),
         "wordcount": article.word_count, "value": article.body}
    ]
    if article.authors:
        item["by"] = ", ".join(article.authors)
    item.update(_subjects_and_entities(article))
    source = _infosource(article)
    if source:
        item["infosources"] = [source]
    if article.url:
        item["renditions"] = [{"name": "web", "href": article.url, "contenttype": "text/html"}]
    pictures = _pictures(article)
    if pictures:
        item["associations"] = pictures
    item["altids"] = [{"role": "newswire-event-id", "value": str(event.get("id") or "")}]
    if article.duplicate_of is not None:
        item["altids"].append({"role": "newswire-duplicate-of", "value": article.duplicate_of.article_id})
    return item


def _time(value: Any) -> str:
    return str(value.isoformat().replace("+00:00", "Z"))


def _version_time(article: PublishedArticle) -> Any:
    # The first revision is the version the publication put out; later ones are newswire's updates.
    if article.modified_at is not None:
        return article.modified_at
    if article.revision == 1 and article.published_at is not None:
        return article.published_at
    return article.received_at


def _subjects_and_entities(article: PublishedArticle) -> dict[str, list[dict[str, Any]]]:
    lists: dict[str, list[dict[str, Any]]] = {}
    for topic in article.topics:
        lists.setdefault("subjects", []).append(
            {
                "name": topic.label,
                "rel": "about",
                "uri": MEDIATOPIC_URI + topic.qcode.split(":", 1)[-1],
                "literal": topic.qcode,
                "creator": CREATOR,
                "relevance": round(topic.score * 100),
            }
        )
    for entity in article.entities:
        lists.setdefault(_ENTITY_LISTS[entity.type], []).append(_entity(entity))
    return lists


def _entity(entity: ArticleEntity) -> dict[str, Any]:
    described: dict[str, Any] = {"name": entity.name, "rel": "mentioned"}
    if entity.id.startswith("Q") and entity.id[1:].isdigit():
        described["uri"] = WIKIDATA_ENTITY_URI + entity.id
    else:
        described["literal"] = entity.id
    return described


def _infosource(article: PublishedArticle) -> dict[str, Any] | None:
    source = article.source
    name = source.name or source.domain or source.label
    if not name:
        return None
    described: dict[str, Any] = {"name": name, "role": "publisher"}
    if source.domain:
        described["uri"] = f"https://{source.domain}/"
    return described


def _pictures(article: PublishedArticle) -> list[dict[str, Any]]:
    pictures = []
    for number, image in enumerate(article.images, start=1):
        if not image.url:
            continue
        picture: dict[str, Any] = {
            "name": f"image{number}",
            "uri": image.url,
            "type": "picture",
            "renditions": [{"name": "original", "href": image.url}],
        }
        if image.caption:
            picture["descriptions"] = [{"role": "caption", "value": image.caption}]
        if image.credit:
            picture["copyrightholder"] = image.credit
        pictures.append(picture)
    return pictures
