"""Traffic into and between services, as a stack with an exposed and a calling service builds it: the add-on on both
clusters, the internal controller where a service asks for one, the certificate grant, and the committed manifests."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
import yaml

from components.service_files.manifests import kubernetes_manifest
from tests import validators
from tests.helpers import CLUSTER, committed_file, role_assignments, role_id, service_manifests
from tools import network_paths, pipeline_links
from tools.capture import Capture

KEY_VAULT_CERTIFICATE_USER = "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba"


def manifests(estate: Capture, service: str) -> list[dict[str, Any]]:
    return service_manifests(estate, service)


def test_both_clusters_run_the_application_routing_add_on(shop: Capture) -> None:
    clusters = shop.of_type(CLUSTER)
    assert len(clusters) == 2
    assert all(c.inputs["ingressProfile"] == {"webAppRouting": {"enabled": True}} for c in clusters)


def test_an_internal_service_brings_the_internal_controller_to_each_cluster(shop: Capture) -> None:
    controllers = shop.of_type("kubernetes:approuting.kubernetes.azure.com/v1alpha1:NginxIngressController")
    assert len(controllers) == 2
    for controller in controllers:
        assert controller.inputs["spec"]["ingressClassName"] == "nginx-internal"
        assert controller.inputs["spec"]["loadBalancerAnnotations"] == {
            "service.beta.kubernetes.io/azure-load-balancer-internal": "true"
        }


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
