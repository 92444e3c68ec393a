"""Who talks to what: every data-plane call the estate causes is allowed by its target's network rules.

Each check is shown to fail on a planted mistake: a copy of the inventory with one network rule flipped must turn the
call it governs to `refused`.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.helpers import APP_INSIGHTS, VAULT, WORKSPACE, cluster, only, registry
from tools import capture, network_paths, offline_preview
from tools.capture import Capture, Registration
from tools.network_paths import ALLOWED, REFUSED, Path

POOL = "agents of pool `aks-estate-agents`"
HOSTED = "Microsoft-hosted agents (ubuntu-24.04)"
VNET = "/subscriptions/0/resourceGroups/rg-contoso-prod/providers/Microsoft.Network/virtualNetworks/vnet-contoso-prod"
OTHER_VNET = VNET.replace("vnet-contoso-prod", "vnet-elsewhere")

# A Key Vault-linked variable group, as the first round had: Azure DevOps' servers list the vault when it is saved.
KEY_VAULT_VARIABLE_GROUP = "azuredevops:index/variableGroup:VariableGroup"
# The pool's traffic from addresses no rule of the estate lists.
ELSEWHERE = {"aks-estate-agents": ["20.60.0.0/24"]}


@pytest.fixture(scope="module")
def prod() -> Capture:
    """Prod as it ran before the stack built its own Managed DevOps Pool: on an existing organisation pool whose
    declared egress the vault's IP rules admit, which is what these tests vary. Pulumi.prod.yaml's own pool sits in the
    estate network's agent subnet (tests/test_devops_pool.py); its paths are the private network's."""
    config, secret_keys = capture.load_stack_config(capture.ROOT / "Pulumi.prod.yaml")
    del config["aks-estate:managedAgentPool"]
    config["aks-estate:agentPool"] = "aks-estate-agents"
    config["aks-estate:agentPoolEgressRanges"] = '["20.50.0.0/24"]'
    return capture.run("prod", config, secret_keys)


@pytest.fixture(scope="module", params=["dev", "prod"])
def estate(request: pytest.FixtureRequest, dev: Capture, prod: Capture) -> Capture:
    return dev if request.param == "dev" else prod


def rows_for(rows: list[Path], source: str, target: str, purpose: str = "") -> list[Path]:
    return [r for r in rows if r.source.startswith(source) and r.target.startswith(target) and purpose in r.purpose]


def verdict(rows: list[Path], source: str, target: str, purpose: str = "") -> str:
    matches = rows_for(rows, source, target, purpose)
    assert matches, f"no row {source} -> {target} ({purpose}) in {[(r.source, r.target, r.purpose) for r in rows]}"
    verdicts = {r.verdict for r in matches}
    assert len(verdicts) == 1, matches
    return verdicts.pop()


def edited(capture: Capture, target: Registration, edit: Callable[[dict[str, Any]], object]) -> Capture:
    """A copy of the inventory with one resource's inputs changed."""
    inputs = copy.deepcopy(target.inputs)
    edit(inputs)
    resources = [dataclasses.replace(r, inputs=inputs) if r.urn == target.urn else r for r in capture.resources]
    return Capture(capture.stack, resources, capture.outputs)


def without(capture: Capture, predicate: Callable[[Registration], bool]) -> Capture:
    return Capture(capture.stack, [r for r in capture.resources if not predicate(r)], capture.outputs)


def added(capture: Capture, *resources: Registration) -> Capture:
    return Capture(capture.stack, [*capture.resources, *resources], capture.outputs)


def resource(
    token: str, name: str, arm_id: str, inputs: dict[str, Any], outputs: dict[str, Any] | None = None
) -> Registration:
    return Registration(
        urn=f"urn:pulumi:prod::aks-estate::{token}::{name}", id=arm_id, type=token, name=name, parent=None,
        custom=True, protect=False, dependencies=(), inputs=inputs, outputs=outputs or {},
    )  # fmt: skip


def refuse(capture: Capture, rows: list[Path]) -> None:
    """The check itself: no call the estate causes may be refused."""
    blocked = network_paths.refused(rows)
    assert not blocked, "\n".join(f"{r.source} -> {r.target} ({r.purpose}): {r.reason}" for r in blocked)


# --- the estate as configured ----------------------------------------------------------------------------------------


def test_every_call_of_the_dev_estate_is_allowed(dev: Capture) -> None:
    refuse(dev, network_paths.paths(dev))


