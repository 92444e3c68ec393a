"""AKS rules: checkov's cluster and node-pool checks translated to azure-native inputs, plus the architecture's own.

Checkov IDs and titles are those of checkov 3.3.30 (`checkov/terraform/checks/resource/azure/*.py`). Checks the estate
deliberately does not meet are listed in EXCEPTIONS.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .common import (
    Props,
    enabled,
    entry,
    items,
    lookup,
    prod_only,
    resource_rule,
)

CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
# The pool rules read a cluster's inline profiles and every separate AgentPool (components/cluster.py keeps only the
# system pool inline): the same property names in both shapes.
POOLS = (CLUSTER, AGENT_POOL)
SYSTEM_POOL_TAINT = "CriticalAddonsOnly=true:NoSchedule"
MIN_MAX_PODS = 50
MIN_PROD_ZONES = 2
PAID_TIERS = ("Standard", "Premium")


def _pools(props: Props) -> Iterator[tuple[str, Any]]:
    if "agentPoolName" in props:
        yield str(props["agentPoolName"]), props
    for index, pool in enumerate(items(props.get("agentPoolProfiles"))):
        yield str(lookup(pool, "name") or f"#{index}"), pool


def _addon(props: Props, name: str) -> Any:
    return entry(props.get("addonProfiles"), name)


def _aks_logging(props: Props) -> Iterable[str]:
    agent = _addon(props, "omsagent")
    if not enabled(lookup(agent, "enabled")):
        yield "addonProfiles.omsagent must be enabled"
    elif not entry(lookup(agent, "config"), "logAnalyticsWorkspaceResourceID"):
        yield "addonProfiles.omsagent.config.logAnalyticsWorkspaceResourceID must name the Log Analytics workspace"


def _aks_container_insights_aad(props: Props) -> Iterable[str]:
    # Without useAADAuth the agent authenticates with the workspace's shared key and the data collection rule that
    # routes Container Insights (components/cluster.py) is bypassed.
    if str(entry(lookup(_addon(props, "omsagent"), "config"), "useAADAuth")).lower() != "true":
        yield 'addonProfiles.omsagent.config.useAADAuth must be "true" (Azure Monitor Agent, managed identity)'


def _aks_rbac(props: Props) -> Iterable[str]:
    # As checkov: a missing value passes, because AKS turns Kubernetes RBAC on unless told otherwise.
    if props.get("enableRBAC") is False:
        yield "enableRBAC must not be false"


def _aks_entra_azure_rbac(props: Props) -> Iterable[str]:
    if not enabled(lookup(props, "aadProfile.managed")):
        yield "aadProfile.managed must be true (Microsoft Entra ID integration)"
    if not enabled(lookup(props, "aadProfile.enableAzureRBAC")):
        yield "aadProfile.enableAzureRBAC must be true (Kubernetes authorization through Azure role assignments)"


def _aks_local_accounts(props: Props) -> Iterable[str]:
    if not enabled(props.get("disableLocalAccounts")):
        yield "disableLocalAccounts must be true"


def _aks_azure_policy(props: Props) -> Iterable[str]:
    if not enabled(lookup(_addon(props, "azurepolicy"), "enabled")):
        yield "addonProfiles.azurepolicy must be enabled"


def _aks_network_policy(props: Props) -> Iterable[str]:
    policy = lookup(props, "networkProfile.networkPolicy")
    if not policy or str(policy).lower() == "none":
        yield f"networkProfile.networkPolicy must name a network policy engine, got {policy!r}"


def _aks_azure_cni(props: Props) -> Iterable[str]:
    plugin = lookup(props, "networkProfile.networkPlugin")
    if str(plugin).lower() != "azure":
        yield f'networkProfile.networkPlugin must be "azure", got {plugin!r}'


def _aks_upgrade_channel(props: Props) -> Iterable[str]:
    channel = lookup(props, "autoUpgradeProfile.upgradeChannel")
    if not channel or str(channel).lower() == "none":
        yield f"autoUpgradeProfile.upgradeChannel must name an upgrade channel, got {channel!r}"


def _aks_dashboard(props: Props) -> Iterable[str]:
    if enabled(lookup(_addon(props, "kubeDashboard"), "enabled")):
        yield "addonProfiles.kubeDashboard must not be enabled"


def _aks_http_routing(props: Props) -> Iterable[str]:
    if enabled(lookup(_addon(props, "httpApplicationRouting"), "enabled")):
        yield "addonProfiles.httpApplicationRouting must not be enabled"


def _aks_node_public_ip(props: Props) -> Iterable[str]:
    # checkov inspects the default node pool only; every pool here is a profile of the cluster, so all are checked.
    for name, pool in _pools(props):
        if enabled(lookup(pool, "enableNodePublicIP")):
            yield f"agent pool {name}: enableNodePublicIP must not be true"


def _aks_max_pods(props: Props) -> Iterable[str]:
    # checkov counts a pool without max_pods as 30; here it must be explicit, since the default depends on the plugin.
    for name, pool in _pools(props):
        max_pods = lookup(pool, "maxPods")
        if not isinstance(max_pods, (int, float)) or max_pods < MIN_MAX_PODS:
            yield f"agent pool {name}: maxPods must be at least {MIN_MAX_PODS}, got {max_pods!r}"


def _aks_scale_sets(props: Props) -> Iterable[str]:
    for name, pool in _pools(props):
        if lookup(pool, "type") == "AvailabilitySet":
            yield f"agent pool {name}: type must be VirtualMachineScaleSets, not AvailabilitySet"


def _aks_system_pool_taint(props: Props) -> Iterable[str]:
    # azurerm's only_critical_addons_enabled is this taint on the system pool.
    for name, pool in _pools(props):
        if lookup(pool, "mode") == "System" and SYSTEM_POOL_TAINT not in items(lookup(pool, "nodeTaints")):
            yield f"system pool {name}: nodeTaints must include {SYSTEM_POOL_TAINT}"


def _aks_secret_rotation(props: Props) -> Iterable[str]:
    provider = _addon(props, "azureKeyvaultSecretsProvider")
    if not enabled(lookup(provider, "enabled")):
        yield "addonProfiles.azureKeyvaultSecretsProvider must be enabled"
    elif str(entry(lookup(provider, "config"), "enableSecretRotation")).lower() != "true":
        yield 'addonProfiles.azureKeyvaultSecretsProvider.config.enableSecretRotation must be "true"'


def _aks_workload_identity(props: Props) -> Iterable[str]:
    if not enabled(lookup(props, "oidcIssuerProfile.enabled")):
        yield "oidcIssuerProfile.enabled must be true"
    if not enabled(lookup(props, "securityProfile.workloadIdentity.enabled")):
        yield "securityProfile.workloadIdentity.enabled must be true"


def _aks_defender(props: Props) -> Iterable[str]:
    if not enabled(lookup(props, "securityProfile.defender.securityMonitoring.enabled")):
        yield "securityProfile.defender.securityMonitoring.enabled must be true (the Defender sensor)"
    if not lookup(props, "securityProfile.defender.logAnalyticsWorkspaceResourceId"):
        yield "securityProfile.defender.logAnalyticsWorkspaceResourceId must name the workspace the sensor reports to"


def _aks_paid_tier(props: Props) -> Iterable[str]:
    # checkov expects "Standard"; "Premium" carries the same financially backed SLA (plus long-term support).
    tier = lookup(props, "sku.tier")
    if tier not in PAID_TIERS:
        yield f"sku.tier must be one of {list(PAID_TIERS)} on prod, got {tier!r}"


def _aks_zones(props: Props) -> Iterable[str]:
    for name, pool in _pools(props):
        zones = items(lookup(pool, "availabilityZones"))
        if len(zones) < MIN_PROD_ZONES:
            yield f"agent pool {name}: availabilityZones must list at least {MIN_PROD_ZONES} zones on prod, got {zones}"


POLICIES: list[Any] = [
    resource_rule(
        "aks-azure-monitor-logging",
        "checkov CKV_AZURE_4: Ensure AKS logging to Azure Monitoring is Configured (omsagent add-on with a workspace).",
        CLUSTER,
        _aks_logging,
    ),
    resource_rule(
        "aks-container-insights-aad-auth",
        "architecture: Container Insights runs on the Azure Monitor Agent with managed-identity auth (useAADAuth), "
        "routed by its data collection rule.",
        CLUSTER,
        _aks_container_insights_aad,
    ),
    resource_rule("aks-rbac", "checkov CKV_AZURE_5: Ensure RBAC is enabled on AKS clusters.", CLUSTER, _aks_rbac),
    resource_rule(
        "aks-entra-azure-rbac",
        "architecture: AKS authenticates through Microsoft Entra ID and authorizes with Azure RBAC (aadProfile).",
        CLUSTER,
        _aks_entra_azure_rbac,
    ),
    resource_rule(
        "aks-local-accounts-disabled",
        "checkov CKV_AZURE_141: Ensure AKS local admin account is disabled (disableLocalAccounts).",
        CLUSTER,
        _aks_local_accounts,
    ),
    resource_rule(
        "aks-azure-policy-addon",
        "checkov CKV_AZURE_116: Ensure that AKS uses Azure Policies Add-on (addonProfiles.azurepolicy).",
        CLUSTER,
        _aks_azure_policy,
    ),
    resource_rule(
        "aks-network-policy",
        "checkov CKV_AZURE_7: Ensure AKS cluster has Network Policy configured (networkProfile.networkPolicy).",
        CLUSTER,
        _aks_network_policy,
    ),
    resource_rule(
        "aks-azure-cni",
        "checkov CKV2_AZURE_29: Ensure AKS cluster has Azure CNI networking enabled (networkProfile.networkPlugin).",
        CLUSTER,
        _aks_azure_cni,
    ),
    resource_rule(
        "aks-upgrade-channel",
        "checkov CKV_AZURE_171: Ensure AKS cluster upgrade channel is chosen (autoUpgradeProfile.upgradeChannel).",
        CLUSTER,
        _aks_upgrade_channel,
    ),
    resource_rule(
        "aks-dashboard-disabled",
        "checkov CKV_AZURE_8: Ensure Kubernetes Dashboard is disabled (addonProfiles.kubeDashboard).",
        CLUSTER,
        _aks_dashboard,
    ),
    resource_rule(
        "aks-http-application-routing-disabled",
        "checkov CKV_AZURE_246: Ensure Azure AKS cluster HTTP application routing is disabled.",
        CLUSTER,
        _aks_http_routing,
    ),
    resource_rule(
        "aks-node-public-ip-disabled",
        "checkov CKV_AZURE_143: Ensure AKS cluster nodes do not have public IP addresses (every agent pool).",
        POOLS,
        _aks_node_public_ip,
    ),
    resource_rule(
        "aks-max-pods",
        "checkov CKV_AZURE_168: Ensure Azure Kubernetes Cluster (AKS) nodes should use a minimum number of 50 pods.",
        POOLS,
        _aks_max_pods,
    ),
    resource_rule(
        "aks-scale-sets",
        "checkov CKV_AZURE_169: Ensure Azure Kubernetes Cluster (AKS) nodes use scale sets.",
        POOLS,
        _aks_scale_sets,
    ),
    resource_rule(
        "aks-system-pool-critical-addons-only",
        "checkov CKV_AZURE_232: Ensure that only critical system pods run on system nodes (CriticalAddonsOnly taint).",
        POOLS,
        _aks_system_pool_taint,
    ),
    resource_rule(
        "aks-secret-store-rotation",
        "checkov CKV_AZURE_172: Ensure autorotation of Secrets Store CSI Driver secrets for AKS clusters.",
        CLUSTER,
        _aks_secret_rotation,
    ),
    resource_rule(
        "aks-workload-identity",
        "architecture: AKS has the OIDC issuer and workload identity on, so pods federate instead of holding secrets.",
        CLUSTER,
        _aks_workload_identity,
    ),
    resource_rule(
        "aks-defender-sensor",
        "architecture: AKS runs the Microsoft Defender sensor, reporting to the estate's workspace.",
        CLUSTER,
        _aks_defender,
    ),
    resource_rule(
        "aks-paid-tier",
        "checkov CKV_AZURE_170: Ensure that AKS use the Paid Sku for its SLA (prod stacks only).",
        CLUSTER,
        prod_only(_aks_paid_tier),
    ),
    resource_rule(
        "aks-zones",
        "architecture (prod reliability, as the config model's prod rule): every agent pool spans at least two "
        "availability zones (prod stacks only).",
        POOLS,
        prod_only(_aks_zones),
    ),
]
