"""Issue 11's hardening: nodes with encryption at host on ephemeral OS disks that fit their VM size, and telemetry
that refuses key-based (local) authentication in prod. Each rule is shown to refuse a planted mistake."""

from __future__ import annotations

import dataclasses
import json

import pytest

from components import config
from components.cluster import NodePoolArgs, user_pool_name
from components.config_hardening import VM_LOCAL_DISKS
from tests.helpers import APP_INSIGHTS, WORKSPACE, cluster, only, pool, prod_as_dev, stack_config, user_pool
from tools import offline_preview
from tools.capture import Capture

STAGES = ("staging", "production")


@pytest.fixture(scope="module")
def prod_raw() -> dict[str, str]:
    return stack_config("prod")


def _with_pool(raw: dict[str, str], stage: str, pool_key: str, **changes: object) -> dict[str, str]:
    clusters = json.loads(raw["clusters"])
    clusters[stage][pool_key].update(changes)
    return {**raw, "clusters": json.dumps(clusters)}


def _refusal(raw: dict[str, str]) -> str:
    with pytest.raises(config.ConfigError) as error:
        config.parse(raw)
    return str(error.value)


@pytest.mark.parametrize("stage", STAGES)
def test_prod_nodes_run_on_encrypted_ephemeral_os_disks(prod: Capture, stage: str) -> None:
    for inputs in (pool(cluster(prod, stage), "system"), user_pool(prod, stage).inputs):
        assert inputs["osDiskType"] == "Ephemeral"
        assert inputs["enableEncryptionAtHost"] is True
        disks = VM_LOCAL_DISKS[inputs["vmSize"]]
        assert inputs["osDiskSizeGB"] <= max(disks.cache_gib or 0, disks.temp_gib or 0)


@pytest.mark.parametrize("stage", STAGES)
def test_dev_nodes_keep_managed_os_disks(dev: Capture, stage: str) -> None:
    for inputs in (pool(cluster(dev, stage), "system"), user_pool(dev, stage).inputs):
        assert inputs["osDiskType"] == "Managed"
        assert "enableEncryptionAtHost" not in inputs


def test_an_os_disk_larger_than_the_local_disks_is_refused_naming_both(prod_raw: dict[str, str]) -> None:
    message = _refusal(_with_pool(prod_raw, "production", "userPool", vmSize="Standard_DS3_v2", osDiskSizeGb=200))
    assert (
        "aks-estate:clusters.production.userPool.osDiskSizeGb = 200: does not fit an ephemeral OS disk on "
        "Standard_DS3_v2: its cache is 172 GiB and its temporary disk 28 GiB" in message
    )


def test_a_size_without_local_storage_is_refused_for_an_ephemeral_disk(prod_raw: dict[str, str]) -> None:
    message = _refusal(_with_pool(prod_raw, "staging", "systemPool", vmSize="Standard_D4s_v5"))
    assert "clusters.staging.systemPool.osDiskSizeGb = 128: does not fit an ephemeral OS disk on Standard_D4s_v5: " in (
        message
    )
    assert "its cache is none and its temporary disk none" in message


def test_an_unknown_size_is_refused_for_an_ephemeral_disk(prod_raw: dict[str, str]) -> None:
    message = _refusal(_with_pool(prod_raw, "staging", "userPool", vmSize="Standard_E4ds_v5"))
    assert 'clusters.staging.userPool.vmSize = "Standard_E4ds_v5": is not a size whose cache and temporary disk' in (
        message
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"osDiskType": "Managed"}, 'clusters.staging.userPool.osDiskType = "Managed": a prod stack\'s nodes run with'),
        ({"encryptionAtHost": False}, "clusters.staging.userPool.encryptionAtHost = false: a prod stack's nodes run"),
    ],
)
def test_prod_refuses_unhardened_nodes(prod_raw: dict[str, str], changes: dict[str, object], expected: str) -> None:
    assert expected in _refusal(_with_pool(prod_raw, "staging", "userPool", **changes))


def test_a_managed_disk_on_dev_needs_no_local_storage(prod_raw: dict[str, str]) -> None:
    dev = {**_with_pool(prod_raw, "staging", "userPool", vmSize="Standard_E4ds_v5", osDiskType="Managed")}
    dev = _with_pool(prod_as_dev(dev), "staging", "userPool", encryptionAtHost=False)
    assert config.parse(dev).clusters.staging.user_pool.os_disk_type == "Managed"


def test_the_disk_settings_name_a_new_user_pool_but_leave_existing_names_alone() -> None:
    managed = NodePoolArgs("Standard_D4ds_v5", 1, 3, (), 110, 128)
    # The name a pool had before the settings existed (defaults are not part of the hash).
    assert user_pool_name(managed) == user_pool_name(NodePoolArgs("Standard_D4ds_v5", 1, 3, (), 110, 128, "Managed"))
    ephemeral = NodePoolArgs("Standard_D4ds_v5", 1, 3, (), 110, 128, "Ephemeral", True)
    assert user_pool_name(ephemeral) != user_pool_name(managed)


def test_prod_telemetry_accepts_entra_id_only_dev_keeps_keys(dev: Capture, prod: Capture) -> None:
    assert only(prod, WORKSPACE).inputs["features"]["disableLocalAuth"] is True
    assert only(prod, APP_INSIGHTS).inputs["disableLocalAuth"] is True
    assert "disableLocalAuth" not in only(dev, WORKSPACE).inputs["features"]
    assert "disableLocalAuth" not in only(dev, APP_INSIGHTS).inputs


def test_container_insights_needs_no_key_with_local_auth_off(prod: Capture) -> None:
    # The agent authenticates with Entra ID and sends through a data collection rule into the keyless workspace.
    for stage in STAGES:
        omsagent = cluster(prod, stage).inputs["addonProfiles"]["omsagent"]["config"]
        assert omsagent["useAADAuth"] == "true"
    rules = prod.of_type("azure-native:monitor:DataCollectionRule")
    workspace = only(prod, WORKSPACE)
    assert rules
    assert all(
        [d["workspaceResourceId"] for d in r.inputs["destinations"]["logAnalytics"]] == [workspace.id] for r in rules
    )


def test_prod_refuses_key_based_telemetry(prod_raw: dict[str, str]) -> None:
    assert "aks-estate:telemetry.localAuth = true: a prod stack's Application Insights and Log Analytics accept" in (
        _refusal({**prod_raw, "telemetry": json.dumps({"localAuth": True})})
    )


def test_the_summary_asks_for_the_encryption_at_host_feature_only_where_a_pool_uses_it(
    dev: Capture, prod: Capture
) -> None:
    assert offline_preview.ENCRYPTION_AT_HOST_STEP in offline_preview.render_summary(prod, "Pulumi.prod.yaml", [])
    assert offline_preview.ENCRYPTION_AT_HOST_STEP not in offline_preview.render_summary(dev, "Pulumi.dev.yaml", [])


def test_a_private_vault_needs_no_ip_range_step(prod: Capture) -> None:
    summary = offline_preview.render_summary(prod, "Pulumi.prod.yaml", [])
    assert "keyVaultAllowedIpRanges" not in summary
    vault = only(prod, "azure-native:keyvault:Vault")
    opened = {**vault.inputs, "properties": {**vault.inputs["properties"], "publicNetworkAccess": "Enabled"}}
    public = Capture(prod.stack, [dataclasses.replace(r, inputs=opened) if r is vault else r for r in prod.resources])
    assert "keyVaultAllowedIpRanges" in offline_preview.render_summary(public, "Pulumi.prod.yaml", [])
