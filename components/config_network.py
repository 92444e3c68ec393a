"""The estate network's part of the stack config: the address plan, validated before any resource exists.

One virtual network per stack holds a subnet for each cluster's nodes, one for private endpoints and one for the
Managed DevOps Pool's agents. With Azure CNI overlay the pods and services take their addresses from ranges outside
the virtual network (POD_CIDR, SERVICE_CIDR), so neither may overlap any part of the plan
(learn.microsoft.com/azure/aks/azure-cni-overlay, "IP address planning": the pod CIDR must not overlap the cluster
subnet; the service CIDR must not overlap the virtual network).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Self

from pydantic import AfterValidator, model_validator

from components.config_parts import ConfigModel, Violation, _refuse

# The clusters' overlay ranges (components/cluster.py's network profile reads them from here, so the rule below checks
# the ranges the clusters really use).
POD_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.0.0.0/16"
DNS_SERVICE_IP = "10.0.0.10"
# Azure's smallest subnet is a /29 and it keeps five addresses of each subnet for itself
# (learn.microsoft.com/azure/virtual-network/virtual-networks-faq, "Are there any restrictions on using IP addresses
# within these subnets?").
SMALLEST_SUBNET_PREFIX = 29


def _private_range(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"must be an IPv4 CIDR range with no host bits set ({exc})") from None
    if network.version != 4 or not network.is_private:
        raise ValueError("must be a private IPv4 range (RFC 1918, e.g. 10.240.0.0/16): a virtual network's addresses")
    return str(network)


PrivateIpRange = Annotated[str, AfterValidator(_private_range)]


class Subnets(ConfigModel):
    staging_nodes: PrivateIpRange
    production_nodes: PrivateIpRange
    private_endpoints: PrivateIpRange
    agents: PrivateIpRange


class Network(ConfigModel):
    address_space: PrivateIpRange
    subnets: Subnets

    def plan(self) -> dict[str, str]:
        """Each subnet's range by its config key."""
        return {f"subnets.{key}": value for key, value in self.subnets.model_dump(by_alias=True).items()}

    @model_validator(mode="after")
    def _address_plan(self) -> Self:
        space = ipaddress.ip_network(self.address_space)
        overlay = {"the clusters' pod CIDR": POD_CIDR, "the clusters' service CIDR": SERVICE_CIDR}
        violations: list[Violation] = [
            ("addressSpace", self.address_space, f"must not overlap {what} ({cidr}): AKS refuses the cluster")
            for what, cidr in overlay.items()
            if space.overlaps(ipaddress.ip_network(cidr))
        ]
        seen: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
        for key, value in self.plan().items():
            subnet = ipaddress.ip_network(value)
            if subnet.prefixlen > SMALLEST_SUBNET_PREFIX:
                violations.append((key, value, f"is smaller than Azure's smallest subnet (/{SMALLEST_SUBNET_PREFIX})"))
            if not subnet.subnet_of(space):  # type: ignore[arg-type]
                violations.append((key, value, f"must lie inside addressSpace ({self.address_space})"))
            violations += [
                (key, value, f"overlaps {other_key} ({other}): subnets of one network must not share addresses")
                for other_key, other in seen
                if subnet.overlaps(other)
            ]
            seen.append((key, subnet))
        _refuse(violations)
        return self


def _plan(space: str) -> dict[str, Any]:
    # /22 node subnets: overlay pods take no subnet addresses, so 1019 node addresses (and surge) per cluster.
    return {
        "addressSpace": space,
        "subnets": {
            "stagingNodes": "10.240.0.0/22",
            "productionNodes": "10.240.4.0/22",
            "privateEndpoints": "10.240.8.0/24",
            "agents": "10.240.9.0/24",
        },
    }


NETWORK_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"network": _plan("10.240.0.0/16")},
    "prod": {"network": _plan("10.240.0.0/16")},
}
