"""A staging Ingress without a staging pair of its own: on the internal controller, for a host of its own.

ingress-nginx keeps the oldest Ingress's location for a host, path and path type and routes every later claimant's
requests to it (kubernetes/ingress-nginx internal/ingress/controller/store/store.go sortIngressSlice orders them by
creation; controller.go getBackendServers skips a location already configured), and the add-on runs it without the
admission webhook that would refuse the second, so a clash fails nowhere. The acceptance tests port-forward
(pipelines/platform/steps/acceptance-tests.yml), so no pipeline needs a staging service published; one published
over plain HTTP on the public controller is pre-release code on the internet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import pytest
import yaml

from components import config_parts
from components.service_files.layout import CI_PIPELINE_PATH
from components.service_files.manifests import kubernetes_manifest, manifest_parameters, renderer
from components.service_files.spec import ServiceSpec
from tests.helpers import committed_file, service_manifests
from tools import capture
from tools.capture import Capture

NSG = "azure-native:network:NetworkSecurityGroup"
NGINX_CONTROLLER = "kubernetes:approuting.kubernetes.azure.com/v1alpha1:NginxIngressController"
STAGES = ("staging", "production")
CLIENT_IDS = {"staging": "staging-telemetry", "production": "production-telemetry"}
VAULT = "https://kv-contoso.vault.azure.net/certificates"

# Two public services with production pairs only, one of them staged, and a host-less internal one.
SPECS = (
    ServiceSpec(name="shop", expose="public", host="shop.contoso.com", tls_certificate_uri=f"{VAULT}/shop"),
    ServiceSpec(name="api", expose="public", host="api.contoso.com", tls_certificate_uri=f"{VAULT}/api"),
    ServiceSpec(
        name="admin",
        expose="public",
        host="admin.contoso.com",
        staging_host="admin.staging.contoso.com",
        staging_tls_certificate_uri=f"{VAULT}/admin-staging",
    ),
    ServiceSpec(name="ledger", expose="internal"),
)
# The same stack shape through the program: two public services that name no staging host.
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


def route_clashes(documents: Mapping[str, Iterable[dict[str, Any]]]) -> list[str]:
    """Each (class, host, path, path type) that Ingresses of more than one service claim, from each service's
    rendered documents for one cluster."""
    claims: dict[tuple[str, str, str, str], list[str]] = {}
    for service, objects in documents.items():
        for ingress in (d for d in objects if d["kind"] == "Ingress"):
            for rule in ingress["spec"]["rules"]:
                for path in rule["http"]["paths"]:
                    route = (ingress["spec"]["ingressClassName"], rule.get("host", ""), path["path"], path["pathType"])
                    claims.setdefault(route, []).append(service)
    return [f"{route} claimed by {', '.join(names)}" for route, names in claims.items() if len(names) > 1]


def _rendered(stage: str) -> dict[str, list[dict[str, Any]]]:
    return {spec.name: kubernetes_manifest(manifest_parameters(spec, CLIENT_IDS), stage, "", "") for spec in SPECS}


@pytest.mark.parametrize("stage", STAGES)
def test_no_two_ingresses_of_one_class_and_stage_claim_the_same_route(stage: str) -> None:
    assert route_clashes(_rendered(stage)) == []


def test_a_catch_all_staging_ingress_per_service_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(renderer(), "served", _unpaired_on_any_host)
    assert route_clashes(_rendered("staging")) == [
        "('webapprouting.kubernetes.azure.com', '', '/', 'Prefix') claimed by shop, api"
    ]


@pytest.fixture(scope="module")
def unpaired() -> Capture:
    raw, secret_keys = capture.load_stack_config(capture.ROOT / "Pulumi.dev.yaml")
    return capture.run("dev", {**raw, "aks-estate:services": json.dumps(UNPAIRED)}, secret_keys)


def _node_ports(estate: Capture, stage: str) -> list[str]:
    (group,) = [g for g in estate.of_type(NSG) if str(g.inputs["networkSecurityGroupName"]).endswith(f"{stage}-nodes")]
    return [port for rule in group.inputs.get("securityRules", []) for port in rule["destinationPortRanges"]]


def _manifest(estate: Capture, service: str) -> dict[str, Any]:
    """The `manifest` parameter the service's committed CI entry passes the renderer."""
    entry = yaml.safe_load(committed_file(estate, service, CI_PIPELINE_PATH))
    return dict(entry["extends"]["parameters"]["manifest"])


