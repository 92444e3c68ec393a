"""Azure rules: checkov's AKS, ACR and Key Vault checks translated to azure-native inputs, plus the architecture's own.

Checkov IDs and titles are those of checkov 3.3.30 (`checkov/terraform/checks/resource/azure/*.py`, the version the
validators virtualenv pins), read there against the azurerm attribute each check inspects. Checks the estate
deliberately does not meet are listed in EXCEPTIONS.md instead of being left out silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .common import (
    ENVIRONMENT_TAG,
    ENVIRONMENTS,
    RESOURCE_GROUP,
    Props,
    depends_on,
    entry,
    environment,
    items,
    lookup,
    prod_only,
    resource_rule,
    stack_rule,
)

CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
# The pool rules read a cluster's inline profiles and every separate AgentPool (components/cluster.py keeps only the
# system pool inline): the same property names in both shapes.
POOLS = (CLUSTER, AGENT_POOL)
REGISTRY = "azure-native:containerregistry:Registry"
VAULT = "azure-native:keyvault:Vault"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
LOG_ALERT = "azure-native:monitor:ScheduledQueryRule"
HEALTH_ALERT = "azure-native:monitor:ActivityLogAlert"

# Built-in role definition IDs, the same in every tenant: Owner, Contributor, User Access Administrator.
PRIVILEGED_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}
SYSTEM_POOL_TAINT = "CriticalAddonsOnly=true:NoSchedule"
MIN_MAX_PODS = 50
MIN_PROD_ZONES = 2
PAID_TIERS = ("Standard", "Premium")
# Scopes wider than one resource: a subscription, a resource group, a management group.
BROAD_SCOPE = re.compile(
    r"^(/subscriptions/[^/]+(/resourceGroups/[^/]+)?|/providers/Microsoft\.Management/managementGroups/[^/]+)/?$",
    re.IGNORECASE,
)


def _enabled(value: Any) -> bool:
    return value is True


def _pools(props: Props) -> Iterator[tuple[str, Any]]:
    if "agentPoolName" in props:
        yield str(props["agentPoolName"]), props
    for index, pool in enumerate(items(props.get("agentPoolProfiles"))):
        yield str(lookup(pool, "name") or f"#{index}"), pool


def _addon(props: Props, name: str) -> Any:
    return entry(props.get("addonProfiles"), name)


# --- AKS -------------------------------------------------------------------------------------------------------------


def _aks_logging(props: Props) -> Iterable[str]:
    agent = _addon(props, "omsagent")
    if not _enabled(lookup(agent, "enabled")):
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
    if not _enabled(lookup(props, "aadProfile.managed")):
        yield "aadProfile.managed must be true (Microsoft Entra ID integration)"
    if not _enabled(lookup(props, "aadProfile.enableAzureRBAC")):
        yield "aadProfile.enableAzureRBAC must be true (Kubernetes authorization through Azure role assignments)"


def _aks_local_accounts(props: Props) -> Iterable[str]:
    if not _enabled(props.get("disableLocalAccounts")):
        yield "disableLocalAccounts must be true"


def _aks_azure_policy(props: Props) -> Iterable[str]:
    if not _enabled(lookup(_addon(props, "azurepolicy"), "enabled")):
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
    if _enabled(lookup(_addon(props, "kubeDashboard"), "enabled")):
        yield "addonProfiles.kubeDashboard must not be enabled"


def _aks_http_routing(props: Props) -> Iterable[str]:
    if _enabled(lookup(_addon(props, "httpApplicationRouting"), "enabled")):
        yield "addonProfiles.httpApplicationRouting must not be enabled"


def _aks_node_public_ip(props: Props) -> Iterable[str]:
    # checkov inspects the default node pool only; every pool here is a profile of the cluster, so all are checked.
    for name, pool in _pools(props):
        if _enabled(lookup(pool, "enableNodePublicIP")):
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
    if not _enabled(lookup(provider, "enabled")):
        yield "addonProfiles.azureKeyvaultSecretsProvider must be enabled"
    elif str(entry(lookup(provider, "config"), "enableSecretRotation")).lower() != "true":
        yield 'addonProfiles.azureKeyvaultSecretsProvider.config.enableSecretRotation must be "true"'


def _aks_workload_identity(props: Props) -> Iterable[str]:
    if not _enabled(lookup(props, "oidcIssuerProfile.enabled")):
        yield "oidcIssuerProfile.enabled must be true"
    if not _enabled(lookup(props, "securityProfile.workloadIdentity.enabled")):
        yield "securityProfile.workloadIdentity.enabled must be true"


def _aks_defender(props: Props) -> Iterable[str]:
    if not _enabled(lookup(props, "securityProfile.defender.securityMonitoring.enabled")):
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


# --- Alerts ----------------------------------------------------------------------------------------------------------


def _alert_reaches_a_person(props: Props) -> Iterable[str]:
    # The three rule types spell their actions differently: a list of {actionGroupId}, {actionGroups: [id]} and
    # {actionGroups: [{actionGroupId}]}.
    actions = props.get("actions")
    groups = items(actions) or items(lookup(actions, "actionGroups"))
    if not groups:
        yield "actions must name an action group: an alert without one notifies nobody"
    if props.get("enabled") is False:
        yield "enabled must not be false"


# --- ACR -------------------------------------------------------------------------------------------------------------


def _sku(props: Props) -> Any:
    return lookup(props, "sku.name")


# The stack tags each registry with the stage whose images it holds (components/estate.py, `aks-estate-registry`).
REGISTRY_ROLE_TAG = "aks-estate-registry"


def _is_nonprod_registry(props: Props) -> bool:
    return bool(lookup(props, f"tags.{REGISTRY_ROLE_TAG}") == "nonprod")


@dataclass(frozen=True)
class Exemption:
    """A resource a rule deliberately does not hold to, said where the rule is and why."""

    policy: str
    applies_to: Callable[[Props], bool]
    reason: str


EXEMPTIONS = (
    Exemption(
        "acr-prod-premium",
        _is_nonprod_registry,
        "the non-production registry holds only images that have not passed staging: Standard is enough",
    ),
    Exemption(
        "acr-zone-redundancy",
        _is_nonprod_registry,
        "a zone outage of the non-production registry delays CI, not production",
    ),
    Exemption(
        "acr-retention-policy",
        lambda props: _sku(props) != "Premium",
        "ACR offers the retention policy on Premium only, so Basic and Standard registries cannot meet it",
    ),
)


def _exempt(policy: str, props: Props) -> bool:
    return any(exemption.policy == policy and exemption.applies_to(props) for exemption in EXEMPTIONS)


def _acr_admin_user(props: Props) -> Iterable[str]:
    if _enabled(props.get("adminUserEnabled")):
        yield "adminUserEnabled must not be true"


def _acr_anonymous_pull(props: Props) -> Iterable[str]:
    if _enabled(props.get("anonymousPullEnabled")):
        yield "anonymousPullEnabled must not be true"


def _acr_retention(props: Props) -> Iterable[str]:
    if _exempt("acr-retention-policy", props):
        return
    if str(lookup(props, "policies.retentionPolicy.status")).lower() != "enabled":
        yield 'policies.retentionPolicy.status must be "enabled" on a Premium registry'


def _acr_scanning_sku(props: Props) -> Iterable[str]:
    if _sku(props) == "Basic":
        yield "sku.name must be Standard or Premium on prod, not Basic"


def _acr_premium(props: Props) -> Iterable[str]:
    if not _exempt("acr-prod-premium", props) and _sku(props) != "Premium":
        yield f"sku.name must be Premium for the production registry on prod, got {_sku(props)!r}"


def _acr_zone_redundancy(props: Props) -> Iterable[str]:
    redundancy = props.get("zoneRedundancy")
    if not _exempt("acr-zone-redundancy", props) and redundancy != "Enabled":
        yield f'zoneRedundancy must be "Enabled" for the production registry on prod, got {redundancy!r}'


# --- Key Vault -------------------------------------------------------------------------------------------------------


def _kv_rbac(props: Props) -> Iterable[str]:
    if not _enabled(lookup(props, "properties.enableRbacAuthorization")):
        yield "properties.enableRbacAuthorization must be true (no access policies)"


def _kv_soft_delete(props: Props) -> Iterable[str]:
    # Azure turns soft delete on when it is left out, as checkov's check (missing block passes) assumes.
    if lookup(props, "properties.enableSoftDelete") is False:
        yield "properties.enableSoftDelete must not be false"


def _kv_purge_protection(props: Props) -> Iterable[str]:
    if not _enabled(lookup(props, "properties.enablePurgeProtection")):
        yield "properties.enablePurgeProtection must be true on prod"


def _kv_default_deny(props: Props) -> Iterable[str]:
    action = lookup(props, "properties.networkAcls.defaultAction")
    if action != "Deny":
        yield f'properties.networkAcls.defaultAction must be "Deny", got {action!r}'


def _kv_public_network(props: Props) -> Iterable[str]:
    # As checkov: public access is acceptable only when the firewall names what may come through.
    if str(lookup(props, "properties.publicNetworkAccess")).lower() == "disabled":
        return
    acls = lookup(props, "properties.networkAcls")
    if not items(lookup(acls, "ipRules")) and not items(lookup(acls, "virtualNetworkRules")):
        yield "properties.publicNetworkAccess must be Disabled, or networkAcls must list ipRules or virtualNetworkRules"


# --- Identity --------------------------------------------------------------------------------------------------------


def _no_privileged_roles(props: Props) -> Iterable[str]:
    role_id = str(props.get("roleDefinitionId") or "").rstrip("/").rsplit("/", 1)[-1].lower()
    if role_id in PRIVILEGED_ROLES:
        yield f"roleDefinitionId grants {PRIVILEGED_ROLES[role_id]}; grant a narrower built-in role"


def _resource_scope(props: Props) -> Iterable[str]:
    scope = str(props.get("scope") or "")
    if BROAD_SCOPE.match(scope):
        yield f"scope {scope!r} is a subscription, resource group or management group; scope to one resource"


def _no_wildcard_actions(props: Props) -> Iterable[str]:
    for permission in items(lookup(props, "permissions")):
        if "*" in items(lookup(permission, "actions")):
            yield 'permissions[].actions must not contain "*" (a custom owner role)'


def _environment_tag(props: Props) -> Iterable[str]:
    if environment(props) not in ENVIRONMENTS:
        yield f"tags.{ENVIRONMENT_TAG} must be one of {list(ENVIRONMENTS)}, got {environment(props)!r}"


# --- Stack -----------------------------------------------------------------------------------------------------------

MONITORED = (CLUSTER, REGISTRY, VAULT)


def _diagnostics(resources: Sequence[Any]) -> Iterable[tuple[str, str | None]]:
    settings = [resource for resource in resources if resource.resource_type == DIAGNOSTIC_SETTING]
    for resource in resources:
        if resource.resource_type in MONITORED and not any(depends_on(s, resource) for s in settings):
            yield f"{resource.name}: no diagnostic setting sends its logs to Log Analytics", resource.urn


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
    resource_rule(
        "alert-action-group",
        "architecture: every alert rule is enabled and sends to an action group, so a firing alert reaches a person.",
        (METRIC_ALERT, LOG_ALERT, HEALTH_ALERT),
        _alert_reaches_a_person,
    ),
    resource_rule(
        "acr-admin-user-disabled",
        "checkov CKV_AZURE_137: Ensure ACR admin account is disabled (adminUserEnabled).",
        REGISTRY,
        _acr_admin_user,
    ),
    resource_rule(
        "acr-anonymous-pull-disabled",
        "checkov CKV_AZURE_138: Ensures that ACR disables anonymous pulling of images (anonymousPullEnabled).",
        REGISTRY,
        _acr_anonymous_pull,
    ),
    resource_rule(
        "acr-retention-policy",
        "checkov CKV_AZURE_167: Ensure a retention policy is set to cleanup untagged manifests (Premium registries, "
        "the only SKU that has one).",
        REGISTRY,
        _acr_retention,
    ),
    resource_rule(
        "acr-scanning-sku",
        "checkov CKV_AZURE_163: Enable vulnerability scanning for container images - Standard or Premium SKU "
        "(prod stacks only).",
        REGISTRY,
        prod_only(_acr_scanning_sku),
    ),
    resource_rule(
        "acr-prod-premium",
        "architecture (as the config model's prod rule): the production registry is Premium (prod stacks only; the "
        "non-production registry is exempt).",
        REGISTRY,
        prod_only(_acr_premium),
    ),
    resource_rule(
        "acr-zone-redundancy",
        "checkov CKV_AZURE_233: Ensure Azure Container Registry (ACR) is zone redundant (prod stacks only; the "
        "non-production registry is exempt).",
        REGISTRY,
        prod_only(_acr_zone_redundancy),
    ),
    resource_rule(
        "keyvault-rbac-authorization",
        "architecture: Key Vault runs in RBAC mode (properties.enableRbacAuthorization), no access policies.",
        VAULT,
        _kv_rbac,
    ),
    resource_rule(
        "keyvault-soft-delete",
        "checkov CKV_AZURE_111: Ensure that key vault enables soft delete (properties.enableSoftDelete).",
        VAULT,
        _kv_soft_delete,
    ),
    resource_rule(
        "keyvault-purge-protection",
        "checkov CKV_AZURE_110: Ensure that key vault enables purge protection, and CKV_AZURE_42: Ensure the key "
        "vault is recoverable (prod stacks only).",
        VAULT,
        prod_only(_kv_purge_protection),
    ),
    resource_rule(
        "keyvault-firewall-default-deny",
        "checkov CKV_AZURE_109: Ensure that key vault allows firewall rules settings (networkAcls.defaultAction Deny).",
        VAULT,
        # A dev stack may open its vault to Microsoft-hosted agents, which have no fixed addresses to allow
        # (`keyVaultNetworkDefaultAction: Allow`, EXCEPTIONS.md); the config model refuses that on prod.
        prod_only(_kv_default_deny),
    ),
    resource_rule(
        "keyvault-public-network-restricted",
        "checkov CKV_AZURE_189: Ensure that Azure Key Vault disables public network access (or names allowed "
        "networks).",
        VAULT,
        prod_only(_kv_public_network),
    ),
    resource_rule(
        "role-assignment-no-privileged-roles",
        "architecture (least privilege): no role assignment grants Owner, Contributor or User Access Administrator.",
        ROLE_ASSIGNMENT,
        _no_privileged_roles,
    ),
    resource_rule(
        "role-assignment-resource-scope",
        "architecture (least privilege): every role assignment is scoped to one resource, not a subscription, "
        "resource group or management group.",
        ROLE_ASSIGNMENT,
        _resource_scope,
    ),
    resource_rule(
        "role-definition-no-wildcard-actions",
        "checkov CKV_AZURE_39: Ensure that no custom subscription owner roles are created.",
        ROLE_DEFINITION,
        _no_wildcard_actions,
    ),
    resource_rule(
        "azure-environment-tag",
        "architecture: the resource group, clusters, registries and vault carry tags.environment = dev or prod; "
        "the prod-only rules key off it.",
        (RESOURCE_GROUP, CLUSTER, REGISTRY, VAULT),
        _environment_tag,
    ),
    stack_rule(
        "diagnostics-on-monitored-resources",
        "architecture (components/diagnostics.py): every AKS cluster, container registry and key vault has a "
        "diagnostic setting.",
        _diagnostics,
    ),
]
