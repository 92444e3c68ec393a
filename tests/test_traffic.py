"""Traffic into and between services, as a stack with an exposed and a calling service builds it: the add-on on both
clusters, the internal controller where a service asks for one, the certificate grant, and the committed manifests."""

from __future__ import annotations

from typing import Any

import pytest

from tests import validators
from tests.helpers import CLUSTER, role_assignments, role_id, service_manifests
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
    assert {g["scope"] for g in grants} == {vault.id}
    assert all(g["roleDefinitionId"].endswith(role_id(KEY_VAULT_CERTIFICATE_USER)) for g in grants)


def test_the_committed_manifests_carry_the_ingress_and_both_ends_of_the_call(shop: Capture) -> None:
    gateway = {d["metadata"]["name"] for d in manifests(shop, "gateway") if d["kind"] == "NetworkPolicy"}
    ledger = {d["metadata"]["name"] for d in manifests(shop, "ledger") if d["kind"] == "NetworkPolicy"}
    (ingress,) = [d for d in manifests(shop, "gateway") if d["kind"] == "Ingress"]
    assert ingress["metadata"]["annotations"] == {
        "kubernetes.azure.com/tls-cert-keyvault-uri": "https://kv-contoso-dev.vault.azure.net/certificates/shop"
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
