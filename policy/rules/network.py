"""The private estate's rules (issue 11), mandatory on prod: nothing public that need not be, no shared keys.

The vault and both registries refuse public traffic and each has a private endpoint whose DNS zone group registers its
names; the API servers are private; telemetry accepts Entra ID tokens only; nodes encrypt at host on ephemeral OS
disks. Each rule names its source: the checkov check (3.3.30, `checkov/terraform/checks/resource/azure/*.py`) where
one exists, otherwise the Azure Policy built-in it mirrors or the architecture.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pulumi_policy import Severity

from .clusters import CLUSTER, POOLS, _pools
from .common import About, Props, depends_on, enabled, is_prod, lookup, prod_only, resource_rule, stack_rule
from .registries import REGISTRY
from .sources import architecture, checkov
from .vault import VAULT

MONITOR_PRIVATE_LINK = "https://learn.microsoft.com/azure/azure-monitor/logs/private-link-security"
ENTRA_INGESTION = "https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication"

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
        "On prod, the vault refuses public network access (properties.publicNetworkAccess Disabled).",
        VAULT,
        prod_only(_public_network_disabled("properties.publicNetworkAccess")),
        About(
            checkov("CKV_AZURE_189"),
            Severity.HIGH,
            "Keep network.private true on prod (components/key_vault.py): the vault answers through its private "
            "endpoint only.",
        ),
    ),
    resource_rule(
        "acr-public-network-disabled",
        "On prod, every registry refuses public network access (publicNetworkAccess Disabled).",
        REGISTRY,
        prod_only(_public_network_disabled("publicNetworkAccess")),
        About(
            checkov("CKV_AZURE_139"),
            Severity.HIGH,
            "Keep network.private true on prod (components/registry.py); promotion uses the trusted-services bypass.",
        ),
    ),
    resource_rule(
        "acr-dedicated-data-endpoint",
        "On prod, every registry serves its layers from a dedicated data endpoint (dataEndpointEnabled).",
        REGISTRY,
        prod_only(_data_endpoint),
        About(
            checkov("CKV_AZURE_237"),
            Severity.MEDIUM,
            "Keep network.private true on prod (components/registry.py enables the data endpoint with the private "
            "endpoint).",
        ),
    ),
    stack_rule(
        "private-endpoint-present",
        "On prod, the vault and each registry have a private endpoint with a DNS zone group, and the workspace and "
        "Application Insights belong to an Azure Monitor private link scope.",
        _private_endpoints,
        About(
            checkov("CKV2_AZURE_32"),
            Severity.HIGH,
            "Keep network.private true on prod (components/private_link.py "
            "create the endpoints, zone groups and scope).",
        ),
    ),
    resource_rule(
        "aks-private-api-server",
        "On prod, every cluster's API server is private, with no public FQDN (apiServerAccessProfile).",
        CLUSTER,
        prod_only(_private_cluster),
        About(
            checkov("CKV_AZURE_115"),
            Severity.HIGH,
            "Keep network.private true on prod (components/cluster_access.py); operators use az aks command invoke.",
        ),
    ),
    resource_rule(
        "aks-encryption-at-host",
        "On prod, every node pool encrypts at host (enableEncryptionAtHost).",
        POOLS,
        prod_only(_encryption_at_host),
        About(
            checkov("CKV_AZURE_227"),
            Severity.MEDIUM,
            "Set clusters.<stage>.<pool>.encryptionAtHost true (prod's default) and register the "
            "Microsoft.Compute/EncryptionAtHost feature.",
        ),
    ),
    resource_rule(
        "aks-ephemeral-os-disk",
        "On prod, every node pool runs an ephemeral OS disk (osDiskType Ephemeral).",
        POOLS,
        prod_only(_ephemeral_os_disk),
        About(
            checkov("CKV_AZURE_226"),
            Severity.LOW,
            "Set clusters.<stage>.<pool>.osDiskType Ephemeral on a VM size whose cache or temp disk holds the OS "
            "disk (components/config_hardening.py names the sizes).",
        ),
    ),
    resource_rule(
        "monitor-public-ingestion-disabled",
        "On prod, the workspace and Application Insights refuse ingestion from public networks "
        "(publicNetworkAccessForIngestion Disabled).",
        (WORKSPACE, APP_INSIGHTS),
        prod_only(_public_network_disabled("publicNetworkAccessForIngestion")),
        About(
            architecture(MONITOR_PRIVATE_LINK, "telemetry reaches Azure Monitor through a private link scope only"),
            Severity.MEDIUM,
            "Keep network.private true on prod (components/monitoring.py, components/private_link.py).",
        ),
    ),
    resource_rule(
        "loganalytics-local-auth-disabled",
        "On prod, the workspace accepts Entra ID ingestion only (features.disableLocalAuth).",
        WORKSPACE,
        prod_only(_local_auth("features.disableLocalAuth")),
        About(
            architecture(ENTRA_INGESTION, "ingestion authenticates with Microsoft Entra ID, not shared keys"),
            Severity.HIGH,
            "Keep telemetry.localAuth false on prod (components/monitoring.py).",
        ),
    ),
    resource_rule(
        "appinsights-local-auth-disabled",
        "On prod, Application Insights accepts Entra ID ingestion only (disableLocalAuth).",
        APP_INSIGHTS,
        prod_only(_local_auth("disableLocalAuth")),
        About(
            architecture(ENTRA_INGESTION, "ingestion authenticates with Microsoft Entra ID, not shared keys"),
            Severity.HIGH,
            "Keep telemetry.localAuth false on prod (components/monitoring.py); pods send with their workload "
            "identity (components/tenancy.py).",
        ),
    ),
]
