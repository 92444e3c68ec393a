"""Traffic into and between services, as a stack with an exposed and a calling service builds it: the add-on on both
clusters, the internal controller where a service asks for one, the certificate grant, and the committed manifests."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

import pytest
import yaml

from components.service_files.manifests import kubernetes_manifest
from tests import validators
from tests.helpers import CLUSTER, committed_file, role_assignments, role_id, service_manifests
from tools import network_paths, pipeline_links
from tools.capture import Capture

KEY_VAULT_CERTIFICATE_USER = "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba"
NGINX_CONTROLLER = "kubernetes:approuting.kubernetes.azure.com/v1alpha1:NginxIngressController"
AGENT_POOL = "azure-native:containerservice:AgentPool"
STAGES = ("staging", "production")


def manifests(estate: Capture, service: str) -> list[dict[str, Any]]:
    return service_manifests(estate, service)


def test_both_clusters_run_the_application_routing_add_on(shop: Capture) -> None:
    clusters = shop.of_type(CLUSTER)
    assert len(clusters) == 2
    assert all(c.inputs["ingressProfile"] == {"webAppRouting": {"enabled": True}} for c in clusters)


def test_an_internal_service_brings_the_internal_controller_to_each_cluster(shop: Capture) -> None:
    controllers = shop.of_type(NGINX_CONTROLLER)
    assert len(controllers) == 2
    for controller in controllers:
        assert controller.inputs["spec"]["ingressClassName"] == "nginx-internal"
        assert controller.inputs["spec"]["loadBalancerAnnotations"] == {
            "service.beta.kubernetes.io/azure-load-balancer-internal": "true"
        }


def _transitive_dependencies(estate: Capture, urn: str) -> set[str]:
    by_urn = {r.urn: r for r in estate.resources}
    seen: set[str] = set()
    pending = list(by_urn[urn].dependencies)
    while pending:
        dependency = pending.pop()
        if dependency not in seen:
            seen.add(dependency)
            pending.extend(by_urn[dependency].dependencies if dependency in by_urn else ())
    return seen


def controllers_not_waiting_for_their_user_pool(estate: Capture) -> list[str]:
    """Each internal NginxIngressController whose transitive dependencies lack its own stage's user AgentPool. The
    application routing operator registers the controller's CRD only once it runs (Azure/aks-app-routing-operator
    pkg/controller/crd.go, loadCRDs) and pulumi-kubernetes retries "no matches for kind" for about 31 s (provider/pkg/
    await/await.go, Creation; pkg/retry/retry.go): the pool's creation, after the cluster's, is the add-on's time."""
    pools = {stage: [p.urn for p in estate.of_type(AGENT_POOL) if f"-{stage}-pool-" in p.name] for stage in STAGES}
    assert all(len(urns) == 1 for urns in pools.values()), pools
    missing = []
    for controller in estate.of_type(NGINX_CONTROLLER):
        (stage,) = [stage for stage in STAGES if f"-targets-{stage}" in controller.name]
        if pools[stage][0] not in _transitive_dependencies(estate, controller.urn):
            missing.append(f"{controller.name} does not wait for {pools[stage][0]}")
    return missing


def test_each_internal_controller_waits_for_its_stages_user_pool(shop: Capture) -> None:
    assert len(shop.of_type(NGINX_CONTROLLER)) == 2
    assert controllers_not_waiting_for_their_user_pool(shop) == []


def test_a_controller_not_waiting_for_its_user_pool_is_reported(shop: Capture) -> None:
    pools = {p.urn for p in shop.of_type(AGENT_POOL)}
    (staging,) = [p for p in pools if "-staging-pool-" in p]
    cut = [
        replace(r, dependencies=tuple(d for d in r.dependencies if d != staging)) if r.dependencies else r
        for r in shop.resources
    ]
    planted = Capture(shop.stack, cut, shop.outputs)
    (error,) = controllers_not_waiting_for_their_user_pool(planted)
    assert "-targets-staging-internal-ingress does not wait for" in error


