"""W3C trace context across the stages, and OpenTelemetry spans when NEWSWIRE_OTEL_ENABLED is set.

The `traceparent` a scraper puts beside `data` travels as an entry field through every internal
stream to the published event. With tracing enabled, each stage opens one span per article whose
parent is the incoming traceparent, and hands its own span's traceparent to the next stage, so a
trace shows scraper -> cleaner -> enricher -> publisher. Disabled (the default), OpenTelemetry is
not even imported.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

TRACEPARENT = b"traceparent"


class StageTracer:
    """Opens a span per article for one stage, or does nothing."""

    def __init__(self, stage: str, enabled: bool) -> None:
        self.stage = stage
        self.enabled = enabled
        self._tracer: Any = None
        self._propagator: Any = None
        if enabled:
            from opentelemetry import trace
            from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

            self._tracer = trace.get_tracer("newswire")
            self._propagator = TraceContextTextMapPropagator()

    @contextlib.contextmanager
    def article_span(self, fields: dict[bytes, bytes], stream_id: bytes) -> Iterator[None]:
        """A span for one article's processing, child of the entry's traceparent when it has one."""
        if not self.enabled:
            yield
            return
        incoming = fields.get(TRACEPARENT)
        parent = self._propagator.extract({"traceparent": incoming.decode()}) if incoming else None
        with self._tracer.start_as_current_span(
            f"newswire.{self.stage}",
            context=parent,
            attributes={"messaging.system": "redis", "messaging.message.id": stream_id.decode()},
        ):
            yield

    def outgoing(self, fields: dict[bytes, bytes]) -> bytes | None:
        """The traceparent to hand to the next stage: the current span's, else the one that came in."""
        if self.enabled:
            carrier: dict[str, str] = {}
            self._propagator.inject(carrier)
            if "traceparent" in carrier:
                return carrier["traceparent"].encode()
        return fields.get(TRACEPARENT)


def configure_tracing(service_name: str) -> None:
    """Install the SDK's tracer provider with the OTLP/HTTP exporter (endpoint from OTEL_EXPORTER_OTLP_*).

    Without OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, spans are created but
    not exported, so a provider configured by the embedding application is left alone.
    """
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return  # the embedding application (or a test) configured one already
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
