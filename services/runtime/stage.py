"""A stage as the runtime sees it: a declared object (name, streams, processor factory), run as given.

The runtime never imports a stage's code: the command line assembles the stages to run from the
registry in `newswire.stages` and hands them to `newswire.runtime.app.Pipeline`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from newswire.runtime.delivery import StageProcessor
    from newswire.runtime.settings import Settings, StreamKeys


def _keep_all(_settings: Settings) -> int:
    return 0


@dataclass(frozen=True, slots=True)
class Stage:
    """One step of the pipeline: reads `input`, writes `output` (stream names without the prefix).

    `processor` builds the per-entry work from the settings (it is called once per process, so a
    stage's models load only in the processes that run it); `retention` gives the approximate length
    the output stream is trimmed to (0 keeps all), `retention_bytes` the approximate memory it may use
    per partition (0: no byte budget); both apply, whichever trims more.
    """

    name: str
    input: str
    output: str
    processor: Callable[[Settings], StageProcessor]
    retention: Callable[[Settings], int] = _keep_all
    retention_bytes: Callable[[Settings], int] = _keep_all

    def input_stream(self, keys: StreamKeys) -> str:
        return keys.stream(self.input)

    def output_stream(self, keys: StreamKeys) -> str:
        return keys.stream(self.output)