def providers_replaced_with_more_than_their_cluster(estate: Capture) -> list[str]:
    """Each Kubernetes provider whose clusterIdentifier is not its own cluster's ID. Its kubeconfig waits for the user
    pool, so a preview that replaces the pool sees it unknown, and an unknown kubeconfig alone plans the provider's
    replacement (with the controller) unless clusterIdentifier stays the same (pulumi/pulumi-kubernetes provider/pkg/
    provider/provider.go, DiffConfig)."""
    clusters = {c.inputs["resourceName"]: c.id for c in estate.of_type(CLUSTER)}
    wrong = []
    for provider in estate.of_type("pulumi:providers:kubernetes"):
        (stage,) = [stage for stage in STAGES if f"-targets-{stage}-" in provider.name]
        (cluster_id,) = [cluster_id for name, cluster_id in clusters.items() if name.endswith(f"-{stage}")]
        if provider.inputs.get("clusterIdentifier") != cluster_id:
            wrong.append(f"{provider.name}: clusterIdentifier {provider.inputs.get('clusterIdentifier')!r}")
    return wrong


def test_each_kubernetes_provider_is_identified_by_its_cluster(shop: Capture) -> None:
    assert len(shop.of_type("pulumi:providers:kubernetes")) == 2
    assert providers_replaced_with_more_than_their_cluster(shop) == []


def test_a_provider_without_its_clusters_identifier_is_reported(shop: Capture) -> None:
    (pool,) = [p for p in shop.of_type(AGENT_POOL) if "-staging-pool-" in p.name]
    planted = Capture(
        shop.stack,
        [
            replace(r, inputs={**r.inputs, "clusterIdentifier": pool.id}) if r.name.endswith("staging-provider") else r
            for r in shop.resources
        ],
        shop.outputs,
    )
    (error,) = providers_replaced_with_more_than_their_cluster(planted)
    assert error.startswith("estate-devops-targets-staging-provider: clusterIdentifier")


def test_the_shipped_stacks_have_no_internal_controller(estate: Capture) -> None:
    assert not [r for r in estate.resources if r.type.endswith(":NginxIngressController")]


def test_the_add_on_may_read_the_certificates_and_nothing_else(shop: Capture) -> None:
    (vault,) = shop.of_type("azure-native:keyvault:Vault")
    grants = [g for g in role_assignments(shop) if g["roleDefinitionId"].endswith(KEY_VAULT_CERTIFICATE_USER)]
    assert len(grants) == 2
    app_routing = {c.outputs["ingressProfile"]["webAppRouting"]["identity"]["objectId"] for c in shop.of_type(CLUSTER)}
    assert {g["principalId"] for g in grants} == app_routing
    # Each stage's own certificate, as the secret the add-on reads (tests/test_stage_certificates.py: whose is which).
    assert {g["scope"] for g in grants} == {f"{vault.id}/secrets/shop", f"{vault.id}/secrets/shop-staging"}
    assert all(g["roleDefinitionId"].endswith(role_id(KEY_VAULT_CERTIFICATE_USER)) for g in grants)


def test_the_committed_manifests_carry_the_ingress_and_both_ends_of_the_call(shop: Capture) -> None:
    gateway = {d["metadata"]["name"] for d in manifests(shop, "gateway") if d["kind"] == "NetworkPolicy"}
    ledger = {d["metadata"]["name"] for d in manifests(shop, "ledger") if d["kind"] == "NetworkPolicy"}
    for stage, certificate in (("staging", "shop-staging"), ("production", "shop")):
        (ingress,) = [d for d in service_manifests(shop, "gateway", stage) if d["kind"] == "Ingress"]
        assert ingress["metadata"]["annotations"] == {
            "kubernetes.azure.com/tls-cert-keyvault-uri": f"https://kv-contoso-dev.vault.azure.net/certificates/{certificate}"
        }
    assert "gateway-allow-egress-to-ledger" in gateway
    assert "ledger-allow-from-gateway" in ledger
    assert "ledger-allow-ingress-controller" in ledger


