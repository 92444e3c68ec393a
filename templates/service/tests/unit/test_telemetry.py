from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from service.config import Settings
from service.telemetry import configure_telemetry


def test_telemetry_stays_off_without_a_connection_string() -> None:
    assert configure_telemetry(Settings()) is False
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
