"""The registry of newswire's stages, in pipeline order: raw -> cleaned -> enriched -> published.

Each factory imports its stage's code when called, so `newswire run cleaner` never loads the
enricher's models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from newswire.runtime.stage import Stage

if TYPE_CHECKING:
    from newswire.runtime.delivery import StageProcessor
    from newswire.runtime.settings import Settings


def _cleaner(settings: Settings) -> StageProcessor:
    from newswire.cleaner.wiring import CleanerStage

    return CleanerStage(settings)


def _enricher(settings: Settings) -> StageProcessor:
    from newswire.enricher.wiring import EnricherStage

    return EnricherStage(settings)


def _publisher(settings: Settings) -> StageProcessor:
    from newswire.publisher.wiring import PublisherStage

    return PublisherStage(settings)


def _published_retention(settings: Settings) -> int:
    return settings.published_maxlen


def _published_byte_budget(settings: Settings) -> int:
    return settings.published_max_bytes


PIPELINE: tuple[Stage, ...] = (
    Stage("cleaner", input="raw", output="cleaned", processor=_cleaner),
    Stage("enricher", input="cleaned", output="enriched", processor=_enricher),
    Stage(
        "publisher",
        input="enriched",
        output="published",
        processor=_publisher,
        retention=_published_retention,
        retention_bytes=_published_byte_budget,
    ),
)
STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in PIPELINE)


def stage_named(name: str) -> Stage:
    """The registered stage called `name`; ValueError naming the choices otherwise."""
    for stage in PIPELINE:
        if stage.name == name:
            return stage
    raise ValueError(f"unknown stage {name!r}; choose one of {', '.join(STAGE_NAMES)}")
