"""Private endpoints for the estate's closed services, and the private DNS zones that make their names resolve to them.

A private endpoint alone is not enough: clients keep resolving `<vault>.vault.azure.net` to the public address (which
the service refuses) unless a private DNS zone named after the service's `privatelink` subdomain is linked to their
virtual network and holds the endpoint's records. The endpoint's DNS zone group writes those records (one per FQDN
the service exposes: a registry's login server and its regional data endpoint, `<registry>.<region>.data.azurecr.io`)
and keeps them in step with the endpoint's addresses (learn.microsoft.com/azure/private-link/private-endpoint-dns,
"Azure services DNS zone configuration" gives each zone name; .../private-endpoint-dns-integration).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network, privatedns

# Private Link sub-resource (group ID) -> the private DNS zone its names resolve through.
ZONES = {"vault": "privatelink.vaultcore.azure.net", "registry": "privatelink.azurecr.io"}


@dataclass(frozen=True)
class Endpoint:
    """A private endpoint named `endpoint_name` for `target_id`'s `group_id` sub-resource (a key of ZONES)."""

    key: str
    endpoint_name: str
    target_id: pulumi.Input[str]
    group_id: str


@dataclass(frozen=True)
class PrivateAccessArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    vnet_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    endpoints: Sequence[Endpoint]
    tags: dict[str, str]


class PrivateAccess(pulumi.ComponentResource):
    endpoint_ids: dict[str, pulumi.Output[str]]
    zone_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: PrivateAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:network:PrivateAccess", name, None, opts)
        zones: dict[str, privatedns.PrivateZone] = {}
        for group_id in sorted({endpoint.group_id for endpoint in args.endpoints}):
            zone_name = ZONES[group_id]
            zone = privatedns.PrivateZone(
                f"{name}-zone-{group_id}",
                private_zone_name=zone_name,
                resource_group_name=args.resource_group_name,
                # Private DNS zones are global resources.
                location="global",
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            privatedns.VirtualNetworkLink(
                f"{name}-zone-{group_id}-link",
                virtual_network_link_name="estate-network",
                private_zone_name=zone.name,
                resource_group_name=args.resource_group_name,
                location="global",
                virtual_network=privatedns.SubResourceArgs(id=args.vnet_id),
                # Resolution only: the zone holds the endpoints' records, written by their zone groups.
                registration_enabled=False,
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            zones[group_id] = zone
        self.endpoint_ids = {}
        for endpoint in args.endpoints:
            private_endpoint = network.PrivateEndpoint(
                f"{name}-{endpoint.key}",
                private_endpoint_name=endpoint.endpoint_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                subnet=network.SubnetArgs(id=args.subnet_id),
                private_link_service_connections=[
                    network.PrivateLinkServiceConnectionArgs(
                        name=endpoint.endpoint_name,
                        private_link_service_id=endpoint.target_id,
                        group_ids=[endpoint.group_id],
                    )
                ],
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            network.PrivateDnsZoneGroup(
                f"{name}-{endpoint.key}-dns",
                private_dns_zone_group_name="default",
                private_endpoint_name=private_endpoint.name,
                resource_group_name=args.resource_group_name,
                private_dns_zone_configs=[
                    network.PrivateDnsZoneConfigArgs(
                        name=ZONES[endpoint.group_id].replace(".", "-"), private_dns_zone_id=zones[endpoint.group_id].id
                    )
                ],
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.endpoint_ids[endpoint.key] = private_endpoint.id
        self.zone_ids = {group_id: zone.id for group_id, zone in zones.items()}
        self.register_outputs({"endpointIds": self.endpoint_ids, "zoneIds": self.zone_ids})
