"""Private endpoints for the estate's closed services, and the private DNS zones that make their names resolve to them.

A private endpoint alone is not enough: clients keep resolving `<vault>.vault.azure.net` to the public address (which
the service refuses) unless a private DNS zone named after the service's `privatelink` subdomain is linked to their
virtual network and holds the endpoint's records. The endpoint's DNS zone group writes those records (one per FQDN
the service exposes: a registry's login server and its regional data endpoint, `<registry>.<region>.data.azurecr.io`)
and keeps them in step with the endpoint's addresses (learn.microsoft.com/azure/private-link/private-endpoint-dns,
"Azure services DNS zone configuration" gives each zone name; .../private-endpoint-dns-integration).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import monitor, network, privatedns

from components.component import Component, Placement, at

# Private Link sub-resource (group ID) -> the private DNS zones its names resolve through, each with a short key for
# its logical name. An Azure Monitor Private Link Scope needs five: its global and regional endpoints, the Log
# Analytics ingestion (ods) and agent (oms, agentsvc) endpoints, and the storage the agents' solution packs come from
# (learn.microsoft.com/azure/azure-monitor/logs/private-link-security, "Private DNS zones").
ZONES: dict[str, dict[str, str]] = {
    "vault": {"vault": "privatelink.vaultcore.azure.net"},
    "registry": {"registry": "privatelink.azurecr.io"},
    "azuremonitor": {
        "monitor": "privatelink.monitor.azure.com",
        "oms": "privatelink.oms.opinsights.azure.com",
        "ods": "privatelink.ods.opinsights.azure.com",
        "agentsvc": "privatelink.agentsvc.azure-automation.net",
        "blob": "privatelink.blob.core.windows.net",
    },
}
# The blob zone holds records for Azure Monitor's storage only: every other storage account (the Pulumi state backend
# among them) must still resolve publicly from the network, which `NxDomainRedirect` does for names the zone lacks.
FALL_BACK_TO_PUBLIC = frozenset({"privatelink.blob.core.windows.net"})


@dataclass(frozen=True)
class Endpoint:
    """A private endpoint named `endpoint_name` for `target_id`'s `group_id` sub-resource (a key of ZONES)."""

    key: str
    endpoint_name: str
    target_id: pulumi.Input[str]
    group_id: str


@dataclass(frozen=True)
class PrivateAccessArgs:
    placement: Placement
    vnet_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    endpoints: Sequence[Endpoint]
    # An Azure Monitor Private Link Scope named `monitor_scope_name` holding these resources (by a short key), reached
    # through a private endpoint "monitor"; empty: none.
    monitor_scope_name: str = ""
    monitor_endpoint_name: str = ""
    monitor_resources: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


class PrivateAccess(Component):
    endpoint_ids: dict[str, pulumi.Output[str]]
    zone_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: PrivateAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:network:PrivateAccess", name, opts)
        endpoints = list(args.endpoints)
        if args.monitor_resources:
            scope = monitor.PrivateLinkScope(
                f"{name}-monitor-scope",
                scope_name=args.monitor_scope_name,
                **at("global", args.placement),
                # Open: the scope does not stop the network's clients reaching other Azure Monitor resources; the
                # estate's own refuse public ingestion themselves (publicNetworkAccessForIngestion Disabled).
                access_mode_settings=monitor.AccessModeSettingsArgs(
                    ingestion_access_mode=monitor.AccessMode.OPEN, query_access_mode=monitor.AccessMode.OPEN
                ),
                opts=self.child,
            )
            for key, resource_id in args.monitor_resources.items():
                monitor.PrivateLinkScopedResource(
                    f"{name}-monitor-scope-{key}",
                    name=key,
                    scope_name=scope.name,
                    resource_group_name=args.placement["resource_group_name"],
                    linked_resource_id=resource_id,
                    opts=self.child,
                )
            endpoints.append(Endpoint("monitor", args.monitor_endpoint_name, scope.id, "azuremonitor"))
        zones: dict[str, privatedns.PrivateZone] = {}
        for group_id in sorted({endpoint.group_id for endpoint in endpoints}):
            for zone_key, zone_name in ZONES[group_id].items():
                zone = privatedns.PrivateZone(
                    f"{name}-zone-{zone_key}",
                    private_zone_name=zone_name,
                    # Private DNS zones are global resources.
                    **at("global", args.placement),
                    opts=self.child,
                )
                privatedns.VirtualNetworkLink(
                    f"{name}-zone-{zone_key}-link",
                    virtual_network_link_name="estate-network",
                    private_zone_name=zone.name,
                    **at("global", args.placement),
                    virtual_network=privatedns.SubResourceArgs(id=args.vnet_id),
                    # Resolution only: the zone holds the endpoints' records, written by their zone groups.
                    registration_enabled=False,
                    resolution_policy=privatedns.ResolutionPolicy.NX_DOMAIN_REDIRECT
                    if zone_name in FALL_BACK_TO_PUBLIC
                    else None,
                    opts=self.child,
                )
                zones[zone_name] = zone
        self.endpoint_ids = {}
        for endpoint in endpoints:
            private_endpoint = network.PrivateEndpoint(
                f"{name}-{endpoint.key}",
                private_endpoint_name=endpoint.endpoint_name,
                **args.placement,
                subnet=network.SubnetArgs(id=args.subnet_id),
                private_link_service_connections=[
                    network.PrivateLinkServiceConnectionArgs(
                        name=endpoint.endpoint_name,
                        private_link_service_id=endpoint.target_id,
                        group_ids=[endpoint.group_id],
                    )
                ],
                opts=self.child,
            )
            network.PrivateDnsZoneGroup(
                f"{name}-{endpoint.key}-dns",
                private_dns_zone_group_name="default",
                private_endpoint_name=private_endpoint.name,
                resource_group_name=args.placement["resource_group_name"],
                private_dns_zone_configs=[
                    network.PrivateDnsZoneConfigArgs(
                        name=zone_name.replace(".", "-"), private_dns_zone_id=zones[zone_name].id
                    )
                    for zone_name in ZONES[endpoint.group_id].values()
                ],
                opts=self.child,
            )
            self.endpoint_ids[endpoint.key] = private_endpoint.id
        self.zone_ids = {zone_name: zone.id for zone_name, zone in zones.items()}
        self.register_outputs({"endpointIds": self.endpoint_ids, "zoneIds": self.zone_ids})
