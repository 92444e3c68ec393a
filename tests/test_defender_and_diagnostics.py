from __future__ import annotations

import pytest

from components.diagnostics import DIAGNOSTIC_SETTING_NAME
from tests.helpers import CLUSTER, DIAGNOSTIC_SETTING, REGISTRY, VAULT, only
from tools.capture import Capture
from tools.mocks import SUBSCRIPTION_ID

PRICING = "azure-native:security:Pricing"
CONNECTOR = "azure-native:security:SecurityConnector"


@pytest.mark.parametrize("token", [CLUSTER, REGISTRY, VAULT])
def test_every_cluster_registry_and_vault_logs_to_the_workspace(estate: Capture, token: str) -> None:
    workspace = only(estate, "azure-native:operationalinsights:Workspace")
    settings = {s.inputs["resourceUri"]: s.inputs for s in estate.of_type(DIAGNOSTIC_SETTING)}
    for resource in estate.of_type(token):
        setting = settings[resource.id]
        assert setting["workspaceId"] == workspace.id
        assert setting["name"] == DIAGNOSTIC_SETTING_NAME
        assert setting["logs"], f"{resource.name} sends no logs"
        assert all(entry["enabled"] for entry in setting["logs"])
        assert setting["metrics"] == [{"category": "AllMetrics", "enabled": True}]


def test_cluster_logs_keep_the_audit_of_writes_not_every_read(estate: Capture) -> None:
    for resource in estate.of_type(CLUSTER):
        setting = next(s for s in estate.of_type(DIAGNOSTIC_SETTING) if s.inputs["resourceUri"] == resource.id)
        categories = {entry["category"] for entry in setting.inputs["logs"]}
        assert "kube-audit-admin" in categories
        assert "kube-audit" not in categories


def test_prod_owns_the_subscription_defender_plans(prod: Capture) -> None:
    plans = {p.inputs["pricingName"]: p.inputs for p in prod.of_type(PRICING)}
    assert set(plans) == {"Containers", "KeyVaults"}
    for plan in plans.values():
        assert plan["pricingTier"] == "Standard"
        assert plan["scopeId"] == f"/subscriptions/{SUBSCRIPTION_ID}"
    assert plans["KeyVaults"]["subPlan"] == "PerKeyVault"


def test_dev_leaves_subscription_plans_to_the_stack_that_owns_them(dev: Capture) -> None:
    assert dev.of_type(PRICING) == []
    assert dev.of_type(CONNECTOR) == []


def test_prod_connects_defender_for_devops_to_the_organisation(prod: Capture) -> None:
    connector = only(prod, CONNECTOR)
    assert connector.inputs["environmentName"] == "AzureDevOps"
    assert connector.inputs["environmentData"] == {"environmentType": "AzureDevOpsScope"}
    assert connector.inputs["offerings"] == [{"offeringType": "CspmMonitorAzureDevOps"}]
