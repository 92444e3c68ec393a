from typing import Any

import pytest
from azure.monitor.opentelemetry.exporter._utils import _get_cloud_role
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_NAMESPACE, Resource
from opentelemetry.sdk.trace import TracerProvider

from service import telemetry
from service.config import Settings
from service.telemetry import configure_telemetry


def test_telemetry_stays_off_without_a_connection_string() -> None:
    assert configure_telemetry(Settings()) is False
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)


def test_the_resource_takes_the_namespace_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # CI and the stages set OpenTelemetry's standard variable; the exporter names the cloud role
    # "<service.namespace>.<service.name>" (azure-monitor-opentelemetry-exporter, _utils.py
    # _get_cloud_role), the name the production alerts tell stages apart by.
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.namespace=ci")
    sent: dict[str, Any] = {}
    monkeypatch.setattr(telemetry, "configure_azure_monitor", lambda **kwargs: sent.update(kwargs))
    settings = Settings(service_name="orders", appinsights_connection_string="InstrumentationKey=0")

    assert configure_telemetry(settings)

    resource = sent["resource"]
    assert isinstance(resource, Resource)
    assert resource.attributes[SERVICE_NAMESPACE] == "ci"
    assert resource.attributes[SERVICE_NAME] == "orders"
    assert _get_cloud_role(resource) == "ci.orders"
