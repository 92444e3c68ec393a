"""How a cluster sits in the estate network: who may reach its API server, and its identity's right to join its
node subnet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, containerservice

from components.identity import BUILT_IN_ROLES, Assigner, RoleAssignmentSpec, assign_role, system_assigned_principal


def api_server_access(
    private: bool, authorized_ip_ranges: Sequence[str]
) -> containerservice.ManagedClusterAPIServerAccessProfileArgs | None:
    """A private cluster rather than API server VNet integration: it is generally available in every region, needs
    no extra delegated subnet per cluster, and is the AKS baseline's choice; the one advantage of VNet integration,
    converting a running public cluster in place, does not apply here, since moving a cluster into the estate's
    subnet replaces it anyway (a pool's subnet is fixed at creation). The API server gets a private endpoint in the
    node subnet and a name in an AKS-managed private DNS zone (`system`) linked to the estate network, so the agents'
    subnet resolves and reaches it; no public FQDN is published. Run command stays enabled: `az aks command invoke`
    is the operator's way in (learn.microsoft.com/azure/aks/private-clusters, "Options for connecting to the private
    cluster")."""
    if private:
        return containerservice.ManagedClusterAPIServerAccessProfileArgs(
            enable_private_cluster=True,
            private_dns_zone="system",
            enable_private_cluster_public_fqdn=False,
            disable_run_command=False,
        )
    if authorized_ip_ranges:
        return containerservice.ManagedClusterAPIServerAccessProfileArgs(
            authorized_ip_ranges=list(authorized_ip_ranges)
        )
    return None


@dataclass(frozen=True)
class SubnetJoin:
    assigner: Assigner
    cluster_name: str
    subnet_id: pulumi.Input[str]


def grant_subnet_join(
    name: str, join: SubnetJoin, identity: pulumi.Output[object], parent: pulumi.Resource
) -> authorization.RoleAssignment:
    """With its own subnet, the cluster's identity joins load balancers (the internal ingress among them) to the
    subnet, which takes Network Contributor there (learn.microsoft.com/azure/aks/configure-azure-cni,
    "Prerequisites": the cluster identity needs at least Network Contributor on the subnet)."""
    return assign_role(
        name,
        RoleAssignmentSpec(
            assigner=join.assigner,
            purpose=f"{join.cluster_name}-subnet-network-contributor",
            principal_id=identity.apply(
                system_assigned_principal("the AKS cluster, whose identity needs Network Contributor on its subnet,")
            ),
            role_id=BUILT_IN_ROLES["Network Contributor"],
            scope=join.subnet_id,
            description=f"{join.cluster_name} joins its load balancers to its node subnet",
        ),
        parent,
    )
