from __future__ import annotations

from components import naming
from tests.helpers import APP_INSIGHTS, KEY_VAULT_SECRET, VAULT, only
from tools.capture import SECRET, Capture


def test_vault_has_no_access_policies_and_no_deployment_access(estate: Capture) -> None:
    # RBAC mode and soft delete are policy rules (keyvault-rbac-authorization, keyvault-soft-delete).
    properties = only(estate, VAULT).inputs["properties"]
    assert "accessPolicies" not in properties
    assert properties["networkAcls"]["bypass"] == "AzureServices"
    assert not any(properties[key] for key in ("enabledForDeployment", "enabledForTemplateDeployment"))


def test_prod_vault_has_no_public_endpoint_while_dev_opens_it_for_hosted_agents(dev: Capture, prod: Capture) -> None:
    properties = only(prod, VAULT).inputs["properties"]
    assert properties["publicNetworkAccess"] == "Disabled"
    assert properties["networkAcls"]["defaultAction"] == "Deny"
    assert properties["networkAcls"]["ipRules"] == []
    assert only(dev, VAULT).inputs["properties"]["publicNetworkAccess"] == "Enabled"
    assert only(dev, VAULT).inputs["properties"]["networkAcls"]["defaultAction"] == "Allow"


def test_purge_protection_is_on_in_prod_and_unset_in_dev(dev: Capture, prod: Capture) -> None:
    assert only(prod, VAULT).inputs["properties"]["enablePurgeProtection"] is True
    assert only(prod, VAULT).inputs["properties"]["softDeleteRetentionInDays"] == 90
    # Azure rejects an explicit false, so dev leaves it out rather than sending one.
    assert "enablePurgeProtection" not in only(dev, VAULT).inputs["properties"]


def test_the_integration_tests_secret_holds_the_app_insights_connection_string(estate: Capture) -> None:
    secret = only(estate, KEY_VAULT_SECRET, named=naming.APPINSIGHTS_SECRET)
    vault = only(estate, VAULT)
    assert secret.inputs["secretName"] == naming.APPINSIGHTS_SECRET
    assert secret.inputs["vaultName"] == vault.inputs["vaultName"]
    # The engine marks the whole `properties` object secret because the value inside it is.
    assert secret.inputs["properties"] == SECRET
    app_insights = only(estate, APP_INSIGHTS)
    assert app_insights.urn in secret.dependencies


def test_vault_is_protected_only_in_prod(dev: Capture, prod: Capture) -> None:
    assert only(prod, VAULT).protect
    assert not only(dev, VAULT).protect


def test_secrets_leave_with_the_vault_not_through_the_firewalled_data_plane(estate: Capture) -> None:
    assert all(secret.retain_on_delete for secret in estate.of_type(KEY_VAULT_SECRET))
    assert not only(estate, VAULT).retain_on_delete
