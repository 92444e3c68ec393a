"""Production's Application Insights alerts count production only: each run reports its stage as OpenTelemetry's
service.namespace, and the alerts leave out the role names of staging and CI.

One Application Insights component receives CI's integration tests, staging and production. Every OTel SDK reads
OTEL_RESOURCE_ATTRIBUTES (opentelemetry-python opentelemetry/sdk/resources/__init__.py OTELResourceDetector, merged
by Resource.create), and the Azure Monitor exporter names the cloud role "<service.namespace>.<service.name>"
(azure-monitor-opentelemetry-exporter azure/monitor/opentelemetry/exporter/_utils.py _get_cloud_role). The starter's
own unit test (templates/service/tests/unit/test_telemetry.py) proves its resource takes the namespace.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from typing import Any, cast

import pytest

from components import config
from components.naming import CI_TELEMETRY_NAMESPACE
from components.service_files.layout import CI_PIPELINE_PATH
from tests.conftest import SHOP_SERVICES
from tests.helpers import APP_INSIGHTS, METRIC_ALERT, stack_config
from tests.test_pipeline_files import ALL, LEDGER, ORDERS, STARTER_DOCKERFILE, compiled, kind, manifest, tasks
from tools import capture
from tools.capture import Capture, Registration

STAGES = ("staging", "production")
ROLE_DIMENSION = "cloud/roleName"
SHOP = [str(cast("dict[str, Any]", service)["name"]) for service in SHOP_SERVICES]


def _attributes(value: str) -> dict[str, str]:
    """OTEL_RESOURCE_ATTRIBUTES as the SDK's environment detector splits it: comma-separated key=value."""
    return dict(item.split("=", 1) for item in value.split(",") if item)