@pytest.mark.parametrize(
    ("source", "target", "purpose"),
    [
        ("@agents", "kv-", "read secrets"),
        ("@agents", "cr", "push images"),
        ("@agents", "cr", "read image manifests"),
        ("Azure Container Registry import", "cr", "az acr import"),
        ("@agents", "aks-", "deploy workloads"),
        ("kubelets of aks-", "cr", "pull images"),
        ("pods of aks-", "appi-", "send telemetry"),
        ("monitoring agent of aks-", "log-", "container logs"),
        ("`pulumi up`", "kv-", "through ARM (control plane)"),
    ],
)
def test_the_table_derives_every_kind_of_call_from_the_inventory(
    estate: Capture, source: str, target: str, purpose: str
) -> None:
    agents = HOSTED if estate.stack == "dev" else POOL
    assert rows_for(network_paths.paths(estate), source.replace("@agents", agents), target, purpose)


def test_the_agents_come_from_the_pool_the_pipelines_name(dev: Capture, prod: Capture) -> None:
    assert [s.name for s in network_paths.agent_sources(dev)] == [HOSTED]
    assert [s.name for s in network_paths.agent_sources(prod)] == [POOL]


def test_a_job_moved_to_hosted_agents_brings_them_into_the_table(prod: Capture) -> None:
    ci = next(r for r in prod.of_type("azuredevops:index/gitRepositoryFile:GitRepositoryFile")
              if r.inputs["file"] == "pipelines/ci-python.yml")  # fmt: skip

    def first_job_on_hosted_agents(inputs: dict[str, Any]) -> None:
        document = yaml.safe_load(inputs["content"])
        document["jobs"][0]["pool"] = {"vmImage": "ubuntu-24.04"}
        inputs["content"] = yaml.safe_dump(document)

    hosted = edited(prod, ci, first_job_on_hosted_agents)
    assert {s.name for s in network_paths.agent_sources(hosted)} == {POOL, HOSTED}
    assert verdict(network_paths.paths(hosted), HOSTED, "kv-", "read secrets") == REFUSED
    no_pool = edited(hosted, ci, lambda i: i.update(content="steps: []\n"))
    files = [r for r in no_pool.resources if r.type != "azuredevops:index/gitRepositoryFile:GitRepositoryFile"]
    assert [s.name for s in network_paths.agent_sources(Capture("prod", files))] == [
        "Microsoft-hosted agents (ubuntu-latest)"
    ]


def test_each_cluster_pulls_from_the_registry_its_kubelet_is_granted(prod: Capture) -> None:
    rows = network_paths.paths(prod)
    assert verdict(rows, "kubelets of aks-contoso-prod-production", "crcontosoprodprod ", "pull") == ALLOWED
    assert verdict(rows, "kubelets of aks-contoso-prod-staging", "crcontosoprodnonprod ", "pull") == ALLOWED
    assert not rows_for(rows, "kubelets of aks-contoso-prod-production", "crcontosoprodnonprod ")


def test_writing_a_secret_through_arm_is_control_plane_and_passes_a_closed_vault(prod: Capture) -> None:
    (row,) = rows_for(network_paths.paths(prod), "`pulumi up`", "kv-contoso-prod", "write secret")
    assert (row.verdict, "control plane") == (ALLOWED, row.reason[: len("control plane")])


def with_pool(capture: Capture) -> Capture:
    """The inventory with the Managed DevOps Pool the pipelines name in the estate's agents subnet: the stack creates
    it (issue 11 item 4, components/devops_pool.py); an inventory without it gets it planted where the stack puts it."""
    if capture.of_type(network_paths.MANAGED_POOL):
        return capture
    subnet = f"{only(capture, 'azure-native:network:VirtualNetwork').id}/subnets/snet-agents"
    pool = resource(network_paths.MANAGED_POOL, "pool", "/pool", {"poolName": "aks-estate-agents",
                    "fabricProfile": {"networkProfile": {"subnetId": subnet}}})  # fmt: skip
    return added(capture, pool)


def test_every_call_of_the_prod_estate_is_allowed(prod: Capture) -> None:
    # Every path is private: the agents and `pulumi up` run in the agents' subnet of the estate network.
    rows = network_paths.paths(with_pool(prod))
    refuse(prod, rows)
    # Every call is private (or the registry service's own, for `az acr import`, or ARM's control plane).
    public = [r for r in rows if not any(word in r.reason for word in ("private", "trusted", "control plane"))]
    assert not public, "\n".join(f"{r.source} -> {r.target} ({r.purpose}): {r.reason}" for r in public)


