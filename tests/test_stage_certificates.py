"""Each stage serves its own host and certificate: the config keys and their refusals, the certificate grants of each
cluster's application routing add-on, and the ports each node subnet opens to the internet."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import config
from components.identity import BUILT_IN_ROLES, ClusterPrincipals, EstateAccess, estate_grants
from tests.helpers import CLUSTER, only, role_assignments, stack_config, with_value
from tools import capture, ingress_links
from tools.capture import Capture

DEV = stack_config("dev")
GATEWAY = {"name": "gateway", "expose": "public", "host": "shop.contoso.com", "tlsCertificate": "shop"}
STAGED = {**GATEWAY, "stagingHost": "staging.shop.contoso.com", "stagingTlsCertificate": "shop-staging"}
OTHER = {"name": "ledger", "expose": "internal", "host": "ledger.contoso.com", "tlsCertificate": "ledger"}


def _services(*services: dict[str, Any]) -> dict[str, str]:
    return with_value(DEV, "services", [], list(services))


def _refusal(raw: dict[str, str]) -> list[str]:
    with pytest.raises(config.ConfigError) as error:
        config.parse(raw, secret_keys=frozenset({"ciSecrets"}))
    return str(error.value).splitlines()[1:]


def test_a_stage_of_its_own_is_accepted_and_staging_may_serve_nothing() -> None:
    (service,) = config.parse(_services(STAGED)).services
    assert (service.staging_host, service.staging_tls_certificate) == ("staging.shop.contoso.com", "shop-staging")
    (plain,) = config.parse(_services(GATEWAY)).services
    assert (plain.staging_host, plain.staging_tls_certificate) == (None, None)


@pytest.mark.parametrize(
    ("services", "line"),
    [
        (
            [{**STAGED, "stagingTlsCertificate": "shop"}],
            'aks-estate:services[0].stagingTlsCertificate = "shop": is the certificate production serves '
            "(services[0].tlsCertificate): staging's copy of its private key is readable by every service's tests",
        ),
        (
            [{**STAGED, "stagingTlsCertificate": "ledger"}, OTHER],
            'aks-estate:services[0].stagingTlsCertificate = "ledger": is the certificate production serves '
            "(services[1].tlsCertificate)",
        ),
        (
            [{**GATEWAY, "stagingTlsCertificate": "shop-staging"}],
            'aks-estate:services[0].stagingTlsCertificate = "shop-staging": needs stagingHost',
        ),
        (
            [{"name": "gateway", "stagingHost": "staging.shop.contoso.com"}],
            'aks-estate:services[0].stagingHost = "staging.shop.contoso.com": needs expose (public or internal)',
        ),
        (
            [{**STAGED, "stagingHost": "shop.contoso.com"}],
            'aks-estate:services[0].stagingHost = "shop.contoso.com": must differ from host',
        ),
        (
            [{**STAGED, "stagingHost": "ledger.contoso.com"}, OTHER],
            'aks-estate:services[0].stagingHost = "ledger.contoso.com": is a host production serves (services[1].host)',
        ),
        (
            [GATEWAY, {**OTHER, "host": "shop.contoso.com"}],
            'aks-estate:services[1].host = "shop.contoso.com": is services[0].host too: two services\' Ingresses '
            "claiming one host route every request to the older",
        ),
        (
            [STAGED, {**OTHER, "stagingHost": "staging.shop.contoso.com"}],
            'aks-estate:services[1].stagingHost = "staging.shop.contoso.com": is services[0].stagingHost too',
        ),
        (
            [{"name": "gateway", "expose": "internal"}, {"name": "ledger", "expose": "internal"}],
            "aks-estate:services[1].host = null: is needed: services[0].host is missing too and both are exposed "
            "internal, so both Ingresses would claim every host",
        ),
        (
            [{**GATEWAY, "stagingHost": "gateway.staging.internal"}],
            'aks-estate:services[0].stagingHost = "gateway.staging.internal": must not end in .staging.internal: '
            "staging names a service without stagingHost <name>.staging.internal on the internal controller",
        ),
    ],
)
def test_staging_never_serves_what_production_serves(services: list[dict[str, Any]], line: str) -> None:
    lines = _refusal(_services(*services))
    assert any(found.startswith(f"  {line}") for found in lines), lines


def test_services_claiming_no_host_of_one_controller_twice_are_accepted() -> None:
    # The catch-all is one per class: a public and an internal service may both go without a host.
    parsed = config.parse(_services({"name": "gateway", "expose": "public"}, {"name": "ledger", "expose": "internal"}))
    assert [(s.expose, s.host) for s in parsed.services] == [("public", None), ("internal", None)]
    parsed = config.parse(_services(STAGED, {**OTHER, "stagingHost": "staging.ledger.contoso.com"}))
    assert [s.staging_host for s in parsed.services] == ["staging.shop.contoso.com", "staging.ledger.contoso.com"]


def test_a_ci_secret_named_like_a_staging_certificate_is_refused() -> None:
    raw = with_value(_services(STAGED), "ciSecrets", [], {"shop-staging": "x"})
    assert _refusal(raw) == [
        '  aks-estate:ciSecrets.shop-staging = "shop-staging": names a service\'s stagingTlsCertificate: that name '
        "is the certificate's private key, which CI must not read"
    ]


def test_a_staging_certificate_needs_a_vault_the_clusters_can_reach() -> None:
    staging_only = {**STAGED}
    del staging_only["tlsCertificate"]
    raw = {**_services(staging_only), "keyVaultNetworkDefaultAction": "Deny"}
    lines = _refusal(raw)
    assert any(
        line.startswith(
            '  aks-estate:services[0].stagingTlsCertificate = "shop-staging": needs a Key Vault the clusters'
        )
        for line in lines
    ), lines


@pytest.fixture(scope="module")
def http_staging() -> Capture:
    """dev with a public gateway whose certificate production alone serves."""
    raw, secret_keys = capture.load_stack_config(capture.ROOT / "Pulumi.dev.yaml")
    return capture.run("dev", {**raw, "aks-estate:services": json.dumps([GATEWAY])}, secret_keys)


def _add_on_grants(estate: Capture) -> dict[str, set[str]]:
    """Stage -> the scopes its cluster's add-on identity holds Key Vault Certificate User on."""
    stages = {
        str(
            only(estate, CLUSTER, named=f"cluster-{stage}").outputs["ingressProfile"]["webAppRouting"]["identity"][
                "objectId"
            ]
        ): stage
        for stage in ("staging", "production")
    }
    found: dict[str, set[str]] = {stage: set() for stage in stages.values()}
    for grant in role_assignments(estate):
        if grant["principalId"] in stages:
            assert grant["roleDefinitionId"].endswith(BUILT_IN_ROLES["Key Vault Certificate User"])
            found[stages[grant["principalId"]]].add(grant["scope"])
    return found


