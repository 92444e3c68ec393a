from __future__ import annotations

from tests.helpers import APP_INSIGHTS, WORKSPACE, only
from tools.capture import Capture


def test_application_insights_is_workspace_based(estate: Capture) -> None:
    workspace = only(estate, WORKSPACE)
    app_insights = only(estate, APP_INSIGHTS)
    assert app_insights.inputs["workspaceResourceId"] == workspace.id
    assert app_insights.inputs["ingestionMode"] == "LogAnalytics"
    assert workspace.urn in app_insights.dependencies


def test_retention_follows_the_stack(dev: Capture, prod: Capture) -> None:
    assert only(dev, WORKSPACE).inputs["retentionInDays"] == 30
    assert only(prod, WORKSPACE).inputs["retentionInDays"] == 90
    assert only(dev, WORKSPACE).inputs["workspaceCapping"] == {"dailyQuotaGb": 5}


def test_workspace_access_follows_resource_permissions(estate: Capture) -> None:
    features = only(estate, WORKSPACE).inputs["features"]
    assert features["enableLogAccessUsingOnlyResourcePermissions"] is True
