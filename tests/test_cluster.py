from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from components.cluster import (
    SYSTEM_POOL_TAINT,
    NodePoolArgs,
    _ignored_changes,
    _ignored_pool_changes,
    user_pool_name,
)
from components.container_insights import CONTAINER_INSIGHTS_STREAM
from tests.helpers import AGENT_POOL, ROLE_ASSIGNMENT, WORKSPACE, cluster, only, pool, user_pool
from tools.capture import ROOT, Capture
from tools.mocks import TENANT_ID

STAGES = ["staging", "production"]
DCR = "azure-native:monitor:DataCollectionRule"
DCRA = "azure-native:monitor:DataCollectionRuleAssociation"


def admin_groups(stack_file: Path) -> list[str]:
    return list(yaml.safe_load(stack_file.read_text())["config"]["aks-estate:adminGroupObjectIds"])


def shared_admin_groups(groups: Mapping[str, list[str]]) -> list[str]:
    """Each group two stacks both name as their clusters' admins. Members of a cluster's admin group are its cluster
    admins, and the README asks for each deploy identity in its stack's group: a shared group would make deploy-dev
    cluster admin on prod. No stack can refuse it itself, as each stack's config sees only its own file."""
    return [
        f"{first} and {second} both name {group}"
        for (first, mine), (second, theirs) in itertools.combinations(sorted(groups.items()), 2)
        for group in sorted(set(mine) & set(theirs))
    ]


def test_the_committed_stacks_name_different_admin_groups() -> None:
    groups = {stack: admin_groups(ROOT / f"Pulumi.{stack}.yaml") for stack in ("dev", "prod")}
    assert all(groups.values())
    assert shared_admin_groups(groups) == []


def test_an_admin_group_both_stacks_name_is_reported(tmp_path: Path) -> None:
    (dev_group,) = admin_groups(ROOT / "Pulumi.dev.yaml")
    (prod_group,) = admin_groups(ROOT / "Pulumi.prod.yaml")
    planted = tmp_path / "Pulumi.prod.yaml"
    planted.write_text((ROOT / "Pulumi.prod.yaml").read_text().replace(prod_group, dev_group))
    groups = {"dev": admin_groups(ROOT / "Pulumi.dev.yaml"), "prod": admin_groups(planted)}
    assert shared_admin_groups(groups) == [f"dev and prod both name {dev_group}"]


@pytest.mark.parametrize("stage", STAGES)
def test_entra_id_admins_are_the_configured_group_of_the_signed_in_tenant(estate: Capture, stage: str) -> None:
    # Entra ID, Azure RBAC and no local accounts are policy rules (aks-entra-azure-rbac, aks-local-accounts-disabled).
    aad = cluster(estate, stage).inputs["aadProfile"]
    assert aad["adminGroupObjectIDs"] == admin_groups(ROOT / f"Pulumi.{estate.stack}.yaml")
    # The tenant the provider signs in to (getClientConfig), not a value typed into config.
    assert aad["tenantID"] == TENANT_ID


@pytest.mark.parametrize("stage", STAGES)
def test_the_defender_sensor_reports_to_the_estates_workspace(estate: Capture, stage: str) -> None:
    # Workload identity and the sensor being on are policy rules (aks-workload-identity, aks-defender-sensor).
    workspace = only(estate, WORKSPACE)
    assert (
        cluster(estate, stage).inputs["securityProfile"]["defender"]["logAnalyticsWorkspaceResourceId"] == workspace.id
    )


@pytest.mark.parametrize("stage", STAGES)
def test_system_and_user_pools_autoscale(estate: Capture, stage: str) -> None:
    registration = cluster(estate, stage)
    system, user = pool(registration, "system"), user_pool(estate, stage).inputs
    assert system["mode"] == "System"
    assert user["mode"] == "User"
    for each in (system, user):
        assert each["enableAutoScaling"] is True
        assert 0 <= each["minCount"] <= each["maxCount"]
        assert each["count"] == each["minCount"]
    assert system["nodeTaints"] == [SYSTEM_POOL_TAINT]
    assert "nodeTaints" not in user