def test_each_add_on_reads_exactly_the_certificates_its_stage_serves(shop: Capture, http_staging: Capture) -> None:
    # The add-on reads a certificate as the secret of its name (aks-app-routing-operator spc/reconcile.go buildSpc).
    vault = only(shop, "azure-native:keyvault:Vault").id
    assert _add_on_grants(shop) == {
        "staging": {f"{vault}/secrets/shop-staging"},
        "production": {f"{vault}/secrets/shop"},
    }
    # A stage that serves no certificate gets no grant.
    vault = only(http_staging, "azure-native:keyvault:Vault").id
    assert _add_on_grants(http_staging) == {"staging": set(), "production": {f"{vault}/secrets/shop"}}


def _public_ports(estate: Capture) -> dict[str, list[str]]:
    return {stage: ingress_links.internet_ports(estate, stage) for stage in ("staging", "production")}


def test_each_node_subnet_opens_only_what_its_own_stage_publishes(shop: Capture, http_staging: Capture) -> None:
    assert _public_ports(shop) == {"staging": ["443"], "production": ["443"]}
    # Without a stagingHost, staging serves the public gateway on the internal controller only: nothing to open.
    assert _public_ports(http_staging) == {"staging": [], "production": ["443"]}


def test_a_certificate_two_services_serve_is_read_once_by_its_own_stages_add_on() -> None:
    stages = ("staging", "production")
    access = EstateAccess(
        pipelines_principal_id="pipelines",
        production_principal_id="release",
        clusters={
            stage: ClusterPrincipals(f"/clusters/{stage}", f"kubelet-{stage}", f"add-on-{stage}") for stage in stages
        },
        registry_ids={"nonprod": "/registries/nonprod", "prod": "/registries/prod"},
        vault_id="/vault",
        ci_secret_ids={},
        services=["gateway", "shop"],
        served_certificates={"staging": ["shop-staging", "shop-staging"], "production": []},
        app_insights_id="/insights",
        telemetry_principal_ids={stage: {} for stage in stages},
    )
    reads = [(g.purpose, g.principal_id) for g in estate_grants(access) if g.role == "Key Vault Certificate User"]
    assert reads == [("staging-app-routing-read-certificate-shop-staging", "add-on-staging")]
