"""Diagnostic settings: every cluster, registry and the vault send their platform logs to the one workspace."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
from pulumi_azure_native import monitor

DIAGNOSTIC_SETTING_NAME = "to-log-analytics"


def send_logs_to_workspace(
    logical_name: str,
    *,
    resource_id: pulumi.Input[str],
    workspace_id: pulumi.Input[str],
    parent: pulumi.Resource,
    log_categories: Sequence[str] = (),
    resource_specific_tables: bool = True,
) -> monitor.DiagnosticSetting:
    """Route logs and metrics to the workspace, in resource-specific tables where the resource type keeps that setting.

    Without explicit categories the `allLogs` category group is sent; AKS names its categories because `allLogs` on
    a cluster includes `kube-audit`, whose volume dwarfs everything else while `kube-audit-admin` keeps the writes.
    """
    logs = (
        [monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True) for category in log_categories]
        if log_categories
        else [monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)]
    )
    return monitor.DiagnosticSetting(
        logical_name,
        name=DIAGNOSTIC_SETTING_NAME,
        resource_uri=resource_id,
        workspace_id=workspace_id,
        log_analytics_destination_type="Dedicated" if resource_specific_tables else None,
        logs=logs,
        metrics=[monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)],
        opts=pulumi.ResourceOptions(parent=parent),
    )