def deployment_namespace(content: str) -> str | None:
    """The service.namespace the rendered Deployment's container reports, if any."""
    (deployment,) = kind(content, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {variable["name"]: variable.get("value") for variable in container["env"]}
    return _attributes(env.get("OTEL_RESOURCE_ATTRIBUTES") or "").get("service.namespace")


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_deployment_reports_its_stage_as_the_namespace(stage: str) -> None:
    for service in ALL:
        assert deployment_namespace(manifest(service, stage)) == stage, service.name


def test_a_deployment_without_the_namespace_is_caught() -> None:
    content = manifest(ORDERS, "staging")
    planted = re.sub(r"(?m)^.*OTEL_RESOURCE_ATTRIBUTES.*\n.*\n", "", content)
    assert planted != content
    assert deployment_namespace(planted) is None


def integration_telemetry(document: dict[str, Any]) -> dict[str, str]:
    """What CI's integration tests report as: the service name and OTel attributes their step hands them."""
    (build,) = [job for job in document["jobs"] if job["job"] == "BuildAndTest"]
    python = [step for step in tasks(build, "AzureCLI@2") if "tests/integration" in json.dumps(step)]
    container = [step for step in build["steps"] if "integration-test-results" in step.get("bash", "")]
    (step,) = python or container
    env: dict[str, Any] = step.get("env", {})
    # The container template maps its `env` object with `${{ insert }}`, which Azure Pipelines merges into the mapping
    # and tools/pipeline_links.expand leaves as a key.
    env = {**{k: v for k, v in env.items() if k != "${{ insert }}"}, **env.get("${{ insert }}", {})}
    if container:
        # A container build sees only the variables passed as build arguments.
        passed = set(re.findall(r"--build-arg (\w+)", step["bash"]))
        env = {name: value for name, value in env.items() if name in passed}
    return {"service": env.get("SERVICE_NAME", ""), **_attributes(env.get("OTEL_RESOURCE_ATTRIBUTES", ""))}


@pytest.mark.parametrize("service", [ORDERS, LEDGER], ids=lambda service: service.build)
def test_ci_integration_tests_report_in_the_ci_namespace(service: Any) -> None:
    telemetry = integration_telemetry(compiled(service, CI_PIPELINE_PATH))
    assert telemetry == {"service": service.name, "service.namespace": CI_TELEMETRY_NAMESPACE}


def _without(document: Any, text: str) -> Any:
    return json.loads(json.dumps(document).replace(text, "--build-arg NOTHING"))


@pytest.mark.parametrize(
    ("service", "plant"),
    [
        (ORDERS, lambda document: json.loads(json.dumps(document).replace("service.namespace=ci", ""))),
        (LEDGER, lambda document: _without(document, "--build-arg OTEL_RESOURCE_ATTRIBUTES")),
    ],
    ids=["python-without-the-namespace", "container-without-the-build-argument"],
)
def test_ci_integration_tests_outside_the_namespace_are_caught(
    service: Any, plant: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    telemetry = integration_telemetry(plant(compiled(service, CI_PIPELINE_PATH)))
    assert telemetry.get("service.namespace") != CI_TELEMETRY_NAMESPACE


def test_the_starter_integration_stage_declares_the_build_arguments_ci_passes() -> None:
    stage = STARTER_DOCKERFILE.split("FROM test AS integration-test\n", 1)[1].split("\nFROM ", 1)[0]
    passed = set(re.findall(r"--build-arg (\w+)", json.dumps(compiled(LEDGER, CI_PIPELINE_PATH))))
    assert passed == {"SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"}
    assert set(re.findall(r"(?m)^ARG (\w+)$", stage)) == passed


def excluded_role_names(rule: Registration) -> set[str] | None:
    """The role names an Application Insights metric alert leaves out, or None when it counts every role."""
    (criterion,) = rule.inputs["criteria"]["allOf"]
    dimensions = [d for d in criterion.get("dimensions") or [] if d["name"] == ROLE_DIMENSION]
    if [d["operator"] for d in dimensions] != ["Exclude"] or len(criterion["dimensions"]) != 1:
        return None
    return set(dimensions[0]["values"])


def app_insights_alerts(estate: Capture) -> list[Registration]:
    (component,) = estate.of_type(APP_INSIGHTS)
    return [rule for rule in estate.of_type(METRIC_ALERT) if rule.inputs["scopes"] == [component.id]]


def pre_release_roles(services: list[str]) -> set[str]:
    return {f"{namespace}.{name}" for name in services for namespace in ("staging", "ci")}


def misdimensioned_alerts(estate: Capture, services: list[str]) -> list[str]:
    """Application Insights alerts that do not leave out exactly every service's staging and CI role names."""
    expected = pre_release_roles(services)
    return [rule.name for rule in app_insights_alerts(estate) if excluded_role_names(rule) != expected]


def _services(stack: str) -> list[str]:
    return [service.name for service in config.parse(stack_config(stack)).services]


def test_every_app_insights_alert_leaves_out_staging_and_ci_of_every_service(estate: Capture, shop: Capture) -> None:
    for stack, services in ((estate, _services(estate.stack)), (shop, SHOP)):
        assert len(app_insights_alerts(stack)) == 3
        assert services
        assert misdimensioned_alerts(stack, services) == []


def test_each_app_insights_alert_says_its_threshold_is_per_service(estate: Capture) -> None:
    # A dimension makes Azure Monitor watch each remaining role as its own series (azure-monitor-docs
    # alerts/alerts-metric-multiple-time-series-single-rule.md): the threshold is per service, and the alert says so
    # to whoever it pages, as the README's `alerts` row does.
    assert all(rule.inputs["description"].endswith(" per cloud role (service)") for rule in app_insights_alerts(estate))
    readme = (capture.ROOT / "README.md").read_text()
    (row,) = [line for line in readme.splitlines() if line.startswith("| `alerts` |")]
    assert "these three per service" in row


def _replace_criterion(rule: Registration, change: Callable[[dict[str, Any]], None]) -> Registration:
    inputs = json.loads(json.dumps(rule.inputs))
    change(inputs["criteria"]["allOf"][0])
    return dataclasses.replace(rule, inputs=inputs)


def _planted(estate: Capture, change: Callable[[dict[str, Any]], None]) -> Capture:
    target = app_insights_alerts(estate)[0]
    resources = [_replace_criterion(r, change) if r is target else r for r in estate.resources]
    return dataclasses.replace(estate, resources=resources)


def _drop_dimension(criterion: dict[str, Any]) -> None:
    criterion.pop("dimensions")


def _drop_a_service(criterion: dict[str, Any]) -> None:
    (dimension,) = criterion["dimensions"]
    dimension["values"] = [value for value in dimension["values"] if not value.endswith(".ledger")]


def _include_instead(criterion: dict[str, Any]) -> None:
    criterion["dimensions"][0]["operator"] = "Include"


@pytest.mark.parametrize("change", [_drop_dimension, _drop_a_service, _include_instead])
def test_an_app_insights_alert_counting_pre_release_telemetry_is_caught(
    shop: Capture, change: Callable[[dict[str, Any]], None]
) -> None:
    assert misdimensioned_alerts(_planted(shop, change), SHOP) == [app_insights_alerts(shop)[0].name]


def test_a_service_the_alerts_do_not_know_is_caught(shop: Capture) -> None:
    assert len(misdimensioned_alerts(shop, [*SHOP, "newcomer"])) == 3
