"""The private estate's rules (issue 11), mandatory on prod: nothing public that need not be, no shared keys.

The vault and both registries refuse public traffic and each has a private endpoint whose DNS zone group registers its
names; the API servers are private; telemetry accepts Entra ID tokens only; nodes encrypt at host on ephemeral OS
disks. Each rule names its source: the checkov check (3.3.30, `checkov/terraform/checks/resource/azure/*.py`) where
one exists, otherwise the Azure Policy built-in it mirrors or the architecture.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .clusters import CLUSTER, POOLS, _pools
from .common import Props, depends_on, enabled, is_prod, lookup, prod_only, resource_rule, stack_rule
from .registries import REGISTRY
from .vault import VAULT

PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
SCOPED_RESOURCE = "azure-native:monitor:PrivateLinkScopedResource"
WORKSPACE = "azure-native:operationalinsights:Workspace"
APP_INSIGHTS = "azure-native:applicationinsights:Component"


def _public_network_disabled(path: str) -> Any:
    def check(props: Props) -> Iterable[str]:
        if str(lookup(props, path)) != "Disabled":
            yield f"{path} must be Disabled (clients come through a private endpoint)"

    return check


def _private_cluster(props: Props) -> Iterable[str]:
    if not enabled(lookup(props, "apiServerAccessProfile.enablePrivateCluster")):
        yield "apiServerAccessProfile.enablePrivateCluster must be true (the API server answers inside the network)"
    if enabled(lookup(props, "apiServerAccessProfile.enablePrivateClusterPublicFQDN")):
        yield "apiServerAccessProfile.enablePrivateClusterPublicFQDN must not be true (no public name for it)"


def _data_endpoint(props: Props) -> Iterable[str]:
    if not enabled(props.get("dataEndpointEnabled")):
        yield "dataEndpointEnabled must be true (the private endpoint carries the registry's data endpoint)"


def _local_auth(path: str) -> Any:
    def check(props: Props) -> Iterable[str]:
        if not enabled(lookup(props, path)):
            yield f"{path} must be true: ingestion and queries take Entra ID tokens, never shared keys"

    return check


def _encryption_at_host(props: Props) -> Iterable[str]:
    for name, pool in _pools(props):
        if not enabled(lookup(pool, "enableEncryptionAtHost")):
            yield f"node pool {name}: enableEncryptionAtHost must be true"


def _ephemeral_os_disk(props: Props) -> Iterable[str]:
    for name, pool in _pools(props):
        if str(lookup(pool, "osDiskType")) != "Ephemeral":
            yield f"node pool {name}: osDiskType must be Ephemeral"


def _private_endpoints(resources: Sequence[Any]) -> Iterable[tuple[str, str | None]]:
    # Policies see no resource IDs; an endpoint wired to a target's ID depends on it, in the first preview as well.
    endpoints = [r for r in resources if r.resource_type == PRIVATE_ENDPOINT]
    groups = [r for r in resources if r.resource_type == ZONE_GROUP]
    scoped = [r for r in resources if r.resource_type == SCOPED_RESOURCE]
    for target in resources:
        if target.resource_type in (WORKSPACE, APP_INSIGHTS) and is_prod(target.props):
            # Azure Monitor resources are reached through the private link scope they are added to.
            if not any(depends_on(member, target) for member in scoped):
                yield f"{target.name}: not in an Azure Monitor private link scope", target.urn
            continue
        if target.resource_type not in (VAULT, REGISTRY) or not is_prod(target.props):
            continue
        mine = [endpoint for endpoint in endpoints if depends_on(endpoint, target)]
        if not mine:
            yield f"{target.name}: no private endpoint connects to it", target.urn
        elif not any(depends_on(group, endpoint) for endpoint in mine for group in groups):
            yield (
                f"{target.name}: its private endpoint has no DNS zone group, so its name resolves publicly",
                target.urn,
            )


POLICIES: list[Any] = [
    resource_rule(
        "keyvault-public-network-disabled",
        "checkov CKV_AZURE_189: Ensure that Azure Key Vault disables public network access "
        "(properties.publicNetworkAccess Disabled, prod).",
        VAULT,
        prod_only(_public_network_disabled("properties.publicNetworkAccess")),
    ),
    resource_rule(
        "acr-public-network-disabled",
        "checkov CKV_AZURE_139: Ensure ACR set to disable public networking (publicNetworkAccess Disabled, prod).",
        REGISTRY,
        prod_only(_public_network_disabled("publicNetworkAccess")),
    ),
    resource_rule(
        "acr-dedicated-data-endpoint",
        "checkov CKV_AZURE_237: Ensure dedicated data endpoints are enabled (dataEndpointEnabled, prod).",
        REGISTRY,
        prod_only(_data_endpoint),
    ),
    stack_rule(
        "private-endpoint-present",
        "checkov CKV2_AZURE_32: Ensure private endpoint is configured to key vault; architecture: the same for both "
        "registries, each with a DNS zone group, and the workspace and Application Insights in an Azure Monitor "
        "private link scope (prod).",
        _private_endpoints,
    ),
    resource_rule(
        "aks-private-api-server",
        "checkov CKV_AZURE_115: Ensure that AKS enables private clusters (apiServerAccessProfile, prod).",
        CLUSTER,
        prod_only(_private_cluster),
    ),
    resource_rule(
        "aks-encryption-at-host",
        "checkov CKV_AZURE_227: Ensure that the AKS cluster encrypt temp disks, caches, and data flows between "
        "Compute and Storage resources (enableEncryptionAtHost on every pool, prod).",
        POOLS,
        prod_only(_encryption_at_host),
    ),
    resource_rule(
        "aks-ephemeral-os-disk",
        "checkov CKV_AZURE_226: Ensure ephemeral disks are used for OS disks (osDiskType on every pool, prod).",
        POOLS,
        prod_only(_ephemeral_os_disk),
    ),
    resource_rule(
        "monitor-public-ingestion-disabled",
        "architecture (Azure Policy built-ins: Log Analytics workspaces and Application Insights components should "
        "block log ingestion and querying from public networks; ingestion here): publicNetworkAccessForIngestion "
        "Disabled (prod).",
        (WORKSPACE, APP_INSIGHTS),
        prod_only(_public_network_disabled("publicNetworkAccessForIngestion")),
    ),
    resource_rule(
        "loganalytics-local-auth-disabled",
        "architecture (Azure Policy built-in: Log Analytics Workspaces should block non-Azure Active Directory based "
        "ingestion): features.disableLocalAuth (prod).",
        WORKSPACE,
        prod_only(_local_auth("features.disableLocalAuth")),
    ),
    resource_rule(
        "appinsights-local-auth-disabled",
        "architecture (Azure Policy built-in: Application Insights components should block non-Azure Active "
        "Directory based ingestion): disableLocalAuth (prod).",
        APP_INSIGHTS,
        prod_only(_local_auth("disableLocalAuth")),
    ),
]