def test_without_the_pool_in_the_network_the_private_estate_refuses_the_agents(prod: Capture) -> None:
    if prod.of_type(network_paths.MANAGED_POOL):
        prod = without(prod, lambda r: r.type == network_paths.MANAGED_POOL)
    blocked = network_paths.refused(network_paths.paths(prod))
    assert blocked
    assert {r.source for r in blocked} <= {"`pulumi up`", POOL}


def test_azure_devops_servers_never_need_a_closed_vault(prod: Capture) -> None:
    assert not rows_for(network_paths.paths(prod), "Azure DevOps servers", "kv-")
    # The first round's Key Vault-linked variable group, planted back: its save is a call the prod vault refuses.
    project = only(prod, "azuredevops:index/project:Project")
    group = resource(KEY_VAULT_VARIABLE_GROUP, "group", "7", {
        "projectId": project.id, "name": "contoso-prod-integration-secrets", "allowAccess": False,
        "keyVault": {"name": "kv-contoso-prod", "serviceEndpointId": "x"},
        "variables": [{"name": "appinsights-connection-string"}],
    })  # fmt: skip
    rows = network_paths.paths(added(prod, group))
    assert verdict(rows, "Azure DevOps servers", "kv-contoso-prod", "list secrets") == REFUSED
    with pytest.raises(AssertionError, match="list secrets"):
        refuse(prod, rows)


def test_agents_outside_the_vault_rules_are_refused(prod: Capture) -> None:
    elsewhere = network_paths.paths(prod, ELSEWHERE)
    assert verdict(elsewhere, POOL, "kv-contoso-prod", "read secrets") == REFUSED
    undeclared = Capture(prod.stack, prod.resources, {**prod.outputs, "agentPoolEgress": {}})
    assert verdict(network_paths.paths(undeclared), POOL, "kv-contoso-prod", "read secrets") == REFUSED


def test_the_offline_preview_writes_the_table_into_the_summary(prod: Capture) -> None:
    summary = offline_preview.render_summary(with_pool(prod), "Pulumi.prod.yaml", [])
    assert "## Who talks to what" in summary
    assert "Every call is allowed." in summary
    assert "| Managed DevOps Pool `aks-estate-agents` | `kv-contoso-prod (Vault)` | read secrets" in summary


# --- planted mistakes: each flips one rule in a copy of the inventory -------------------------------------------------


def test_a_dev_vault_closed_to_the_internet_refuses_the_hosted_agents(dev: Capture) -> None:
    vault = only(dev, VAULT)
    for edit in (
        lambda i: i["properties"]["networkAcls"].update(defaultAction="Deny"),
        lambda i: i["properties"].update(publicNetworkAccess="Disabled"),
    ):
        rows = network_paths.paths(edited(dev, vault, edit))
        assert verdict(rows, HOSTED, "kv-contoso-dev", "read secrets") == REFUSED
        with pytest.raises(AssertionError, match="read secrets"):
            refuse(dev, rows)


