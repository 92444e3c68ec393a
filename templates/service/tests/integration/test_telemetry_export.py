"""Real telemetry to the Application Insights resource of the connection string under test."""

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import httpx2
import pytest
import uvicorn
from azure.monitor.opentelemetry.exporter import AzureMonitorTraceExporter
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.types import ASGIApp

from service.app import create_app
from service.config import Settings
from service.telemetry import configure_telemetry, telemetry_credential

# CI names the tests' telemetry after the service, in OpenTelemetry's "ci" namespace
# (OTEL_RESOURCE_ATTRIBUTES), so that Application Insights' production alerts leave it out;
# run elsewhere, a name of their own.
SERVICE = os.environ.get("SERVICE_NAME", "").strip() or "service-integration-test"
TIMEOUT_SECONDS = 30.0


def test_connection_string_accepts_a_span(connection_string: str) -> None:
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: SERVICE}))
    recorded = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(recorded))
    with provider.get_tracer(__name__).start_as_current_span("integration-test"):
        pass
    # No offline storage: a rejected span must fail here, not be retried later unseen.
    exporter = AzureMonitorTraceExporter(
        connection_string=connection_string,
        credential=telemetry_credential(Settings.from_env(os.environ)),
        disable_offline_storage=True,
        tracer_provider=provider,
    )

    assert exporter.export(recorded.get_finished_spans()) == SpanExportResult.SUCCESS


@pytest.fixture
def exports(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[ReadableSpan], SpanExportResult]]:
    """Record what the distro's own trace exporter sends and what ingestion answered."""
    recorded: list[tuple[list[ReadableSpan], SpanExportResult]] = []
    export = AzureMonitorTraceExporter.export

    def spy(
        self: AzureMonitorTraceExporter, spans: Sequence[ReadableSpan], **kwargs: object
    ) -> SpanExportResult:
        result = export(self, spans, **kwargs)
        recorded.append((list(spans), result))
        return result

    monkeypatch.setattr(AzureMonitorTraceExporter, "export", spy)
    return recorded


def test_app_exports_request_telemetry(
    connection_string: str,
    exports: list[tuple[list[ReadableSpan], SpanExportResult]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The distro samples at most 5 traces a second by default, which would drop requests at
    # random here; this standard OpenTelemetry setting keeps every one.
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    settings = Settings(
        service_name=SERVICE,
        appinsights_connection_string=connection_string,
        telemetry_entra_auth=Settings.from_env(os.environ).telemetry_entra_auth,
    )
    assert configure_telemetry(settings)

    with serving(create_app(settings)) as base_url:
        assert httpx2.get(f"{base_url}/readyz").status_code == 200
        assert httpx2.get(f"{base_url}/api/v1/info").json()["service"] == SERVICE
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider), "the distro installed no SDK tracer provider"
    assert provider.force_flush(int(TIMEOUT_SECONDS * 1000))

    assert exports, "the app exported no spans"
    assert {result for _, result in exports} == {SpanExportResult.SUCCESS}
    server_spans = [
        span for spans, _ in exports for span in spans if span.kind == trace.SpanKind.SERVER
    ]
    assert [span.name for span in server_spans] == ["GET /api/v1/info"]  # probes are not traced


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """Run the app under uvicorn on a loopback port, in this process, and yield its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait_for(lambda: server.started)
        host, port = sock.getsockname()
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(TIMEOUT_SECONDS)
        sock.close()


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"server did not start within {TIMEOUT_SECONDS} s")
        time.sleep(0.05)