def test_prod_spreads_every_pool_over_zones_and_pays_for_the_sla(prod: Capture) -> None:
    for stage in STAGES:
        registration = cluster(prod, stage)
        assert registration.inputs["sku"] == {"name": "Base", "tier": "Standard"}
        assert registration.protect
        assert pool(registration, "system")["availabilityZones"] == ["1", "2", "3"]
        assert user_pool(prod, stage).inputs["availabilityZones"] == ["1", "2", "3"]


def test_dev_may_run_free_tier_without_zones(dev: Capture) -> None:
    registration = cluster(dev, "production")
    assert registration.inputs["sku"]["tier"] == "Free"
    assert "availabilityZones" not in user_pool(dev, "production").inputs
    assert not registration.protect


@pytest.mark.parametrize("stage", STAGES)
def test_cni_overlay_with_network_policy_and_auto_upgrades(estate: Capture, stage: str) -> None:
    inputs = cluster(estate, stage).inputs
    network = inputs["networkProfile"]
    assert network["networkPlugin"] == "azure"
    assert network["networkPluginMode"] == "overlay"
    assert network["networkPolicy"] == "cilium"
    assert network["networkDataplane"] == "cilium"
    assert inputs["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}


@pytest.mark.parametrize("stage", STAGES)
def test_policy_key_vault_csi_and_container_insights_addons(estate: Capture, stage: str) -> None:
    addons = cluster(estate, stage).inputs["addonProfiles"]
    workspace = only(estate, WORKSPACE)
    assert addons["azurepolicy"]["enabled"] is True
    assert addons["azureKeyvaultSecretsProvider"]["enabled"] is True
    assert addons["omsagent"] == {
        "enabled": True,
        "config": {"logAnalyticsWorkspaceResourceID": workspace.id, "useAADAuth": "true"},
    }


@pytest.mark.parametrize("stage", STAGES)
def test_container_insights_rule_is_associated_with_its_own_cluster(estate: Capture, stage: str) -> None:
    registration = cluster(estate, stage)
    rule = only(estate, DCR, named=f"cluster-{stage}-")
    association = only(estate, DCRA, named=f"cluster-{stage}-container-insights-association")
    workspace = only(estate, WORKSPACE)
    (extension,) = rule.inputs["dataSources"]["extensions"]
    assert extension["extensionName"] == "ContainerInsights"
    assert extension["streams"] == [CONTAINER_INSIGHTS_STREAM]
    (destination,) = rule.inputs["destinations"]["logAnalytics"]
    assert destination["workspaceResourceId"] == workspace.id
    assert rule.inputs["dataFlows"] == [{"destinations": [destination["name"]], "streams": [CONTAINER_INSIGHTS_STREAM]}]
    assert association.inputs["resourceUri"] == registration.id
    assert association.inputs["dataCollectionRuleId"] == rule.id
    assert association.inputs["associationName"] == "ContainerInsightsExtension"


def test_the_configured_minor_version_stays_authoritative_only_on_the_patch_channel() -> None:
    assert _ignored_changes("patch") == ["agentPoolProfiles[*].count"]
    for channel in ("stable", "rapid"):
        assert "kubernetesVersion" in _ignored_changes(channel)
        assert "agentPoolProfiles[*].orchestratorVersion" in _ignored_changes(channel)


@pytest.mark.parametrize("stage", STAGES)
def test_only_the_system_pool_is_inline_and_the_user_pool_attaches_to_its_own_cluster(
    estate: Capture, stage: str
) -> None:
    registration = cluster(estate, stage)
    assert [p["name"] for p in registration.inputs["agentPoolProfiles"]] == ["system"]
    attached = user_pool(estate, stage)
    assert attached.inputs["resourceName"] == registration.outputs["name"]
    assert attached.inputs["resourceGroupName"] == registration.inputs["resourceGroupName"]
    assert registration.urn in attached.dependencies
    assert attached.inputs["agentPoolName"] in attached.name
    # A pool holds no state; protecting it would block the delete that completes a replacement.
    assert not attached.protect
    assert attached.ignore_changes == ("count",)


BASE_POOL = NodePoolArgs(
    vm_size="Standard_D4s_v5", min_count=1, max_count=3, zones=("1", "2"), max_pods=110, os_disk_size_gb=128
)


@pytest.mark.parametrize(
    "change",
    [
        {"vm_size": "Standard_D8s_v5"},
        {"os_disk_size_gb": 256},
        {"zones": ("1", "2", "3")},
        {"max_pods": 60},
    ],
)
def test_a_setting_aks_fixes_at_create_names_a_new_pool(change: dict[str, object]) -> None:
    changed = user_pool_name(dataclasses.replace(BASE_POOL, **change))  # type: ignore[arg-type]
    assert changed != user_pool_name(BASE_POOL)
    assert re.fullmatch(r"user[0-9a-f]{6}", changed)


@pytest.mark.parametrize("change", [{"min_count": 2}, {"max_count": 9}])
def test_a_setting_aks_changes_in_place_keeps_the_pool(change: dict[str, object]) -> None:
    assert user_pool_name(dataclasses.replace(BASE_POOL, **change)) == user_pool_name(BASE_POOL)  # type: ignore[arg-type]


def test_the_pool_leaves_its_version_to_the_channel_like_the_cluster() -> None:
    assert _ignored_pool_changes("patch") == ["count"]
    assert _ignored_pool_changes("stable") == ["count", "orchestratorVersion"]


def test_the_user_pool_waits_for_its_cluster_to_join_the_subnet(prod: Capture) -> None:
    # The cluster's identity needs Network Contributor on its node subnet to join the pool's machines and load
    # balancers to it (learn.microsoft.com/azure/aks/configure-azure-cni); with a system-assigned identity the grant
    # can only follow the cluster, so the separate pool waits for it.
    for stage in ("staging", "production"):
        (pool,) = [r for r in prod.of_type(AGENT_POOL) if f"cluster-{stage}-" in r.name]
        grants = [
            r for r in prod.of_type(ROLE_ASSIGNMENT) if r.name.endswith(f"cluster-{stage}-subnet-network-contributor")
        ]
        assert len(grants) == 1, [r.name for r in prod.of_type(ROLE_ASSIGNMENT) if "subnet" in r.name]
        assert grants[0].urn in pool.dependencies
        assert grants[0].inputs["scope"] == pool.inputs["vnetSubnetID"]


@pytest.mark.parametrize("stage", STAGES)
def test_a_cluster_is_replaced_delete_first_as_the_readme_replaces_it(estate: Capture, stage: str) -> None:
    # README, "Upgrading a stack created before the private estate": `pulumi up --replace <cluster URN>`, which plans
    # create-first unless the resource says otherwise, and azure-native refuses to create a name that exists.
    assert "pulumi up --replace <cluster URN>" in (ROOT / "README.md").read_text()
    assert cluster(estate, stage).delete_before_replace


def test_the_readme_unprotects_every_protected_resource_a_cluster_replacement_takes_along(prod: Capture) -> None:
    # A delete-first replacement replaces the resources whose inputs come from the cluster, and theirs in turn, and
    # the engine stops at a protected one (pulumi/pulumi pkg/resource/deploy/step_generator.go,
    # calculateDependentReplacements and the protect check of the delete-before-replace loop).
    readme = (ROOT / "README.md").read_text()
    procedure = readme[readme.index("To move: on dev first") : readme.index("inside the network: run the IaC")]
    for stage in STAGES:
        taken = {cluster(prod, stage).urn}
        for registration in prod.resources:  # registrations come after what they depend on
            if taken.intersection(registration.dependencies):
                taken.add(registration.urn)
        taken.discard(cluster(prod, stage).urn)  # the procedure unprotects the cluster itself first
        protected = {r.type.rsplit(":", 1)[-1] for r in prod.resources if r.urn in taken and r.protect and r.custom}
        assert all(f"`{kind}`" in procedure for kind in protected), (stage, protected)
