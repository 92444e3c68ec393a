"""Monitoring rules: every alert reaches a person, every resource is tagged with its environment, and the
monitored resources send their logs to the workspace."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pulumi_policy import Severity

from .clusters import CLUSTER
from .common import (
    ENVIRONMENT_TAG,
    ENVIRONMENTS,
    RESOURCE_GROUP,
    About,
    Props,
    depends_on,
    environment,
    items,
    lookup,
    resource_rule,
    stack_rule,
)
from .registries import REGISTRY
from .sources import REFERENCE_ARCHITECTURE, architecture
from .vault import VAULT

DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
LOG_ALERT = "azure-native:monitor:ScheduledQueryRule"
HEALTH_ALERT = "azure-native:monitor:ActivityLogAlert"


def _environment_tag(props: Props) -> Iterable[str]:
    if environment(props) not in ENVIRONMENTS:
        yield f"tags.{ENVIRONMENT_TAG} must be one of {list(ENVIRONMENTS)}, got {environment(props)!r}"


def _alert_reaches_a_person(props: Props) -> Iterable[str]:
    # The three rule types spell their actions differently: a list of {actionGroupId}, {actionGroups: [id]} and
    # {actionGroups: [{actionGroupId}]}.
    actions = props.get("actions")
    groups = items(actions) or items(lookup(actions, "actionGroups"))
    if not groups:
        yield "actions must name an action group: an alert without one notifies nobody"
    if props.get("enabled") is False:
        yield "enabled must not be false"


MONITORED = (CLUSTER, REGISTRY, VAULT)


def _diagnostics(resources: Sequence[Any]) -> Iterable[tuple[str, str | None]]:
    settings = [resource for resource in resources if resource.resource_type == DIAGNOSTIC_SETTING]
    for resource in resources:
        if resource.resource_type in MONITORED and not any(depends_on(s, resource) for s in settings):
            yield f"{resource.name}: no diagnostic setting sends its logs to Log Analytics", resource.urn


ACTION_GROUPS = "https://learn.microsoft.com/azure/azure-monitor/alerts/action-groups"
TAGGING = "https://learn.microsoft.com/azure/cloud-adoption-framework/ready/azure-best-practices/resource-tagging"
DIAGNOSTIC_SETTINGS = "https://learn.microsoft.com/azure/azure-monitor/essentials/diagnostic-settings"
POLICIES: list[Any] = [
    resource_rule(
        "alert-action-group",
        "Every alert rule is enabled and sends to an action group, so a firing alert reaches a person.",
        (METRIC_ALERT, LOG_ALERT, HEALTH_ALERT),
        _alert_reaches_a_person,
        About(
            architecture(ACTION_GROUPS, "an alert rule notifies people through an action group"),
            Severity.MEDIUM,
            "Pass the stack's action group to the alert (components/alerts.py) and leave it enabled.",
        ),
    ),
    resource_rule(
        "azure-environment-tag",
        "The resource group, clusters, registries and vault carry tags.environment = dev or prod; the prod-only "
        "rules key off it.",
        (RESOURCE_GROUP, CLUSTER, REGISTRY, VAULT),
        _environment_tag,
        About(
            architecture(TAGGING, "tag resources with their environment"),
            Severity.LOW,
            "Set aks-estate:environment to dev or prod; components/estate.py tags every Azure resource with it.",
        ),
    ),
    stack_rule(
        "diagnostics-on-monitored-resources",
        "Every AKS cluster, container registry and key vault has a diagnostic setting (components/diagnostics.py).",
        _diagnostics,
        About(
            architecture(REFERENCE_ARCHITECTURE, "Azure Monitor collects the clusters' and services' logs (step 9)"),
            Severity.MEDIUM,
            "Add a diagnostic setting wired to the resource's ID that sends to the Log Analytics workspace "
            "(components/diagnostics.py).",
        ),
    ),
]
