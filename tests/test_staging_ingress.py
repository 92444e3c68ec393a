"""A staging Ingress without a staging pair of its own: on the internal controller, for a host of its own; the
ingress link checks (tools/ingress_links.py, which cites where each behaviour is defined) over real captures, each
shown to report its planted mistake.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from components import config_parts
from components.service_files.manifests import renderer
from components.service_files.spec import ServiceSpec
from tests.helpers import service_manifests
from tools import capture, ingress_links
from tools.capture import Capture

NSG = "azure-native:network:NetworkSecurityGroup"
NGINX_CONTROLLER = ingress_links.NGINX_CONTROLLER


# Two public services that name no staging host.
UNPAIRED = [
    {"name": "gateway", "expose": "public", "host": "shop.contoso.com", "tlsCertificate": "shop"},
    {"name": "web", "expose": "public", "host": "web.contoso.com"},
]


def _unpaired_on_any_host(service: dict[str, Any], stage: str) -> tuple[str, str | None, str]:
    """The renderer before this check: a staging Ingress without a pair of its own on its expose class, no host."""
    exposed = renderer().PUBLIC_INGRESS_CLASS if service["expose"] == "public" else renderer().INTERNAL_INGRESS_CLASS
    if stage == "production":
        return service.get("host") or "", service.get("tlsCertificateUri"), exposed
    return service.get("stagingHost") or "", service.get("stagingTlsCertificateUri"), exposed


@pytest.fixture(scope="module")
def unpaired() -> Capture:
    raw, secret_keys = capture.load_stack_config(capture.ROOT / "Pulumi.dev.yaml")
    return capture.run("dev", {**raw, "aks-estate:services": json.dumps(UNPAIRED)}, secret_keys)


def test_no_two_ingresses_of_one_class_and_cluster_claim_the_same_route(
    unpaired: Capture, shop: Capture, dev: Capture
) -> None:
    for estate in (unpaired, shop, dev):
        assert ingress_links.route_clashes(estate) == []


def test_a_catch_all_staging_ingress_per_service_is_reported(
    unpaired: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(renderer(), "served", _unpaired_on_any_host)
    assert [str(f) for f in ingress_links.route_clashes(unpaired)] == [
        "staging manifests: webapprouting.kubernetes.azure.com (any host)/ (Prefix): claimed by gateway, web: "
        "ingress-nginx routes all of them to the oldest"
    ]


def test_an_unpaired_public_service_is_not_published_in_staging(unpaired: Capture, shop: Capture) -> None:
    assert ingress_links.published_in_staging(unpaired) == []
    assert ingress_links.published_in_staging(shop) == []
    for service, host in (("gateway", "shop.contoso.com"), ("web", "web.contoso.com")):
        (staging,) = [d for d in service_manifests(unpaired, service) if d["kind"] == "Ingress"]
        assert staging["spec"]["ingressClassName"] == "nginx-internal"
        assert staging["spec"]["rules"][0]["host"] == f"{service}.staging.internal"
        (production,) = [d for d in service_manifests(unpaired, service, "production") if d["kind"] == "Ingress"]
        assert (production["spec"]["ingressClassName"], production["spec"]["rules"][0]["host"]) == (
            "webapprouting.kubernetes.azure.com",
            host,
        )
    # Production publishes both: HTTPS, and plain HTTP for the one without a certificate.
    assert ingress_links.internet_ports(unpaired, "production") == ["80", "443"]


def test_a_public_staging_ingress_or_an_open_staging_subnet_is_reported(
    unpaired: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    (production,) = [
        g for g in unpaired.of_type(NSG) if str(g.inputs["networkSecurityGroupName"]).endswith("production-nodes")
    ]
    opened = [
        replace(r, inputs={**r.inputs, "securityRules": production.inputs["securityRules"]})
        if r.type == NSG and str(r.inputs["networkSecurityGroupName"]).endswith("staging-nodes")
        else r
        for r in unpaired.resources
    ]
    assert [str(f) for f in ingress_links.published_in_staging(replace(unpaired, resources=opened))] == [
        "staging node subnet: 80, 443: admits the internet, and no public staging Ingress has a staging host"
    ]
    monkeypatch.setattr(renderer(), "served", _unpaired_on_any_host)
    assert [f.file for f in ingress_links.published_in_staging(unpaired)] == [
        "gateway staging manifest",
        "web staging manifest",
    ]


def test_each_cluster_has_the_internal_controller_exactly_when_an_ingress_names_its_class(
    shop: Capture, unpaired: Capture, dev: Capture
) -> None:
    assert ingress_links.internal_controllers_out_of_step(shop) == []
    assert ingress_links.internal_controllers_out_of_step(unpaired) == []
    assert [c.name.split("-targets-")[1] for c in unpaired.of_type(NGINX_CONTROLLER)] == ["staging-internal-ingress"]
    assert ingress_links.internal_controllers_out_of_step(dev) == []


def test_an_internal_controller_only_for_internal_services_is_reported(
    unpaired: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The condition before this check: the controller in every cluster as soon as some service is `internal`.
    def by_expose(service: ServiceSpec, stage: str) -> str | None:
        return renderer().INTERNAL_INGRESS_CLASS if service.expose == "internal" else None

    monkeypatch.setattr("components.devops.devops.ingress_class", by_expose)
    raw, secret_keys = capture.load_stack_config(capture.ROOT / "Pulumi.dev.yaml")
    planted = capture.run("dev", {**raw, "aks-estate:services": json.dumps(UNPAIRED)}, secret_keys)
    assert [str(f) for f in ingress_links.internal_controllers_out_of_step(planted)] == [
        "staging cluster: nginx-internal: Ingresses of gateway, web and no controller serves it"
    ]
    monkeypatch.undo()
    # And the staging provider given the production cluster's credentials (the credentials call asking for the other
    # cluster): its controller lands there, none serves staging's Ingresses, and its identifier no longer matches.
    providers = {p.name: p for p in unpaired.of_type(ingress_links.KUBERNETES_PROVIDER)}
    (staging_provider,) = [p for name, p in providers.items() if "-staging-" in name]
    production_cluster = unpaired.outputs["clusters"]["production"]
    (production_id,) = [
        c.id for c in unpaired.of_type(ingress_links.CLUSTER) if c.inputs["resourceName"] == production_cluster
    ]
    kubeconfig = dict(staging_provider.wire_inputs["kubeconfig"])
    kubeconfig["value"] = kubeconfig["value"].replace(unpaired.outputs["clusters"]["staging"], production_cluster)
    elsewhere = replace(staging_provider, wire_inputs={**staging_provider.wire_inputs, "kubeconfig": kubeconfig})
    moved = [elsewhere if r.urn == staging_provider.urn else r for r in unpaired.resources]
    assert [str(f) for f in ingress_links.internal_controllers_out_of_step(replace(unpaired, resources=moved))] == [
        f"{staging_provider.name}: clusterIdentifier: writes to {production_cluster} but is identified as "
        f"{unpaired.outputs['clusters']['staging']}",
        "staging cluster: nginx-internal: Ingresses of gateway, web and no controller serves it",
        "production cluster: nginx-internal: a controller that no Ingress needs",
    ]
    # An identifier naming another cluster alone: the provider would not be replaced with the cluster it writes to.
    misnamed = [
        replace(r, inputs={**r.inputs, "clusterIdentifier": production_id}) if r.urn == staging_provider.urn else r
        for r in unpaired.resources
    ]
    assert [str(f) for f in ingress_links.internal_controllers_out_of_step(replace(unpaired, resources=misnamed))] == [
        f"{staging_provider.name}: clusterIdentifier: writes to {unpaired.outputs['clusters']['staging']} but is "
        f"identified as {production_cluster}"
    ]


def test_the_config_reserves_the_renderers_unpaired_staging_domain() -> None:
    assert config_parts.UNPAIRED_STAGING_DOMAIN == renderer().UNPAIRED_STAGING_DOMAIN