def public_firewalls(prod: Capture) -> Capture:
    """The prod inventory as the first round built it: no private endpoints, the vault and registries public behind
    their firewalls (the vault admitting 20.50.0.0/24), so the firewall rules themselves can be planted and broken."""
    opened = without(prod, lambda r: r.type == network_paths.PRIVATE_ENDPOINT)
    acls = {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": [{"value": "20.50.0.0/24"}]}
    opened = edited(opened, only(opened, VAULT), lambda i: i["properties"].update(publicNetworkAccess="Enabled",
                                                                                  networkAcls=acls))  # fmt: skip
    for role in ("nonprod", "prod"):
        opened = edited(opened, registry(opened, role), lambda i: i.update(publicNetworkAccess="Enabled"))
    return opened


def test_the_vault_rule_that_allows_the_agents_egress_is_what_lets_them_in(prod: Capture) -> None:
    prod = public_firewalls(prod)
    egress = {"aks-estate-agents": ["20.50.0.0/26"]}
    assert verdict(network_paths.paths(prod, egress), POOL, "kv-", "read secrets") == ALLOWED
    outside = {"aks-estate-agents": ["20.50.0.0/26", "20.51.0.0/28"]}
    assert verdict(network_paths.paths(prod, outside), POOL, "kv-", "read secrets") == REFUSED
    no_rule = edited(prod, only(prod, VAULT), lambda i: i["properties"]["networkAcls"].update(ipRules=[]))
    assert verdict(network_paths.paths(no_rule, egress), POOL, "kv-", "read secrets") == REFUSED
    subnet = f"{VNET}/subnets/agents"
    rule = {"virtualNetworkRules": [{"id": subnet}]}
    vnet_rule = edited(prod, only(prod, VAULT), lambda i: i["properties"]["networkAcls"].update(rule))
    pool = resource(network_paths.MANAGED_POOL, "pool", "/pool", {"poolName": "aks-estate-agents",
                    "fabricProfile": {"networkProfile": {"subnetId": subnet}}})  # fmt: skip
    assert verdict(network_paths.paths(added(vnet_rule, pool)), "Managed DevOps Pool", "kv-", "read secrets") == ALLOWED


def test_a_registry_firewall_refuses_pushes_and_pulls_unless_the_callers_are_listed(prod: Capture) -> None:
    private_estate, prod = prod, public_firewalls(prod)
    nonprod = registry(prod, "nonprod")
    deny = {"defaultAction": "Deny", "ipRules": [{"action": "Allow", "iPAddressOrRange": "20.50.0.0/24"}]}
    closed = edited(prod, nonprod, lambda i: i.update(networkRuleSet=deny))
    rows = network_paths.paths(closed, ELSEWHERE)
    assert verdict(rows, POOL, "crcontosoprodnonprod ", "push") == REFUSED
    assert verdict(rows, "kubelets of aks-contoso-prod-staging", "crcontosoprodnonprod ", "pull") == REFUSED
    # `az acr import` runs as the registry service, a trusted service: the bypass keeps promotion working ...
    assert verdict(rows, "Azure Container Registry import", "crcontosoprodnonprod ") == ALLOWED
    assert (
        verdict(
            network_paths.paths(closed, {"aks-estate-agents": ["20.50.0.7/32"]}), POOL, "crcontosoprodnonprod ", "push"
        )
        == ALLOWED
    )
    # ... until the bypass is turned off.
    no_bypass = edited(closed, registry(closed, "nonprod"), lambda i: i.update(networkRuleBypassOptions="None"))
    assert (
        verdict(network_paths.paths(no_bypass), "Azure Container Registry import", "crcontosoprodnonprod ") == REFUSED
    )
    private = edited(prod, nonprod, lambda i: i.update(publicNetworkAccess="Disabled"))
    assert (
        verdict(network_paths.paths(private), "kubelets of aks-contoso-prod-staging", "crcontosoprodnonprod ")
        == REFUSED
    )
    # The private estate's endpoint in the kubelets' network is what lets them pull from the closed registry.
    rows = network_paths.paths(private_estate)
    assert verdict(rows, "kubelets of aks-contoso-prod-staging", "crcontosoprodnonprod ") == ALLOWED
    assert (
        "private endpoint" in rows_for(rows, "kubelets of aks-contoso-prod-staging", "crcontosoprodnonprod ")[0].reason
    )


def test_authorized_ip_ranges_refuse_the_pipelines_and_pulumi_unless_they_cover_them(prod: Capture) -> None:
    staging = cluster(prod, "staging")
    narrowed = edited(
        prod, staging, lambda i: i.update(apiServerAccessProfile={"authorizedIPRanges": ["20.50.0.0/24"]})
    )
    rows = network_paths.paths(narrowed, ELSEWHERE)
    assert verdict(rows, POOL, "aks-contoso-prod-staging", "deploy") == REFUSED
    # Namespaces are ARM resources: `pulumi up` itself never calls the API server of the shipped stacks.
    assert not rows_for(rows, "`pulumi up`", "aks-contoso-prod-staging")
    # The production cluster stays private: the pool's public egress does not reach it either.
    assert verdict(rows, POOL, "aks-contoso-prod-production", "deploy") == REFUSED
    covered = network_paths.paths(narrowed, {"aks-estate-agents": ["20.50.0.0/25"]})
    assert verdict(covered, POOL, "aks-contoso-prod-staging", "deploy") == ALLOWED


def test_a_private_cluster_is_reached_only_from_its_own_network(prod: Capture) -> None:
    staging = cluster(prod, "staging")

    def private(inputs: dict[str, Any]) -> None:
        inputs["apiServerAccessProfile"] = {"enablePrivateCluster": True}
        for pool in inputs["agentPoolProfiles"]:
            pool["vnetSubnetID"] = f"{VNET}/subnets/nodes"

    estate = edited(prod, staging, private)
    rows = network_paths.paths(estate)
    assert not rows_for(rows, "`pulumi up`", "aks-contoso-prod-staging"), "namespaces go through ARM"
    assert verdict(rows, POOL, "aks-contoso-prod-staging", "deploy") == REFUSED
    for subnet, expected in ((f"{VNET}/subnets/agents", ALLOWED), (f"{OTHER_VNET}/subnets/agents", REFUSED)):
        pool = resource(network_paths.MANAGED_POOL, "pool", "/pool", {"poolName": "aks-estate-agents",
                        "fabricProfile": {"networkProfile": {"subnetId": subnet}}})  # fmt: skip
        rows = network_paths.paths(added(estate, pool))
        assert verdict(rows, "Managed DevOps Pool", "aks-contoso-prod-staging", "deploy") == expected


def without_monitor_link(capture: Capture) -> Capture:
    """The inventory without its Azure Monitor private link: no scope membership, no endpoint to the scope."""

    def monitor_link(r: Registration) -> bool:
        groups = [c.get("groupIds") for c in r.inputs.get("privateLinkServiceConnections") or []]
        return r.type == network_paths.SCOPED_RESOURCE or (
            r.type == network_paths.PRIVATE_ENDPOINT and ["azuremonitor"] in groups
        )

    return without(capture, monitor_link)


def test_telemetry_ingestion_closed_to_public_networks_refuses_pods_and_the_monitoring_agent(prod: Capture) -> None:
    # Prod's closed workspace and Application Insights take telemetry through the private link scope's endpoint ...
    rows = network_paths.paths(prod)
    for source, target in (("pods of aks-contoso-prod-production", "appi-"), ("monitoring agent of", "log-")):
        assert verdict(rows, source, target) == ALLOWED
        assert all("private endpoint" in row.reason for row in rows_for(rows, source, target))
    # ... and refuse it without that link.
    cut = network_paths.paths(without_monitor_link(prod))
    assert verdict(cut, "pods of aks-contoso-prod-production", "appi-") == REFUSED
    assert verdict(cut, "monitoring agent of aks-contoso-prod-staging", "log-") == REFUSED
    reopened = edited(
        without_monitor_link(prod), only(prod, WORKSPACE), lambda i: i.pop("publicNetworkAccessForIngestion")
    )
    assert verdict(network_paths.paths(reopened), "monitoring agent of aks-contoso-prod-staging", "log-") == ALLOWED


def test_the_rows_follow_the_inventory_not_a_list(prod: Capture) -> None:
    no_pull = without(prod, lambda r: r.name.endswith("staging-kubelet-pull-nonprod"))
    assert not rows_for(network_paths.paths(no_pull), "kubelets of aks-contoso-prod-staging", "cr")
    no_dcr = without(prod, lambda r: r.type == "azure-native:monitor:DataCollectionRuleAssociation")
    assert not rows_for(network_paths.paths(no_dcr), "monitoring agent", "log-")


# --- issue 11's shape: private endpoints in the estate network --------------------------------------------------------


def _private_vault(prod: Capture, endpoint_vnet: str, zone_linked: bool) -> list[Path]:
    vault = only(prod, VAULT)
    closed = edited(prod, vault, lambda i: i["properties"].update(publicNetworkAccess="Disabled"))
    pool = resource(network_paths.MANAGED_POOL, "pool", "/pool", {"poolName": "aks-estate-agents",
                    "fabricProfile": {"networkProfile": {"subnetId": f"{VNET}/subnets/agents"}}})  # fmt: skip
    endpoint = resource(network_paths.PRIVATE_ENDPOINT, "vault-pe", f"{VNET}/pe", {
        "subnet": {"id": f"{endpoint_vnet}/subnets/endpoints"},
        "privateLinkServiceConnections": [{"privateLinkServiceId": vault.id, "groupIds": ["vault"]}],
    })  # fmt: skip
    link = resource(network_paths.ZONE_LINK, "vault-zone-link", "/link", {
        "privateZoneName": "privatelink.vaultcore.azure.net", "virtualNetwork": {"id": VNET},
    })  # fmt: skip
    return network_paths.paths(added(closed, pool, endpoint, *([link] if zone_linked else [])))


def test_a_private_vault_is_reached_through_its_endpoint_and_linked_zone(prod: Capture) -> None:
    rows = _private_vault(prod, VNET, zone_linked=True)
    assert verdict(rows, "Managed DevOps Pool", "kv-", "read secrets") == ALLOWED
    unlinked = _private_vault(prod, VNET, zone_linked=False)
    assert verdict(unlinked, "Managed DevOps Pool", "kv-", "read secrets") == REFUSED
    assert (
        "privatelink.vaultcore.azure.net is not linked"
        in rows_for(unlinked, "Managed DevOps Pool", "kv-", "read")[0].reason
    )
    elsewhere = _private_vault(prod, OTHER_VNET, zone_linked=True)
    assert verdict(elsewhere, "Managed DevOps Pool", "kv-", "read secrets") == REFUSED


def test_pods_reach_closed_application_insights_through_the_monitor_private_link_scope(prod: Capture) -> None:
    prod = without_monitor_link(prod)
    component = only(prod, APP_INSIGHTS)
    estate = edited(prod, component, lambda i: i.update(publicNetworkAccessForIngestion="Disabled"))
    production = cluster(estate, "production")

    def in_vnet(inputs: dict[str, Any]) -> None:
        for pool in inputs["agentPoolProfiles"]:
            pool["vnetSubnetID"] = f"{VNET}/subnets/nodes"

    estate = edited(estate, production, in_vnet)
    scope = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Insights/privateLinkScopes/ampls"
    scoped = resource(
        network_paths.SCOPED_RESOURCE,
        "appi-scoped",
        f"{scope}/scopedResources/appi",
        {"linkedResourceId": component.id},
    )
    endpoint = resource(network_paths.PRIVATE_ENDPOINT, "ampls-pe", "/pe", {
        "subnet": {"id": f"{VNET}/subnets/endpoints"},
        "privateLinkServiceConnections": [{"privateLinkServiceId": scope, "groupIds": ["azuremonitor"]}],
    })  # fmt: skip
    link = resource(network_paths.ZONE_LINK, "monitor-link", "/link", {
        "privateZoneName": "privatelink.monitor.azure.com", "virtualNetwork": {"id": VNET},
    })  # fmt: skip
    assert (
        verdict(network_paths.paths(added(estate, endpoint, link)), "pods of aks-contoso-prod-production", "appi-")
        == REFUSED
    )
    rows = network_paths.paths(added(estate, scoped, endpoint, link))
    assert verdict(rows, "pods of aks-contoso-prod-production", "appi-") == ALLOWED
    assert verdict(rows, "pods of aks-contoso-prod-staging", "appi-") == REFUSED


def test_pods_with_a_workload_identity_granted_on_application_insights_send_telemetry(prod: Capture) -> None:
    no_secret = without(prod, lambda r: "-telemetry" in r.name)
    assert not rows_for(network_paths.paths(no_secret), "pods of", "appi-")
    # The provider returns the issuer as `issuerURL` (pulumi_azure_native/containerservice/outputs.py getter).
    issuer = cluster(no_secret, "production").outputs["oidcIssuerProfile"]["issuerURL"]
    identity = resource("azure-native:managedidentity:UserAssignedIdentity", "orders-telemetry", "/id",
                        {"resourceName": "id-orders-telemetry"}, {"principalId": "p-orders"})  # fmt: skip
    credential = resource("azure-native:managedidentity:FederatedIdentityCredential", "orders-fic", "/fic", {
        "resourceName": "id-orders-telemetry", "subject": "system:serviceaccount:orders:orders",
        "issuer": issuer,
    })  # fmt: skip
    grant = resource("azure-native:authorization:RoleAssignment", "orders-publisher", "/ra", {
        "principalId": "p-orders", "scope": only(prod, APP_INSIGHTS).id,
        "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/3913510d-42f4-4e42-8a64-420c390055eb",
    })  # fmt: skip
    rows = network_paths.paths(added(no_secret, identity, credential, grant))
    assert verdict(rows, "pods of aks-contoso-prod-production", "appi-", "Monitoring Metrics Publisher") == ALLOWED


def test_only_the_internal_ingress_controller_takes_pulumi_up_to_the_api_server(shop: Capture) -> None:
    rows = network_paths.paths(shop)
    for stage in ("staging", "production"):
        assert verdict(rows, "`pulumi up`", f"aks-contoso-dev-{stage}", "create in-cluster objects") == ALLOWED
