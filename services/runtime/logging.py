"""structlog set-up: readable on a terminal, one JSON object per line elsewhere.

JSON lines go through orjson into a buffered stream that the workers flush once per batch (and
every second), because writing and flushing one line per article per stage cost about a third of
a stage's time in the pass-through benchmark. Warnings and errors are flushed at once.
"""

from __future__ import annotations

import atexit
import io
import logging
import sys
from typing import Any

import orjson
import structlog

from newswire.runtime.settings import Settings

_buffer: io.BufferedWriter | None = None


class BufferedLineLogger:
    """A structlog logger writing bytes lines to a buffered stream; info and below wait for `flush_logs`."""

    def __init__(self, stream: io.BufferedWriter) -> None:
        self._write = stream.write
        self._flush = stream.flush

    def msg(self, message: bytes) -> None:
        self._write(message + b"\n")

    def urgent(self, message: bytes) -> None:
        self._write(message + b"\n")
        self._flush()

    log = debug = info = msg
    warn = warning = fatal = failure = err = error = critical = exception = urgent


def flush_logs() -> None:
    """Write out buffered log lines (called after each batch and by the heartbeat)."""
    if _buffer is not None:
        _buffer.flush()


def configure_logging(settings: Settings) -> None:
    """Route structlog and the standard library (FastStream, redis-py) through one renderer to stderr."""
    global _buffer
    as_json = settings.log_format == "json" or (settings.log_format == "auto" and not sys.stderr.isatty())
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    level = logging.getLevelNamesMapping()[settings.log_level]
    logger_factory: Any
    if as_json:
        if _buffer is None:
            _buffer = io.BufferedWriter(io.FileIO(sys.stderr.fileno(), "wb", closefd=False), buffer_size=1 << 16)
            atexit.register(flush_logs)
        stream = _buffer
        renderer: structlog.types.Processor = structlog.processors.JSONRenderer(serializer=orjson.dumps)
        logger_factory = lambda *_args: BufferedLineLogger(stream)  # noqa: E731
        stdlib_renderer: structlog.types.Processor = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        logger_factory = structlog.PrintLoggerFactory(file=sys.stderr)
        stdlib_renderer = renderer
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=logger_factory,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, stdlib_renderer],
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(level, logging.INFO))
    # trafilatura and htmldate log every page they find hard; the stage's own line says what matters.
    for noisy in ("trafilatura", "htmldate", "courlan", "charset_normalizer"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
