"""The estate network: the address plan's rules (each planted mistake named with key, value and rule) and the
virtual network, subnets and NSGs as both stacks register them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import config
from components.config_network import POD_CIDR, SERVICE_CIDR
from components.network import DEVOPS_POOL_DELEGATION, public_ingress_ports
from tests.helpers import only
from tools import capture
from tools.capture import Capture

VNET = "azure-native:network:VirtualNetwork"
NSG = "azure-native:network:NetworkSecurityGroup"


@pytest.fixture(scope="module")
def prod_raw() -> dict[str, str]:
    raw, _ = capture.load_stack_config(capture.ROOT / "Pulumi.prod.yaml")
    return {key.removeprefix("aks-estate:"): value for key, value in raw.items() if key.startswith("aks-estate:")}


def _with_network(raw: dict[str, str], **changes: Any) -> dict[str, str]:
    plan = json.loads(raw["network"])
    for key, value in changes.items():
        if key in plan["subnets"]:
            plan["subnets"][key] = value
        else:
            plan[key] = value
    return {**raw, "network": json.dumps(plan)}


def _refusal(raw: dict[str, str]) -> str:
    with pytest.raises(config.ConfigError) as error:
        config.parse(raw)
    return str(error.value)


def test_the_committed_plan_is_valid(prod_raw: dict[str, str]) -> None:
    parsed = config.parse(prod_raw)
    assert parsed.network.address_space == "10.240.0.0/16"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"agents": "10.241.0.0/24"},
            'aks-estate:network.subnets.agents = "10.241.0.0/24": must lie inside addressSpace (10.240.0.0/16)',
        ),
        (
            {"privateEndpoints": "10.240.4.0/24"},
            'aks-estate:network.subnets.privateEndpoints = "10.240.4.0/24": overlaps subnets.productionNodes '
            "(10.240.4.0/22)",
        ),
        (
            {"addressSpace": "10.0.0.0/8", "stagingNodes": "10.244.0.0/22"},
            f'aks-estate:network.addressSpace = "10.0.0.0/8": must not overlap the clusters\' pod CIDR ({POD_CIDR})',
        ),
        (
            {"addressSpace": "10.0.0.0/8"},
            f'aks-estate:network.addressSpace = "10.0.0.0/8": must not overlap the clusters\' service CIDR '
            f"({SERVICE_CIDR})",
        ),
        (
            {"agents": "10.240.9.0/30"},
            'aks-estate:network.subnets.agents = "10.240.9.0/30": is smaller than Azure\'s smallest subnet (/29)',
        ),
        (
            {"agents": "10.240.9.1/24"},
            'aks-estate:network.subnets.agents = "10.240.9.1/24": must be an IPv4 CIDR range with no host bits set',
        ),
        (
            {"addressSpace": "20.240.0.0/16"},
            'aks-estate:network.addressSpace = "20.240.0.0/16": must be a private IPv4 range',
        ),
    ],
)
def test_a_broken_address_plan_is_refused_naming_key_value_and_rule(
    prod_raw: dict[str, str], changes: dict[str, str], expected: str
) -> None:
    assert expected in _refusal(_with_network(prod_raw, **changes))


def test_one_virtual_network_holds_every_subnet_with_its_own_nsg(estate: Capture) -> None:
    vnet = only(estate, VNET)
    assert vnet.inputs["addressSpace"] == {"addressPrefixes": ["10.240.0.0/16"]}
    subnets = {subnet["name"]: subnet for subnet in vnet.inputs["subnets"]}
    assert set(subnets) == {"snet-staging-nodes", "snet-production-nodes", "snet-private-endpoints", "snet-agents"}
    groups = {registration.id: registration.inputs["networkSecurityGroupName"] for registration in estate.of_type(NSG)}
    for name, subnet in subnets.items():
        assert groups[subnet["networkSecurityGroup"]["id"]].endswith(name.removeprefix("snet-")), name
    assert subnets["snet-agents"]["delegations"] == [{"name": "devops-pools", "serviceName": DEVOPS_POOL_DELEGATION}]
    assert subnets["snet-private-endpoints"]["privateEndpointNetworkPolicies"] == "Enabled"
    assert all("delegations" not in subnet for name, subnet in subnets.items() if name != "snet-agents")


def test_nsgs_admit_no_internet_traffic_unless_a_service_is_public(estate: Capture) -> None:
    for registration in estate.of_type(NSG):
        assert registration.inputs.get("securityRules", []) == []


@pytest.mark.parametrize(
    ("exposures", "ports"),
    [
        ([], []),
        ([(None, False), ("internal", False)], []),
        ([("public", True)], [443]),
        ([("public", True), ("public", False)], [80, 443]),
    ],
)
def test_public_ingress_ports_follow_the_services(exposures: list[tuple[str | None, bool]], ports: list[int]) -> None:
    assert public_ingress_ports(exposures) == ports
