"""AKS rules: checkov's cluster and node-pool checks translated to azure-native inputs, plus the architecture's own.

Checkov IDs and titles are those of checkov 3.3.30 (`checkov/terraform/checks/resource/azure/*.py`). Checks the estate
deliberately does not meet are listed in EXCEPTIONS.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pulumi_policy import Severity

from .common import About, Props, enabled, entry, items, lookup, must_be_true, prod_only, resource_rule
from .sources import architecture, checkov

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
    yield from must_be_true(props, "aadProfile.managed", note=" (Microsoft Entra ID integration)")
    yield from must_be_true(
        props, "aadProfile.enableAzureRBAC", note=" (Kubernetes authorization through Azure role assignments)"
    )


def _aks_local_accounts(props: Props) -> Iterable[str]:
    return must_be_true(props, "disableLocalAccounts")


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
    return must_be_true(props, "oidcIssuerProfile.enabled", "securityProfile.workloadIdentity.enabled")


def _aks_defender(props: Props) -> Iterable[str]:
    yield from must_be_true(props, "securityProfile.defender.securityMonitoring.enabled", note=" (the Defender sensor)")
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


CONTAINER_INSIGHTS_AUTH = "https://learn.microsoft.com/azure/azure-monitor/containers/container-insights-authentication"
AKS_AZURE_RBAC = "https://learn.microsoft.com/azure/aks/manage-azure-rbac"
WORKLOAD_IDENTITY = "https://learn.microsoft.com/azure/aks/workload-identity-overview"
DEFENDER_FOR_CONTAINERS = "https://learn.microsoft.com/azure/defender-for-cloud/defender-for-containers-introduction"
AKS_ZONES = "https://learn.microsoft.com/azure/aks/availability-zones"
POLICIES: list[Any] = [
    resource_rule(
        "aks-azure-monitor-logging",
        "Container Insights sends the cluster's logs to Log Analytics (addonProfiles.omsagent with a workspace).",
        CLUSTER,
        _aks_logging,
        About(
            checkov("CKV_AZURE_4"),
            Severity.MEDIUM,
            "Enable addonProfiles.omsagent with the estate's workspace ID (components/cluster.py).",
        ),
    ),
    resource_rule(
        "aks-container-insights-aad-auth",
        "Container Insights runs on the Azure Monitor Agent with managed-identity auth (useAADAuth).",
        CLUSTER,
        _aks_container_insights_aad,
        About(
            architecture(CONTAINER_INSIGHTS_AUTH, "Container Insights authenticates with managed identity"),
            Severity.MEDIUM,
            'Set addonProfiles.omsagent.config.useAADAuth "true" (components/cluster.py).',
        ),
    ),
    resource_rule(
        "aks-rbac",
        "Kubernetes RBAC is on (enableRBAC not false).",
        CLUSTER,
        _aks_rbac,
        About(
            checkov("CKV_AZURE_5"),
            Severity.HIGH,
            "Remove enableRBAC: false (components/cluster.py); AKS turns Kubernetes RBAC on by default.",
        ),
    ),
    resource_rule(
        "aks-entra-azure-rbac",
        "AKS authenticates through Microsoft Entra ID and authorizes with Azure RBAC (aadProfile).",
        CLUSTER,
        _aks_entra_azure_rbac,
        About(
            architecture(
                AKS_AZURE_RBAC, "Microsoft Entra ID authentication with Azure RBAC for Kubernetes authorization"
            ),
            Severity.HIGH,
            "Set aadProfile.managed and aadProfile.enableAzureRBAC true (components/cluster.py).",
        ),
    ),
    resource_rule(
        "aks-local-accounts-disabled",
        "The cluster has no local admin account (disableLocalAccounts).",
        CLUSTER,
        _aks_local_accounts,
        About(
            checkov("CKV_AZURE_141"),
            Severity.CRITICAL,
            "Set disableLocalAccounts true (components/cluster.py); admins sign in with Entra ID.",
        ),
    ),
    resource_rule(
        "aks-azure-policy-addon",
        "The Azure Policy add-on is enabled (addonProfiles.azurepolicy).",
        CLUSTER,
        _aks_azure_policy,
        About(checkov("CKV_AZURE_116"), Severity.MEDIUM, "Enable addonProfiles.azurepolicy (components/cluster.py)."),
    ),
    resource_rule(
        "aks-network-policy",
        "A network policy engine is configured (networkProfile.networkPolicy).",
        CLUSTER,
        _aks_network_policy,
        About(
            checkov("CKV_AZURE_7"),
            Severity.MEDIUM,
            "Set networkProfile.networkPolicy (cilium with the Cilium dataplane, components/cluster.py).",
        ),
    ),
    resource_rule(
        "aks-azure-cni",
        "The cluster uses Azure CNI (networkProfile.networkPlugin azure).",
        CLUSTER,
        _aks_azure_cni,
        About(
            checkov("CKV2_AZURE_29"),
            Severity.MEDIUM,
            'Set networkProfile.networkPlugin "azure" (overlay mode, components/cluster.py).',
        ),
    ),
    resource_rule(
        "aks-upgrade-channel",
        "An automatic upgrade channel is chosen (autoUpgradeProfile.upgradeChannel).",
        CLUSTER,
        _aks_upgrade_channel,
        About(
            checkov("CKV_AZURE_171"),
            Severity.MEDIUM,
            "Set clusters.<stage>.upgradeChannel in Pulumi.<stack>.yaml (default patch).",
        ),
    ),
    resource_rule(
        "aks-dashboard-disabled",
        "The Kubernetes dashboard add-on is off (addonProfiles.kubeDashboard).",
        CLUSTER,
        _aks_dashboard,
        About(
            checkov("CKV_AZURE_8"),
            Severity.HIGH,
            "Remove addonProfiles.kubeDashboard or set it disabled (components/cluster.py).",
        ),
    ),
    resource_rule(
        "aks-http-application-routing-disabled",
        "The HTTP application routing add-on is off (addonProfiles.httpApplicationRouting).",
        CLUSTER,
        _aks_http_routing,
        About(
            checkov("CKV_AZURE_246"),
            Severity.MEDIUM,
            "Remove addonProfiles.httpApplicationRouting; expose services with the application routing add-on.",
        ),
    ),
    resource_rule(
        "aks-node-public-ip-disabled",
        "No node of any agent pool has a public IP address (enableNodePublicIP).",
        POOLS,
        _aks_node_public_ip,
        About(
            checkov("CKV_AZURE_143"),
            Severity.HIGH,
            "Leave enableNodePublicIP unset or false on every pool (components/cluster.py).",
        ),
    ),
    resource_rule(
        "aks-max-pods",
        "Every agent pool sets maxPods explicitly, to at least 50.",
        POOLS,
        _aks_max_pods,
        About(
            checkov("CKV_AZURE_168"),
            Severity.LOW,
            "Set clusters.<stage>.<pool>.maxPods to 50 or more in Pulumi.<stack>.yaml.",
        ),
    ),
    resource_rule(
        "aks-scale-sets",
        "Every agent pool runs on virtual machine scale sets, not availability sets.",
        POOLS,
        _aks_scale_sets,
        About(
            checkov("CKV_AZURE_169"),
            Severity.LOW,
            "Set type VirtualMachineScaleSets on the pool (components/cluster.py).",
        ),
    ),
    resource_rule(
        "aks-system-pool-critical-addons-only",
        "System pools are tainted CriticalAddonsOnly=true:NoSchedule, so only system pods run there.",
        POOLS,
        _aks_system_pool_taint,
        About(
            checkov("CKV_AZURE_232"),
            Severity.LOW,
            "Taint the system pool CriticalAddonsOnly=true:NoSchedule (components/cluster.py).",
        ),
    ),
    resource_rule(
        "aks-secret-store-rotation",
        "The Secrets Store CSI driver is enabled and rotates secrets (azureKeyvaultSecretsProvider).",
        CLUSTER,
        _aks_secret_rotation,
        About(
            checkov("CKV_AZURE_172"),
            Severity.MEDIUM,
            'Set azureKeyvaultSecretsProvider config.enableSecretRotation "true" (components/cluster.py).',
        ),
    ),
    resource_rule(
        "aks-workload-identity",
        "The OIDC issuer and workload identity are on, so pods federate instead of holding secrets.",
        CLUSTER,
        _aks_workload_identity,
        About(
            architecture(WORKLOAD_IDENTITY, "pods authenticate to Azure with Microsoft Entra Workload ID"),
            Severity.HIGH,
            "Set oidcIssuerProfile.enabled and securityProfile.workloadIdentity.enabled true (components/cluster.py).",
        ),
    ),
    resource_rule(
        "aks-defender-sensor",
        "The Microsoft Defender sensor runs and reports to the estate's workspace.",
        CLUSTER,
        _aks_defender,
        About(
            architecture(DEFENDER_FOR_CONTAINERS, "Defender for Containers runtime protection on every cluster"),
            Severity.MEDIUM,
            "Set securityProfile.defender.securityMonitoring and its workspace (components/cluster.py).",
        ),
    ),
    resource_rule(
        "aks-paid-tier",
        "On prod, the control plane is on a paid tier (sku.tier Standard or Premium) for its SLA.",
        CLUSTER,
        prod_only(_aks_paid_tier),
        About(
            checkov("CKV_AZURE_170"),
            Severity.MEDIUM,
            "Set clusters.<stage>.tier: Standard (or Premium) in Pulumi.prod.yaml.",
        ),
    ),
    resource_rule(
        "aks-zones",
        "On prod, every agent pool (inline or separate AgentPool) spans at least two availability zones.",
        POOLS,
        prod_only(_aks_zones),
        About(
            architecture(AKS_ZONES, "spread node pools across availability zones"),
            Severity.MEDIUM,
            "Set clusters.<stage>.<pool>.zones to two or more zones in Pulumi.prod.yaml.",
        ),
    ),
]