def published_in_staging(estate: Capture, services: Iterable[str]) -> list[str]:
    """What staging publishes to the internet without a staging host of its own: a public-class staging Ingress of a
    service whose CI entry passes no stagingHost, and internet ports on the staging node subnet that no public-class
    Ingress with a staging host serves."""
    found, published = [], False
    for service in services:
        for ingress in (d for d in service_manifests(estate, service) if d["kind"] == "Ingress"):
            hosts = [rule.get("host", "") for rule in ingress["spec"]["rules"]]
            public = ingress["spec"]["ingressClassName"] == renderer().PUBLIC_INGRESS_CLASS
            staged = "stagingHost" in _manifest(estate, service)
            published |= public and staged
            if public and not staged:
                found.append(f"{service}: staging Ingress on the public class for hosts {hosts}")
    if _node_ports(estate, "staging") and not published:
        found.append(f"staging node subnet opens {_node_ports(estate, 'staging')} to the internet for no staging host")
    return found


def test_an_unpaired_public_service_is_not_published_in_staging(unpaired: Capture) -> None:
    assert published_in_staging(unpaired, ["gateway", "web"]) == []
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
    assert _node_ports(unpaired, "production") == ["80", "443"]


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
    assert published_in_staging(replace(unpaired, resources=opened), ["gateway", "web"]) == [
        "staging node subnet opens ['80', '443'] to the internet for no staging host"
    ]
    monkeypatch.setattr(renderer(), "served", _unpaired_on_any_host)
    assert published_in_staging(unpaired, ["gateway", "web"]) == [
        "gateway: staging Ingress on the public class for hosts ['']",
        "web: staging Ingress on the public class for hosts ['']",
    ]


def internal_controllers_out_of_step(estate: Capture, services: Iterable[str]) -> list[str]:
    """Each cluster whose internal controller exists without an Ingress naming its class, or is missing while one
    does: an Ingress of a class no controller serves is never served, and nothing fails."""
    internal = renderer().INTERNAL_INGRESS_CLASS
    found = []
    for stage in STAGES:
        needed = any(
            d["kind"] == "Ingress" and d["spec"]["ingressClassName"] == internal
            for service in services
            for d in service_manifests(estate, service, stage)
        )
        present = any(f"-targets-{stage}-" in c.name for c in estate.of_type(NGINX_CONTROLLER))
        if needed and not present:
            found.append(f"{stage}: an {internal} Ingress and no internal controller")
        if present and not needed:
            found.append(f"{stage}: an internal controller and no {internal} Ingress")
    return found


def test_each_cluster_has_the_internal_controller_exactly_when_an_ingress_names_its_class(
    shop: Capture, unpaired: Capture, dev: Capture
) -> None:
    assert internal_controllers_out_of_step(shop, ["gateway", "ledger"]) == []
    assert internal_controllers_out_of_step(unpaired, ["gateway", "web"]) == []
    assert [c.name.split("-targets-")[1] for c in unpaired.of_type(NGINX_CONTROLLER)] == ["staging-internal-ingress"]
    assert internal_controllers_out_of_step(dev, ["orders"]) == []


def test_an_internal_controller_only_for_internal_services_is_reported(
    unpaired: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The condition before this check: the controller in every cluster as soon as some service is `internal`.
    def by_expose(service: ServiceSpec, stage: str) -> str | None:
        return renderer().INTERNAL_INGRESS_CLASS if service.expose == "internal" else None

    monkeypatch.setattr("components.devops.devops.ingress_class", by_expose)
    raw, secret_keys = capture.load_stack_config(capture.ROOT / "Pulumi.dev.yaml")
    planted = capture.run("dev", {**raw, "aks-estate:services": json.dumps(UNPAIRED)}, secret_keys)
    assert internal_controllers_out_of_step(planted, ["gateway", "web"]) == [
        "staging: an nginx-internal Ingress and no internal controller"
    ]
    # And a controller in the wrong cluster: one no Ingress names, the other missing.
    moved = [
        replace(r, name=r.name.replace("-targets-staging-", "-targets-production-"))
        if r.type == NGINX_CONTROLLER
        else r
        for r in unpaired.resources
    ]
    assert internal_controllers_out_of_step(replace(unpaired, resources=moved), ["gateway", "web"]) == [
        "staging: an nginx-internal Ingress and no internal controller",
        "production: an internal controller and no nginx-internal Ingress",
    ]


def test_the_config_reserves_the_renderers_unpaired_staging_domain() -> None:
    assert config_parts.UNPAIRED_STAGING_DOMAIN == renderer().UNPAIRED_STAGING_DOMAIN
