"""The estate's virtual network: one per stack, a subnet for each cluster's nodes, the private endpoints and the agents.

The subnets are declared inline in the virtual network, which then owns them: an ARM PUT of a virtual network that
lists subnets replaces its subnet list, so mixing inline and separate Subnet resources makes each update of one undo
the other (pulumi-azure-native#611, #74). Inline, every change goes through one resource and one diff.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network

from components.component import Component, Placement
from components.config import EstateConfig
from components.config_network import Network as NetworkPlan
from components.monitoring import Monitoring
from components.naming import EstateNames, SubnetRole
from components.private_link import Endpoint, PrivateAccess, PrivateAccessArgs

# Managed DevOps Pools inject their agents into a subnet delegated to this service
# (learn.microsoft.com/azure/devops/managed-devops-pools/configure-networking, "Delegate the subnet").
DEVOPS_POOL_DELEGATION = "Microsoft.DevOpsInfrastructure/pools"


@dataclass(frozen=True)
class SubnetPlan:
    name: str
    address_prefix: str
    security_group_name: str


@dataclass(frozen=True)
class NetworkArgs:
    placement: Placement
    network_name: str
    address_space: str
    subnets: Mapping[SubnetRole, SubnetPlan]
    # Ports the node subnets admit from the internet: the application routing add-on's public load balancer sends
    # client traffic to the nodes, and a custom subnet NSG is not managed by AKS (learn.microsoft.com/azure/aks/
    # concepts-network, "Network security groups": with your own subnet, AKS does not update its NSG). By stage: each
    # cluster's ingress serves its own stage's certificates.
    public_ingress_ports: Mapping[str, Sequence[int]]
    # A NAT gateway with a static public address for the agents' subnet (named here; empty: none). The agents need
    # outbound HTTPS to Azure DevOps; a NAT gateway is the explicit way out that Azure recommends over the default
    # outbound access it is retiring (learn.microsoft.com/azure/virtual-network/ip-services/default-outbound-access),
    # and it gives the pool one known egress address.
    agents_nat_gateway_name: str = ""
    agents_egress_ip_name: str = ""


NODE_SUBNETS: dict[str, SubnetRole] = {"staging": "staging-nodes", "production": "production-nodes"}
_STAGES: dict[SubnetRole, str] = {role: stage for stage, role in NODE_SUBNETS.items()}


def subnet_plans(names: EstateNames, plan: NetworkPlan) -> dict[SubnetRole, SubnetPlan]:
    ranges: dict[SubnetRole, str] = {
        "staging-nodes": plan.subnets.staging_nodes,
        "production-nodes": plan.subnets.production_nodes,
        "private-endpoints": plan.subnets.private_endpoints,
        "agents": plan.subnets.agents,
    }
    return {
        role: SubnetPlan(names.subnet(role), prefix, names.network_security_group(role))
        for role, prefix in ranges.items()
    }


def public_ingress_ports(exposures: Iterable[tuple[str | None, bool]]) -> list[int]:
    """The ports clients reach publicly exposed services on, from each service's (expose, has a certificate): HTTPS
    for every one, plain HTTP only while a public service has no certificate to serve."""
    public = [has_certificate for expose, has_certificate in exposures if expose == "public"]
    return sorted({443, *([80] if not all(public) else [])}) if public else []


class Network(Component):
    vnet_id: pulumi.Output[str]
    vnet_name: pulumi.Output[str]
    node_subnet_ids: dict[str, pulumi.Output[str]]
    private_endpoint_subnet_id: pulumi.Output[str]
    agent_subnet_id: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:network:Network", name, opts)
        groups = {
            role: network.NetworkSecurityGroup(
                f"{name}-nsg-{role}",
                network_security_group_name=plan.security_group_name,
                **args.placement,
                security_rules=_rules(role, args.public_ingress_ports.get(_STAGES.get(role, ""), ())),
                opts=self.child,
            )
            for role, plan in args.subnets.items()
        }
        nat_gateway_id = self._agents_nat_gateway(name, args) if args.agents_nat_gateway_name else None
        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=args.network_name,
            **args.placement,
            address_space=network.AddressSpaceArgs(address_prefixes=[args.address_space]),
            subnets=[
                _subnet(role, plan, groups[role].id, nat_gateway_id if role == "agents" else None)
                for role, plan in args.subnets.items()
            ],
            opts=self.child,
        )
        subnet_ids = {
            # ARM names a subnet as a child of its network: `<virtual network ID>/subnets/<name>`.
            role: vnet.id.apply(lambda vnet_id, subnet=plan.name: f"{vnet_id}/subnets/{subnet}")
            for role, plan in args.subnets.items()
        }
        self.vnet_id = vnet.id
        self.vnet_name = vnet.name
        self.node_subnet_ids = {stage: subnet_ids[role] for stage, role in NODE_SUBNETS.items()}
        self.private_endpoint_subnet_id = subnet_ids["private-endpoints"]
        self.agent_subnet_id = subnet_ids["agents"]
        self.register_outputs(
            {
                "vnetId": self.vnet_id,
                "nodeSubnetIds": self.node_subnet_ids,
                "privateEndpointSubnetId": self.private_endpoint_subnet_id,
                "agentSubnetId": self.agent_subnet_id,
            }
        )

    def _agents_nat_gateway(self, name: str, args: NetworkArgs) -> pulumi.Output[str]:
        address = network.PublicIPAddress(
            f"{name}-agents-egress-ip",
            public_ip_address_name=args.agents_egress_ip_name,
            **args.placement,
            sku=network.PublicIPAddressSkuArgs(name=network.PublicIPAddressSkuName.STANDARD),
            public_ip_allocation_method=network.IPAllocationMethod.STATIC,
            opts=self.child,
        )
        gateway = network.NatGateway(
            f"{name}-agents-nat",
            nat_gateway_name=args.agents_nat_gateway_name,
            **args.placement,
            sku=network.NatGatewaySkuArgs(name=network.NatGatewaySkuName.STANDARD),
            public_ip_addresses=[network.SubResourceArgs(id=address.id)],
            opts=self.child,
        )
        gateway_id: pulumi.Output[str] = gateway.id
        return gateway_id


def _subnet(
    role: SubnetRole, plan: SubnetPlan, security_group_id: pulumi.Input[str], nat_gateway_id: pulumi.Input[str] | None
) -> network.SubnetArgs:
    return network.SubnetArgs(
        name=plan.name,
        nat_gateway=network.SubResourceArgs(id=nat_gateway_id) if nat_gateway_id is not None else None,
        address_prefix=plan.address_prefix,
        network_security_group=network.NetworkSecurityGroupArgs(id=security_group_id),
        delegations=[network.DelegationArgs(name="devops-pools", service_name=DEVOPS_POOL_DELEGATION)]
        if role == "agents"
        else None,
        # Network policies on: the subnet's NSG also filters traffic to the private endpoints in it (they bypass
        # NSGs otherwise; learn.microsoft.com/azure/private-link/disable-private-endpoint-network-policy).
        private_endpoint_network_policies=network.VirtualNetworkPrivateEndpointNetworkPolicies.ENABLED
        if role == "private-endpoints"
        else None,
    )


def _rules(role: SubnetRole, public_ingress_ports: Sequence[int]) -> list[network.SecurityRuleArgs]:
    """Beyond Azure's default rules (inbound from the virtual network and the load balancer only, everything else
    denied; learn.microsoft.com/azure/virtual-network/network-security-groups-overview, "Default security rules")."""
    if role not in NODE_SUBNETS.values() or not public_ingress_ports:
        return []
    return [
        network.SecurityRuleArgs(
            name="allow-public-ingress",
            description="Client traffic to the application routing add-on's public load balancer",
            priority=100,
            direction=network.SecurityRuleDirection.INBOUND,
            access=network.SecurityRuleAccess.ALLOW,
            protocol=network.SecurityRuleProtocol.TCP,
            source_address_prefix="Internet",
            source_port_range="*",
            destination_address_prefix="*",
            destination_port_ranges=[str(port) for port in sorted(public_ingress_ports)],
        )
    ]


def estate_network(
    name: str,
    *,
    config: EstateConfig,
    names: EstateNames,
    group_name: pulumi.Input[str],
    private_targets: Mapping[str, pulumi.Input[str]],
    monitoring: Monitoring,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> Network:
    """The stack's network from its config; a private estate also gets a private endpoint in the private-endpoints
    subnet for the vault ("vault") and each registry (keyed by its role), and an Azure Monitor Private Link Scope with
    the workspace, Application Insights and the data collection endpoint, reached through its own endpoint."""
    estate_network = Network(
        name,
        NetworkArgs(
            placement=Placement(resource_group_name=group_name, location=config.location, tags=tags),
            network_name=names.virtual_network,
            address_space=config.network.address_space,
            subnets=subnet_plans(names, config.network),
            public_ingress_ports={
                # Staging publishes only a service with a stagingHost; the others answer on the internal controller.
                "staging": public_ingress_ports(
                    (s.expose, bool(s.staging_tls_certificate)) for s in config.services if s.staging_host
                ),
                "production": public_ingress_ports((s.expose, bool(s.tls_certificate)) for s in config.services),
            },
            # A private estate's agents leave through a NAT gateway; dev's stay on Azure's default outbound access.
            agents_nat_gateway_name=names.nat_gateway("agents") if config.network.private else "",
            agents_egress_ip_name=names.public_ip("agents-egress") if config.network.private else "",
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    if not config.network.private:
        return estate_network
    PrivateAccess(
        f"{name}-private-access",
        PrivateAccessArgs(
            placement=Placement(resource_group_name=group_name, location=config.location, tags=tags),
            vnet_id=estate_network.vnet_id,
            subnet_id=estate_network.private_endpoint_subnet_id,
            endpoints=[
                Endpoint(
                    key=key,
                    endpoint_name=names.private_endpoint("kv" if key == "vault" else f"cr-{key}"),
                    target_id=target_id,
                    group_id="vault" if key == "vault" else "registry",
                )
                for key, target_id in private_targets.items()
            ],
            monitor_scope_name=names.monitor_private_link_scope,
            monitor_endpoint_name=names.private_endpoint("ampls"),
            monitor_resources={
                "workspace": monitoring.workspace_id,
                "app-insights": monitoring.app_insights_id,
                **(
                    {"data-collection-endpoint": monitoring.data_collection_endpoint_id}
                    if monitoring.data_collection_endpoint_id is not None
                    else {}
                ),
            },
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return estate_network
