"""One AKS cluster with Container Insights on the Azure Monitor Agent; the estate has two, staging and production."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import authorization, containerservice

from components.cluster_access import SubnetJoin, api_server_access, grant_subnet_join
from components.component import Component, Placement
from components.config import EstateConfig
from components.config_network import DNS_SERVICE_IP, POD_CIDR, SERVICE_CIDR
from components.config_parts import Cluster as ClusterConfig
from components.container_insights import ContainerInsightsArgs, collect_container_insights
from components.diagnostics import send_logs_to_workspace
from components.identity import Assigner
from components.monitoring import Monitoring
from components.naming import NODE_POOLS, EstateNames, Stage, checked

CONTROL_PLANE_LOG_CATEGORIES = (
    "kube-apiserver",
    "kube-audit-admin",
    "kube-controller-manager",
    "kube-scheduler",
    "cluster-autoscaler",
    "guard",
)
SYSTEM_POOL_TAINT = "CriticalAddonsOnly=true:NoSchedule"
AGENT_POOL_OS_SKU = containerservice.OSSKU.AZURE_LINUX


@dataclass(frozen=True)
class NodePoolArgs:
    vm_size: str
    min_count: int
    max_count: int
    zones: Sequence[str]
    max_pods: int
    os_disk_size_gb: int
    os_disk_type: str = "Managed"
    encryption_at_host: bool = False


@dataclass(frozen=True)
class ClusterArgs:
    placement: Placement
    cluster_name: str
    dns_prefix: str
    node_resource_group: str
    container_insights_rule_name: str
    kubernetes_version: str
    tier: str
    system_pool: NodePoolArgs
    user_pool: NodePoolArgs
    upgrade_channel: str
    node_os_upgrade_channel: str
    api_server_authorized_ip_ranges: Sequence[str]
    # The subnet of the estate network this cluster's nodes (both pools) take their addresses from.
    node_subnet_id: pulumi.Input[str]
    # A private cluster: the API server has only a private endpoint in the node subnet (components/cluster_access.py).
    private: bool
    assigner: Assigner
    tenant_id: pulumi.Input[str]
    admin_group_object_ids: Sequence[str]
    workspace_id: pulumi.Input[str]
    # Set where the workspace ingests through a private link: the agents' configuration endpoint.
    data_collection_endpoint_id: pulumi.Input[str] | None
    protect: bool


def _pool(
    name: str, mode: containerservice.AgentPoolMode, pool: NodePoolArgs, subnet_id: pulumi.Input[str]
) -> containerservice.ManagedClusterAgentPoolProfileArgs:
    return containerservice.ManagedClusterAgentPoolProfileArgs(
        name=name, mode=mode, **_pool_properties(mode, pool, subnet_id)
    )


def _pool_properties(
    mode: containerservice.AgentPoolMode, pool: NodePoolArgs, subnet_id: pulumi.Input[str]
) -> dict[str, Any]:
    """What an inline profile and a separate AgentPool share (the two SDK types take the same argument names)."""
    return {
        "vnet_subnet_id": subnet_id,
        "vm_size": pool.vm_size,
        "count": pool.min_count,
        "min_count": pool.min_count,
        "max_count": pool.max_count,
        "enable_auto_scaling": True,
        "availability_zones": list(pool.zones) or None,
        "max_pods": pool.max_pods,
        "os_disk_size_gb": pool.os_disk_size_gb,
        # The config checks that the size's cache or temporary disk holds an ephemeral OS disk
        # (components/config_hardening.py); encryption at host covers the temporary disk and caches too.
        "os_disk_type": pool.os_disk_type,
        "enable_encryption_at_host": pool.encryption_at_host or None,
        "os_type": containerservice.OSType.LINUX,
        "os_sku": AGENT_POOL_OS_SKU,
        "type": containerservice.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
        # Application pods stay off the system pool so a noisy service cannot starve CoreDNS or the agents.
        "node_taints": [SYSTEM_POOL_TAINT] if mode == containerservice.AgentPoolMode.SYSTEM else None,
        "upgrade_settings": containerservice.AgentPoolUpgradeSettingsArgs(max_surge="33%"),
        "enable_node_public_ip": False,
    }


def user_pool_name(pool: NodePoolArgs) -> str:
    """The user pool's AKS name: "user" and a short hash of the settings AKS fixes when it creates a pool.

    AKS answers PropertyChangeNotAllowed to an in-place change of the VM size, OS disk, zones, max pods or OS SKU
    (learn.microsoft.com/azure/aks/resize-node-pool: a resize is a new pool, then cordon, drain, delete the old one).
    pulumi-azure-native marks only vmSize (and gpuInstanceProfile) force-new for AgentPool
    (provider/pkg/gen/replacement.go, forceNewMap), so a disk, zone or max-pods change would be sent as an update
    and refused; and a replacement under the same URN would go delete-first, since the provider's Diff answers
    DeleteBeforeReplace for every replacement of an explicitly named resource (provider/pkg/provider/provider.go,
    Diff). A new name in the logical name as well gives every such change a new pool under a new URN: the engine
    creates it with the other registrations and deletes the URNs no longer registered afterwards (pulumi/pulumi
    pkg/resource/deploy/step_generator.go, GenerateDeletes), so the new nodes exist before the old pool goes.
    """
    fixed = {
        "vmSize": pool.vm_size,
        "osDiskSizeGB": pool.os_disk_size_gb,
        "availabilityZones": sorted(pool.zones),
        "maxPods": pool.max_pods,
        "osSKU": str(AGENT_POOL_OS_SKU.value),
        # Also fixed at creation; left out while at their defaults, so pools created before them keep their names.
        **({"osDiskType": pool.os_disk_type} if pool.os_disk_type != "Managed" else {}),
        **({"enableEncryptionAtHost": True} if pool.encryption_at_host else {}),
    }
    digest = hashlib.sha256(json.dumps(fixed, sort_keys=True).encode()).hexdigest()[:6]
    return checked("AKS node pool", f"{NODE_POOLS['user']}{digest}")


class Cluster(Component):
    cluster_id: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    kubelet_object_id: pulumi.Output[str]
    app_routing_object_id: pulumi.Output[str]
    node_resource_group: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    cluster_name_after_user_pool: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:containers:Cluster", name, opts)
        cluster = containerservice.ManagedCluster(
            f"{name}-aks",
            resource_name_=args.cluster_name,
            **args.placement,
            dns_prefix=args.dns_prefix,
            node_resource_group=args.node_resource_group,
            kubernetes_version=args.kubernetes_version,
            sku=containerservice.ManagedClusterSKUArgs(
                name=containerservice.ManagedClusterSKUName.BASE, tier=args.tier
            ),
            identity=containerservice.ManagedClusterIdentityArgs(
                type=containerservice.ResourceIdentityType.SYSTEM_ASSIGNED
            ),
            enable_rbac=True,
            disable_local_accounts=True,
            aad_profile=containerservice.ManagedClusterAADProfileArgs(
                managed=True,
                enable_azure_rbac=True,
                tenant_id=args.tenant_id,
                admin_group_object_ids=list(args.admin_group_object_ids),
            ),
            oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=containerservice.ManagedClusterSecurityProfileArgs(
                workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True),
                defender=containerservice.ManagedClusterSecurityProfileDefenderArgs(
                    log_analytics_workspace_resource_id=args.workspace_id,
                    security_monitoring=containerservice.ManagedClusterSecurityProfileDefenderSecurityMonitoringArgs(
                        enabled=True
                    ),
                ),
                image_cleaner=containerservice.ManagedClusterSecurityProfileImageCleanerArgs(
                    enabled=True, interval_hours=168
                ),
            ),
            # AKS needs its system pool inline at create. User pools are separate AgentPools: AKS refuses to add a
            # pool through the cluster's PUT ("A new agent pool was introduced", pulumi-azure-native#2719) and
            # leaves alone pools the PUT does not list (pulumi-azure-native#579, #1686), so the cluster's updates
            # never touch them.
            agent_pool_profiles=[
                _pool(
                    NODE_POOLS["system"], containerservice.AgentPoolMode.SYSTEM, args.system_pool, args.node_subnet_id
                ),
            ],
            network_profile=containerservice.ContainerServiceNetworkProfileArgs(
                network_plugin=containerservice.NetworkPlugin.AZURE,
                network_plugin_mode=containerservice.NetworkPluginMode.OVERLAY,
                network_dataplane=containerservice.NetworkDataplane.CILIUM,
                network_policy=containerservice.NetworkPolicy.CILIUM,
                # The config refuses an address plan that overlaps these (components/config_network.py).
                pod_cidr=POD_CIDR,
                service_cidr=SERVICE_CIDR,
                dns_service_ip=DNS_SERVICE_IP,
                load_balancer_sku=containerservice.LoadBalancerSku.STANDARD,
                outbound_type=containerservice.OutboundType.LOAD_BALANCER,
            ),
            auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel=args.upgrade_channel,
                node_os_upgrade_channel=args.node_os_upgrade_channel,
            ),
            api_server_access_profile=api_server_access(args.private, args.api_server_authorized_ip_ranges),
            # The application routing add-on (managed NGINX) carries traffic into the services that ask to be exposed.
            ingress_profile=containerservice.ManagedClusterIngressProfileArgs(
                web_app_routing=containerservice.ManagedClusterIngressProfileWebAppRoutingArgs(enabled=True)
            ),
            addon_profiles={
                "azurepolicy": containerservice.ManagedClusterAddonProfileArgs(enabled=True),
                "azureKeyvaultSecretsProvider": containerservice.ManagedClusterAddonProfileArgs(
                    enabled=True, config={"enableSecretRotation": "true", "rotationPollInterval": "2m"}
                ),
                # Container Insights on the Azure Monitor Agent: managed-identity auth, data routed by the DCR below.
                "omsagent": containerservice.ManagedClusterAddonProfileArgs(
                    enabled=True, config={"logAnalyticsWorkspaceResourceID": args.workspace_id, "useAADAuth": "true"}
                ),
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                ignore_changes=_ignored_changes(args.upgrade_channel),
                # A cluster is named, so its replacement can only follow its deletion. azure-native deletes first on
                # replacements its own Diff plans, but `pulumi up --replace` (README, "Upgrading a stack created before
                # the private estate") plans create-first unless this option says otherwise (pulumi/pulumi
                # pkg/resource/deploy/step_generator.go, the targeted-replace diff), and azure-native's Create then
                # refuses the existing name (provider/pkg/provider/provider.go defaultCreate, CanCreate).
                delete_before_replace=True,
            ),
        )
        # The identity joins the pool's machines and load balancers to the subnet: the pool waits for the grant (with a
        # system-assigned identity it can only follow the cluster, learn.microsoft.com/azure/aks/use-managed-identity).
        subnet_join = grant_subnet_join(
            f"{name}-subnet-network-contributor",
            SubnetJoin(args.assigner, args.cluster_name, args.node_subnet_id),
            cluster.identity,
            parent=self,
        )
        pool_name = user_pool_name(args.user_pool)
        user_pool = containerservice.AgentPool(
            f"{name}-pool-{pool_name}",
            agent_pool_name=pool_name,
            resource_group_name=args.placement["resource_group_name"],
            resource_name_=cluster.name,
            mode=containerservice.AgentPoolMode.USER,
            **_pool_properties(containerservice.AgentPoolMode.USER, args.user_pool, args.node_subnet_id),
            tags=args.placement["tags"],
            # Not protected, even in prod: a pool holds no state, and its retirement is how a refused change
            # becomes a replacement.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[subnet_join], ignore_changes=_ignored_pool_changes(args.upgrade_channel)
            ),
        )
        collect_container_insights(
            name,
            ContainerInsightsArgs(
                rule_name=args.container_insights_rule_name,
                cluster_name=args.cluster_name,
                placement=args.placement,
                workspace_id=args.workspace_id,
                data_collection_endpoint_id=args.data_collection_endpoint_id,
            ),
            cluster.id,
            parent=self,
        )
        send_logs_to_workspace(
            f"{name}-diagnostics",
            resource_id=cluster.id,
            workspace_id=args.workspace_id,
            parent=self,
            log_categories=CONTROL_PLANE_LOG_CATEGORIES,
        )
        self.cluster_id = cluster.id
        self.cluster_name = cluster.name
        self.kubelet_object_id = cluster.identity_profile.apply(_kubelet_object_id)
        self.oidc_issuer_url = cluster.oidc_issuer_profile.apply(lambda profile: (profile and profile.issuer_url) or "")
        # What writes through the API server waits for the user pool: the application routing operator registers the
        # NginxIngressController CRD only once it runs (Azure/aks-app-routing-operator pkg/controller/crd.go,
        # loadCRDs), while pulumi-kubernetes retries "no matches for kind" for about 31 s only (provider/pkg/await/
        # await.go, Creation; pkg/retry/retry.go). The pool's creation, after the cluster's, gives the add-on minutes.
        self.cluster_name_after_user_pool = pulumi.Output.all(cluster.name, user_pool.name).apply(
            lambda names: str(names[0])
        )
        # Created by AKS with the cluster: what waits on it (the budget's filter) waits on the cluster.
        self.node_resource_group = cluster.node_resource_group.apply(lambda group: group or "")
        # The add-on's own identity, which reads TLS certificates from Key Vault for the ingresses.
        self.app_routing_object_id = cluster.ingress_profile.apply(_app_routing_object_id)
        self.register_outputs(
            {
                "clusterId": self.cluster_id,
                "clusterName": self.cluster_name,
                "kubeletObjectId": self.kubelet_object_id,
                "appRoutingObjectId": self.app_routing_object_id,
                "oidcIssuerUrl": self.oidc_issuer_url,
            }
        )


def _ignored_changes(upgrade_channel: str) -> list[str]:
    # The cluster autoscaler owns node counts after creation; without this every `pulumi up` would fight it back to
    # the minimum.
    ignored = ["agentPoolProfiles[*].count"]
    if upgrade_channel != "patch":
        # These channels move the minor version themselves; sending the configured (older) one back would be a
        # downgrade AKS refuses, so the cluster's version is AKS's to keep from then on.
        ignored += ["kubernetesVersion", "agentPoolProfiles[*].orchestratorVersion"]
    return ignored


def _ignored_pool_changes(upgrade_channel: str) -> list[str]:
    # The same two reasons as the cluster's: the autoscaler owns the count, the channel owns the version.
    return ["count", *(["orchestratorVersion"] if upgrade_channel != "patch" else [])]


def _kubelet_object_id(profile: object) -> str:
    kubelet = (profile or {}).get("kubeletidentity") if isinstance(profile, dict) else None
    object_id = getattr(kubelet, "object_id", None)
    if not object_id:
        raise ValueError("AKS reported no kubelet identity; it is needed to grant AcrPull")
    return str(object_id)


def _app_routing_object_id(profile: object) -> str:
    routing = getattr(profile, "web_app_routing", None)
    object_id = getattr(getattr(routing, "identity", None), "object_id", None)
    if not object_id:
        raise ValueError("AKS reported no application routing identity; it is needed to read TLS certificates")
    return str(object_id)


def cluster_args(
    stage: Stage,
    settings: ClusterConfig,
    *,
    config: EstateConfig,
    names: EstateNames,
    resource_group_name: pulumi.Input[str],
    client: pulumi.Output[authorization.GetClientConfigResult],
    assigner: Assigner,
    monitoring: Monitoring,
    node_subnet_id: pulumi.Input[str],
    tags: dict[str, str],
) -> ClusterArgs:
    """One stage's cluster from the stack config (its node pool model holds exactly NodePoolArgs' fields)."""
    return ClusterArgs(
        placement=Placement(resource_group_name=resource_group_name, location=config.location, tags=tags),
        cluster_name=names.cluster(stage),
        dns_prefix=names.cluster_dns_prefix(stage),
        node_resource_group=names.node_resource_group(stage),
        container_insights_rule_name=names.container_insights_rule(stage),
        kubernetes_version=settings.kubernetes_version,
        tier=settings.tier,
        system_pool=NodePoolArgs(**settings.system_pool.model_dump()),
        user_pool=NodePoolArgs(**settings.user_pool.model_dump()),
        upgrade_channel=settings.upgrade_channel,
        node_os_upgrade_channel=settings.node_os_upgrade_channel,
        api_server_authorized_ip_ranges=settings.api_server_authorized_ip_ranges,
        node_subnet_id=node_subnet_id,
        private=config.network.private,
        assigner=assigner,
        tenant_id=client.tenant_id,
        admin_group_object_ids=[str(group_id) for group_id in config.admin_group_object_ids],
        workspace_id=monitoring.workspace_id,
        data_collection_endpoint_id=monitoring.data_collection_endpoint_id,
        protect=config.environment == "prod",  # a dev stack must stay easy to tear down
    )