@pytest.mark.validators
def test_the_stack_still_links_and_validates(shop: Capture) -> None:
    builtin = pipeline_links.builtin_tasks(validators.azure_pipelines_schema())
    assert [str(f) for f in pipeline_links.check(shop, builtin)] == []


def test_the_add_on_reading_certificates_is_a_call_the_vault_must_allow(shop: Capture) -> None:
    rows = [r for r in network_paths.paths(shop) if r.source.startswith("application routing add-on")]
    assert {(r.target, r.purpose) for r in rows} == {
        ("kv-contoso-dev (Vault)", "read ingress certificates (Key Vault Certificate User)")
    }
    assert all(r.verdict == network_paths.ALLOWED for r in rows)  # dev's vault is open


def _monitor_endpoint_range(estate: Capture) -> ipaddress.IPv4Network | None:
    """The range the Azure Monitor private endpoint takes its addresses from, where the estate has one."""
    endpoints = [
        r
        for r in estate.of_type("azure-native:network:PrivateEndpoint")
        if any("azuremonitor" in c["groupIds"] for c in r.inputs["privateLinkServiceConnections"])
    ]
    if not endpoints:
        return None
    (endpoint,) = endpoints
    subnet = endpoint.inputs["subnet"]["id"].rsplit("/", 1)[-1]
    (network,) = estate.of_type("azure-native:network:VirtualNetwork")
    (prefix,) = [s["addressPrefix"] for s in network.inputs["subnets"] if s["name"] == subnet]
    return ipaddress.IPv4Network(prefix)


def telemetry_reaches(manifests: list[dict[str, Any]], target: ipaddress.IPv4Network) -> bool:
    """Whether the service's egress policies admit HTTPS to every address of `target` (an ipBlock that covers it and
    does not except it)."""
    for policy in (d for d in manifests if d["kind"] == "NetworkPolicy"):
        for rule in policy["spec"].get("egress", []):
            if {"protocol": "TCP", "port": 443} not in rule.get("ports", []):
                continue
            for peer in rule.get("to", []):
                block = peer.get("ipBlock")
                if block and target.subnet_of(ipaddress.IPv4Network(block["cidr"])):
                    excepted = [ipaddress.IPv4Network(e) for e in block.get("except", [])]
                    if not any(target.overlaps(e) for e in excepted):
                        return True
    return False


def test_pods_reach_telemetry_through_the_private_link_where_the_estate_has_one(estate: Capture) -> None:
    # A private estate's Application Insights answers ingestion only from its private link scope's endpoint, whose
    # addresses are private: the public-only HTTPS policy would block the pods' telemetry.
    target = _monitor_endpoint_range(estate)
    service = settings_services(estate)[0]
    for stage in ("staging", "production"):
        manifests = service_manifests(estate, service, stage)
        if target is None:
            assert estate.stack == "dev"
            continue
        assert telemetry_reaches(manifests, target), stage
        # Planted: the manifests as the public design rendered them, without the private range.
        (insights,) = estate.of_type("azure-native:applicationinsights:Component")
        entry = yaml.safe_load(committed_file(estate, service, "pipelines/ci.azure-pipelines.yml"))
        public_only = kubernetes_manifest(
            entry["extends"]["parameters"]["manifest"], stage, "cr.azurecr.io", insights.outputs["connectionString"]
        )
        assert not telemetry_reaches(public_only, target)


def settings_services(estate: Capture) -> list[str]:
    """The services, by the namespaces the stack gives them."""
    return sorted(
        {r.inputs["managedNamespaceName"] for r in estate.of_type("azure-native:containerservice:ManagedNamespace")}
    )


def test_the_internal_ingress_component_keeps_its_former_urn_as_an_alias(shop: Capture) -> None:
    # Was "aks-estate:devops:ClusterTargets" before namespaces moved to ARM: the provider and the controller under it
    # must not be replaced by the retype.
    components = [r for r in shop.resources if r.type == "aks-estate:devops:InternalIngress"]
    assert len(components) == 2
    for component in components:
        assert any(alias.type == "aks-estate:devops:ClusterTargets" for alias in component.aliases), component.name
