"""The estate network: the address plan's rules (each planted mistake named with key, value and rule) and the
virtual network, subnets and NSGs as both stacks register them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import config
from components.config_network import POD_CIDR, SERVICE_CIDR
from components.identity import BUILT_IN_ROLES
from components.network import DEVOPS_POOL_DELEGATION, public_ingress_ports
from tests.helpers import VAULT, cluster, only, pool, registry, role_assignments, role_id, stack_config, user_pool
from tools import capture, offline_diff
from tools.capture import Capture

VNET = "azure-native:network:VirtualNetwork"
NSG = "azure-native:network:NetworkSecurityGroup"


@pytest.fixture(scope="module")
def prod_raw() -> dict[str, str]:
    return stack_config("prod")


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


STAGES = ("staging", "production")


# A public vault behind the first round's firewall: denied by default, open to the agent pool's egress.
def _on_an_organisation_pool(raw: dict[str, str]) -> dict[str, str]:
    """The stack without its own Managed DevOps Pool, so that it may name an organisation pool instead."""
    return {key: value for key, value in raw.items() if key != "managedAgentPool"}


PUBLIC_VAULT_FIREWALL = {
    "keyVaultNetworkDefaultAction": "Deny",
    "agentPool": "aks-estate-agents",
    "agentPoolEgressRanges": '["20.50.0.0/24"]',
    "keyVaultAllowedIpRanges": '["20.50.0.0/24"]',
}


@pytest.mark.parametrize("stage", STAGES)
def test_both_pools_of_each_cluster_sit_in_its_node_subnet(estate: Capture, stage: str) -> None:
    subnet = f"{only(estate, VNET).id}/subnets/snet-{stage}-nodes"
    assert pool(cluster(estate, stage), "system")["vnetSubnetID"] == subnet
    assert user_pool(estate, stage).inputs["vnetSubnetID"] == subnet


@pytest.mark.parametrize("stage", STAGES)
def test_each_cluster_identity_may_join_its_own_node_subnet_only(estate: Capture, stage: str) -> None:
    registration = cluster(estate, stage)
    grants = [
        assignment
        for assignment in role_assignments(estate)
        if assignment["roleDefinitionId"].endswith(role_id(BUILT_IN_ROLES["Network Contributor"]))
        and assignment["principalId"] == registration.outputs["identity"]["principalId"]
    ]
    assert [grant["scope"] for grant in grants] == [f"{only(estate, VNET).id}/subnets/snet-{stage}-nodes"]


@pytest.mark.parametrize("stage", STAGES)
def test_prod_api_servers_are_private_and_dev_stays_public(dev: Capture, prod: Capture, stage: str) -> None:
    assert cluster(prod, stage).inputs["apiServerAccessProfile"] == {
        "enablePrivateCluster": True,
        "privateDNSZone": "system",
        "enablePrivateClusterPublicFQDN": False,
        "disableRunCommand": False,
    }
    assert "apiServerAccessProfile" not in cluster(dev, stage).inputs


def test_prod_refuses_a_public_estate(prod_raw: dict[str, str]) -> None:
    assert (
        "aks-estate:network.private = false: a prod stack keeps its API servers, vault and registries off the internet"
        in _refusal({**_with_network(_on_an_organisation_pool(prod_raw), private=False), **PUBLIC_VAULT_FIREWALL})
    )


def test_only_a_private_vault_lets_the_ingress_read_certificates_while_it_denies_by_default(
    prod_raw: dict[str, str],
) -> None:
    service = {"name": "orders", "expose": "public", "host": "shop.contoso.com", "tlsCertificate": "shop"}
    with_certificate = {**prod_raw, "services": json.dumps([service])}
    assert config.parse(with_certificate).network.private
    public = {
        **_with_network(_on_an_organisation_pool(with_certificate), private=False),
        **PUBLIC_VAULT_FIREWALL,
        "environment": "dev",
    }
    assert 'aks-estate:services[0].tlsCertificate = "shop": needs a Key Vault the clusters can reach' in _refusal(
        public
    )


def test_a_private_estate_refuses_authorized_ip_ranges(prod_raw: dict[str, str]) -> None:
    clusters = json.loads(prod_raw["clusters"])
    clusters["staging"]["apiServerAuthorizedIpRanges"] = ["20.50.0.0/24"]
    assert (
        'aks-estate:clusters.staging.apiServerAuthorizedIpRanges = ["20.50.0.0/24"]: must be empty while '
        "network.private is true" in _refusal({**prod_raw, "clusters": json.dumps(clusters)})
    )


PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE = "azure-native:privatedns:PrivateZone"
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"


def _endpoint_for(capture: Capture, target_id: str) -> Any:
    matches = [
        endpoint
        for endpoint in capture.of_type(PRIVATE_ENDPOINT)
        if [c["privateLinkServiceId"] for c in endpoint.inputs["privateLinkServiceConnections"]] == [target_id]
    ]
    assert len(matches) == 1, f"expected one private endpoint for {target_id}, found {[m.name for m in matches]}"
    return matches[0]


@pytest.mark.parametrize(
    ("target", "group_id", "zone"),
    [
        ("vault", "vault", "privatelink.vaultcore.azure.net"),
        ("nonprod", "registry", "privatelink.azurecr.io"),
        ("prod", "registry", "privatelink.azurecr.io"),
    ],
)
def test_each_closed_service_has_a_private_endpoint_whose_zone_is_linked_to_the_network(
    prod: Capture, target: str, group_id: str, zone: str
) -> None:
    target_id = only(prod, VAULT).id if target == "vault" else registry(prod, target).id
    endpoint = _endpoint_for(prod, target_id)
    vnet = only(prod, VNET)
    assert endpoint.inputs["subnet"]["id"] == f"{vnet.id}/subnets/snet-private-endpoints"
    assert endpoint.inputs["privateLinkServiceConnections"][0]["groupIds"] == [group_id]
    zones = {z.id: z for z in prod.of_type(ZONE)}
    groups = [g for g in prod.of_type(ZONE_GROUP) if g.inputs["privateEndpointName"] == endpoint.inputs[
        "privateEndpointName"]]  # fmt: skip
    assert len(groups) == 1
    (config_,) = groups[0].inputs["privateDnsZoneConfigs"]
    assert zones[config_["privateDnsZoneId"]].inputs["privateZoneName"] == zone
    links = [link for link in prod.of_type(ZONE_LINK) if link.inputs["privateZoneName"] == zone]
    assert [link.inputs["virtualNetwork"] for link in links] == [{"id": vnet.id}]
    assert links[0].inputs["registrationEnabled"] is False


def test_prod_vault_and_registries_refuse_public_traffic_dev_stays_public(dev: Capture, prod: Capture) -> None:
    assert only(prod, VAULT).inputs["properties"]["publicNetworkAccess"] == "Disabled"
    assert only(dev, VAULT).inputs["properties"]["publicNetworkAccess"] == "Enabled"
    for role in ("nonprod", "prod"):
        closed, opened = registry(prod, role).inputs, registry(dev, role).inputs
        assert closed["publicNetworkAccess"] == "Disabled"
        assert closed["dataEndpointEnabled"] is True
        assert closed["sku"] == {"name": "Premium"}
        # `az acr import` between the two private registries: the registry service copies as a trusted service.
        assert closed["networkRuleBypassOptions"] == "AzureServices"
        assert opened["publicNetworkAccess"] == "Enabled"
    for token in (PRIVATE_ENDPOINT, ZONE, ZONE_LINK, ZONE_GROUP):
        assert not dev.of_type(token), token


def capture_json(result: Capture) -> list[dict[str, Any]]:
    return [registration.as_json() for registration in result.resources]


def test_moving_a_public_cluster_into_the_private_network_is_a_change_azure_refuses(prod: Capture) -> None:
    # The first round's prod cluster: no subnet of its own, a public API server. The diff to the private estate's
    # names what AKS cannot change in place, so the README's migration note (a new cluster) is not a surprise.
    after = next(r for r in capture_json(prod) if r["type"] == "azure-native:containerservice:ManagedCluster")
    before = json.loads(json.dumps(after))
    before["inputs"].pop("apiServerAccessProfile")
    for profile in before["inputs"]["agentPoolProfiles"]:
        profile.pop("vnetSubnetID")
    (change,) = offline_diff.diff([before], [after])
    assert change.op == "update"
    # The profile is new as a whole: it carries enablePrivateCluster, which AKS refuses on an existing cluster.
    assert {"apiServerAccessProfile", "agentPoolProfiles[0].vnetSubnetID"} <= set(change.azure_refuses)


@pytest.mark.slow
def test_a_public_service_opens_https_and_http_to_its_production_node_subnet_only(tmp_path: Path) -> None:
    document = yaml.safe_load((capture.ROOT / "Pulumi.dev.yaml").read_text())
    document["config"]["aks-estate:services"] = [{"name": "orders", "expose": "public", "host": "shop.contoso.com"}]
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(document))
    exposed = capture.run_stack_file("dev", path)
    rules = {r.inputs["networkSecurityGroupName"]: r.inputs.get("securityRules", []) for r in exposed.of_type(NSG)}
    for name, security_rules in rules.items():
        # Without a stagingHost, staging serves it on the internal controller only.
        if name.endswith("production-nodes"):
            (rule,) = security_rules
            assert (rule["direction"], rule["access"], rule["sourceAddressPrefix"]) == ("Inbound", "Allow", "Internet")
            assert rule["destinationPortRanges"] == ["80", "443"]
        else:
            assert security_rules == [], name


SCOPE = "azure-native:monitor:PrivateLinkScope"
SCOPED = "azure-native:monitor:PrivateLinkScopedResource"
MONITOR_ZONES = {
    "privatelink.monitor.azure.com",
    "privatelink.oms.opinsights.azure.com",
    "privatelink.ods.opinsights.azure.com",
    "privatelink.agentsvc.azure-automation.net",
    "privatelink.blob.core.windows.net",
}


def test_prod_telemetry_is_ingested_through_the_monitor_private_link_scope(prod: Capture) -> None:
    scope = only(prod, SCOPE)
    workspace = only(prod, "azure-native:operationalinsights:Workspace")
    app_insights = only(prod, "azure-native:applicationinsights:Component")
    endpoint = only(prod, "azure-native:monitor:DataCollectionEndpoint")
    assert endpoint.inputs["networkAcls"] == {"publicNetworkAccess": "Disabled"}
    members = {
        r.inputs["linkedResourceId"] for r in prod.of_type(SCOPED) if r.inputs["scopeName"] == scope.inputs["scopeName"]
    }
    assert members == {workspace.id, app_insights.id, endpoint.id}
    for resource in (workspace, app_insights):
        assert resource.inputs["publicNetworkAccessForIngestion"] == "Disabled"
    private_endpoint = _endpoint_for(prod, scope.id)
    assert private_endpoint.inputs["privateLinkServiceConnections"][0]["groupIds"] == ["azuremonitor"]
    (group,) = [
        g
        for g in prod.of_type(ZONE_GROUP)
        if g.inputs["privateEndpointName"] == private_endpoint.inputs["privateEndpointName"]
    ]
    zones = {z.id: z.inputs["privateZoneName"] for z in prod.of_type(ZONE)}
    assert {zones[c["privateDnsZoneId"]] for c in group.inputs["privateDnsZoneConfigs"]} == MONITOR_ZONES
    links = {link.inputs["privateZoneName"]: link.inputs for link in prod.of_type(ZONE_LINK)}
    # Only the blob zone falls back to public resolution: the state backend's storage account must still resolve.
    assert {zone for zone, link in links.items() if link.get("resolutionPolicy") == "NxDomainRedirect"} == {
        "privatelink.blob.core.windows.net"
    }


@pytest.mark.parametrize("stage", STAGES)
def test_each_cluster_takes_its_agent_configuration_from_the_private_endpoint(
    dev: Capture, prod: Capture, stage: str
) -> None:
    endpoint = only(prod, "azure-native:monitor:DataCollectionEndpoint")
    associations = [
        r.inputs
        for r in prod.of_type("azure-native:monitor:DataCollectionRuleAssociation")
        if r.inputs["resourceUri"] == cluster(prod, stage).id
        and r.inputs["associationName"] == "configurationAccessEndpoint"
    ]
    assert [a["dataCollectionEndpointId"] for a in associations] == [endpoint.id]
    assert not dev.of_type("azure-native:monitor:DataCollectionEndpoint")
    assert not [
        r
        for r in dev.of_type("azure-native:monitor:DataCollectionRuleAssociation")
        if "dataCollectionEndpointId" in r.inputs
    ]


def test_the_private_estates_agents_leave_through_a_nat_gateway_dev_keeps_default_outbound(
    dev: Capture, prod: Capture
) -> None:
    gateway = only(prod, "azure-native:network:NatGateway")
    address = only(prod, "azure-native:network:PublicIPAddress")
    assert gateway.inputs["publicIpAddresses"] == [{"id": address.id}]
    assert (address.inputs["sku"], address.inputs["publicIPAllocationMethod"]) == ({"name": "Standard"}, "Static")
    subnets = {subnet["name"]: subnet for subnet in only(prod, VNET).inputs["subnets"]}
    assert subnets["snet-agents"]["natGateway"] == {"id": gateway.id}
    assert all("natGateway" not in subnet for name, subnet in subnets.items() if name != "snet-agents")
    assert not dev.of_type("azure-native:network:NatGateway")
