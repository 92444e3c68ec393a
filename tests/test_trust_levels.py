"""No step that runs a service's own code can act on production: every job that checks the service's repository out
(CI's tests and container builds, CD's acceptance tests) uses connections whose identity holds no role on the
production cluster, its namespaces or the production registry; the connection that does is guarded by a
required-template check admitting only templates that use it, and never in a job running repository code."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from bootstrap.access import IAC_ROLES
from components import naming
from components.identity import BUILT_IN_ROLES
from components.service_files.layout import CI_PIPELINE_PATH
from components.service_files.manifests import renderer
from tests import validators
from tests.helpers import ROLE_ASSIGNMENT, cluster, only, registry
from tools import certificate_reach, pipeline_links, production_reach
from tools.capture import Capture, Registration

DEVOPS = "azuredevops:index/"
# Every role ID either program names, for planting grants the estate does not make.
ROLES = {**BUILT_IN_ROLES, **IAC_ROLES}
Mutation = Callable[[Capture], list[Registration]]


@pytest.fixture(scope="module")
def builtin() -> frozenset[str]:
    return pipeline_links.builtin_tasks(validators.azure_pipelines_schema())


def production_ids(estate: Capture) -> frozenset[str]:
    return frozenset({cluster(estate, "production").id, registry(estate, "prod").id})


def reach(estate: Capture) -> list[str]:
    return [str(f) for f in production_reach.production_reach(estate, production_ids(estate))]


def test_no_code_running_job_reaches_production_and_the_production_connection_admits_cd_only(estate: Capture) -> None:
    assert reach(estate) == []


def test_the_walk_sees_the_production_connection_where_cd_uses_it(prod: Capture) -> None:
    # The check must have found something to judge: the production connection in Promote and Production, neither of
    # which checks the service's repository out, and the staging connection in the acceptance tests, which do.
    templates = next(r for r in prod.of_type(f"{DEVOPS}git:Git") if r.inputs["name"] == naming.TEMPLATES_REPOSITORY)
    files = {
        r.inputs["file"]: r.inputs["content"]
        for r in prod.of_type(f"{DEVOPS}gitRepositoryFile:GitRepositoryFile")
        if r.inputs["repositoryId"] == templates.id
    }
    names = naming.EstateNames("contoso", "prod")
    jobs = {
        name: (production_reach.runs_repository_code(job, steps), production_reach.connections(steps))
        for name, job, steps in production_reach.jobs(pipeline_links.expand(files, "pipelines/cd-python.yml"))
    }
    assert jobs["Promote"] == (False, {names.production_service_connection})
    assert jobs["Deploy"][0] is False
    assert jobs["AcceptanceTests"] == (True, {names.azure_service_connection})


def _pipelines_principal(estate: Capture) -> str:
    identity = only(estate, "azure-native:managedidentity:UserAssignedIdentity", named="pipelines")
    return str(identity.outputs["principalId"])


def _grant_the_ci_identity(estate: Capture, role: str, scope: str) -> list[Registration]:
    """The estate's resources and one more role assignment: `role` on `scope` for the CI (pipelines) identity."""
    return _grant(estate, _pipelines_principal(estate), role, scope)


def _grant(estate: Capture, principal: str, role: str, scope: str) -> list[Registration]:
    """The estate's resources and one more role assignment: `role` on `scope` for `principal`."""
    template = estate.of_type(ROLE_ASSIGNMENT)[0]
    planted = dataclasses.replace(
        template,
        urn=f"{template.urn}-planted",
        inputs={
            **template.inputs,
            "principalId": principal,
            "roleDefinitionId": f"/providers/Microsoft.Authorization/roleDefinitions/{ROLES[role]}",
            "scope": scope,
        },
    )
    return [*estate.resources, planted]


def _grant_ci_identity_a_production_namespace(estate: Capture) -> list[Registration]:
    return _grant_the_ci_identity(
        estate, "Azure Kubernetes Service RBAC Writer", f"{cluster(estate, 'production').id}/namespaces/orders"
    )


def _admit_ci_to_the_production_connection(estate: Capture) -> list[Registration]:
    names = naming.EstateNames("contoso", estate.stack)
    (production,) = [
        r
        for r in estate.of_type(f"{DEVOPS}serviceEndpointAzureRM:ServiceEndpointAzureRM")
        if r.inputs["serviceEndpointName"] == names.production_service_connection
    ]

    def admit(r: Registration) -> Registration:
        if r.type != f"{DEVOPS}checkRequiredTemplate:CheckRequiredTemplate" or r.inputs["targetResourceId"] != (
            production.id
        ):
            return r
        (first, *_) = r.inputs["requiredTemplates"]
        ci = {**first, "templatePath": "pipelines/ci-python.yml"}
        return dataclasses.replace(r, inputs={**r.inputs, "requiredTemplates": [*r.inputs["requiredTemplates"], ci]})

    return [admit(r) for r in estate.resources]


def _acceptance_tests_with_the_production_connection(estate: Capture) -> list[Registration]:
    names = naming.EstateNames("contoso", estate.stack)

    def edit(r: Registration) -> Registration:
        if r.type != f"{DEVOPS}gitRepositoryFile:GitRepositoryFile" or r.inputs["file"] != "pipelines/cd-python.yml":
            return r
        document = yaml.safe_load(r.inputs["content"])
        (stage,) = [s for s in document["stages"] if s["stage"] == "AcceptanceTests"]
        acceptance = next(s for s in stage["jobs"][0]["steps"] if s.get("template") == "steps/acceptance-tests.yml")
        acceptance["parameters"]["azureServiceConnection"] = names.production_service_connection
        return dataclasses.replace(r, inputs={**r.inputs, "content": yaml.safe_dump(document)})

    return [edit(r) for r in estate.resources]


def _drop_the_production_connections_check(estate: Capture) -> list[Registration]:
    names = naming.EstateNames("contoso", estate.stack)
    (production,) = [
        r
        for r in estate.of_type(f"{DEVOPS}serviceEndpointAzureRM:ServiceEndpointAzureRM")
        if r.inputs["serviceEndpointName"] == names.production_service_connection
    ]
    return [
        r
        for r in estate.resources
        if not (
            r.type == f"{DEVOPS}checkRequiredTemplate:CheckRequiredTemplate"
            and r.inputs["targetResourceId"] == production.id
        )
    ]


def _production_connection_signs_in_as_a_stranger(estate: Capture) -> list[Registration]:
    names = naming.EstateNames("contoso", estate.stack)
    stranger = {"serviceprincipalid": "99999999-9999-4999-8999-999999999999"}
    return [
        dataclasses.replace(r, inputs={**r.inputs, "credentials": stranger})
        if r.inputs.get("serviceEndpointName") == names.production_service_connection
        else r
        for r in estate.resources
    ]


def _promote_checks_the_service_out(estate: Capture) -> list[Registration]:
    def edit(r: Registration) -> Registration:
        if r.type != f"{DEVOPS}gitRepositoryFile:GitRepositoryFile" or not r.inputs["file"].endswith("/promote.yml"):
            return r
        content = r.inputs["content"].replace("- checkout: none", "- checkout: self")
        assert content != r.inputs["content"]
        return dataclasses.replace(r, inputs={**r.inputs, "content": content})

    return [edit(r) for r in estate.resources]


PLANTED: dict[str, tuple[Mutation, list[str]]] = {
    # The design before the split: the identity CI and the acceptance tests sign in as deploys to production.
    "CI identity holds RBAC Writer on a production namespace": (
        _grant_ci_identity_a_production_namespace,
        [
            "pipelines/ci.azure-pipelines.yml: job BuildAndTest: pipeline 'orders-ci' runs repository code with a "
            "connection whose identity holds ['a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb on ",
            "pipelines/cd.azure-pipelines.yml: job AcceptanceTests: pipeline 'orders-cd' runs repository code",
            "pipelines/ci-python.yml: admits pipelines/ci-python.yml, whose job BuildAndTest runs repository code",
        ],
    ),
    "production connection admits pipelines/ci-python.yml": (
        _admit_ci_to_the_production_connection,
        ["pipelines/ci-python.yml: admits pipelines/ci-python.yml, which never uses it"],
    ),
    "acceptance tests run with the production connection": (
        _acceptance_tests_with_the_production_connection,
        [
            "job AcceptanceTests: pipeline 'orders-cd' runs repository code with a connection whose identity holds",
            "pipelines/cd-python.yml: admits pipelines/cd-python.yml, whose job AcceptanceTests runs repository code",
        ],
    ),
    # A principal outside the stack could hold anything: unknown rights are reported, not cleared.
    "production connection signs in as a principal the stack does not hold": (
        _production_connection_signs_in_as_a_stranger,
        ["contoso-prod-azure-production: (document): signs in as a principal the stack does not hold"],
    ),
    "promotion checks the service's repository out": (
        _promote_checks_the_service_out,
        [
            "job Promote: pipeline 'orders-cd' runs repository code with a connection whose identity holds",
            "pipelines/cd-python.yml: admits pipelines/cd-python.yml, whose job Promote runs repository code with it",
        ],
    ),
    "production connection without a required-template check": (
        _drop_the_production_connections_check,
        ["reaches production but no required-template check guards it"],
    ),
}


@pytest.mark.parametrize("mistake", sorted(PLANTED))
def test_a_planted_path_from_repository_code_to_production_is_reported(mistake: str, prod: Capture) -> None:
    mutation, expected = PLANTED[mistake]
    broken = Capture(stack=prod.stack, resources=mutation(prod), outputs=prod.outputs)
    found = reach(broken)
    for message in expected:
        assert any(message in line for line in found), found


def test_the_production_connections_branch_control_is_checked_against_cd_runs(
    prod: Capture, builtin: frozenset[str]
) -> None:
    names = naming.EstateNames("contoso", prod.stack)
    (production,) = [
        r
        for r in prod.of_type(f"{DEVOPS}serviceEndpointAzureRM:ServiceEndpointAzureRM")
        if r.inputs["serviceEndpointName"] == names.production_service_connection
    ]
    # Main only: CD reads the templates at their release ref, which the connection would then refuse.
    narrowed = [
        dataclasses.replace(r, inputs={**r.inputs, "allowedBranches": "refs/heads/main"})
        if r.type == f"{DEVOPS}checkBranchControl:CheckBranchControl" and r.inputs["targetResourceId"] == production.id
        else r
        for r in prod.resources
    ]
    found = [str(f) for f in pipeline_links.check(Capture(prod.stack, narrowed, prod.outputs), builtin)]
    expected = f"which the branch control of endpoint '{names.production_service_connection}' refuses"
    assert any(expected in line and "'orders-cd'" in line for line in found), found


def _served_certificate(shop: Capture) -> frozenset[str]:
    # conftest's shop serves the Key Vault certificate "shop", which is also a key and a secret of its name
    # (learn.microsoft.com/azure/key-vault/certificates/about-certificates, "Composition of a Certificate"): a reader
    # of the secret has the private key, a user of the key can sign as the host.
    vault = only(shop, "azure-native:keyvault:Vault").id
    return frozenset({f"{vault}/{kind}/shop" for kind in ("certificates", "secrets", "keys")})


def test_no_code_running_job_can_read_a_served_certificates_private_key(shop: Capture) -> None:
    # The staging and production ingresses serve this certificate: a test that could read it could impersonate the
    # production host.
    assert production_reach.production_reach(shop, _served_certificate(shop)) == []


@pytest.mark.parametrize(
    ("role", "below_the_vault"),
    [
        ("Key Vault Secrets User", ""),
        ("Key Vault Secrets User", "/secrets/shop"),
        ("Key Vault Crypto User", "/keys/shop"),
    ],
)
def test_a_ci_identity_that_could_use_the_certificate_is_reported(
    shop: Capture, role: str, below_the_vault: str
) -> None:
    vault = only(shop, "azure-native:keyvault:Vault").id
    planted = _grant_the_ci_identity(shop, role, f"{vault}{below_the_vault}")
    found = production_reach.production_reach(dataclasses.replace(shop, resources=planted), _served_certificate(shop))
    assert any("runs repository code" in str(f) and ROLES[role] in str(f) for f in found), found


# --- staging holds no certificate production serves ---------------------------------------------------------------


def _staging_reach(estate: Capture, resources: list[Registration] | None = None) -> list[str]:
    changed = estate if resources is None else dataclasses.replace(estate, resources=resources)
    return [str(f) for f in certificate_reach.staging_certificate_reach(changed)]


def test_staging_serves_its_own_certificate_and_no_code_running_identity_reaches_productions(shop: Capture) -> None:
    # The check must have something to judge: a certificate served in each stage, and the identity a service's own
    # code runs as, which holds RBAC Writer on the staging namespaces (and so reads the staging copy of shop-staging).
    served = {(s.stage, s.secret_id.rsplit("/", 1)[-1]) for s in certificate_reach.served_certificates(shop)}
    assert served == {("staging", "shop-staging"), ("production", "shop")}
    assert _pipelines_principal(shop) in certificate_reach.code_principals(shop)
    assert _staging_reach(shop) == []


def test_the_shipped_stacks_hold_no_production_certificate_in_staging(estate: Capture) -> None:
    assert _staging_reach(estate) == []


def _staging_add_on(estate: Capture) -> str:
    return str(cluster(estate, "staging").outputs["ingressProfile"]["webAppRouting"]["identity"]["objectId"])


def _production_certificate_everywhere(service: dict[str, Any], stage: str) -> tuple[Any, Any, str]:
    exposed = renderer().PUBLIC_INGRESS_CLASS if service["expose"] == "public" else renderer().INTERNAL_INGRESS_CLASS
    return service.get("host"), service.get("tlsCertificateUri"), exposed


def test_a_renderer_that_serves_productions_certificate_in_staging_is_reported(
    shop: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(renderer(), "served", _production_certificate_everywhere)
    found = _staging_reach(shop)
    reader = (
        f"{_pipelines_principal(shop)} (Azure Kubernetes Service RBAC Writer on "
        f"{cluster(shop, 'staging').id}/namespaces/gateway)"
    )
    assert any(
        line.startswith("gateway staging manifest: Ingress gateway/gateway: names production's certificate ")
        and line.endswith(
            f"/secrets/shop: the add-on copies its private key into Secret keyvault-gateway, which {reader} read"
        )
        for line in found
    ), found
    # Only because a code-running identity reads Secrets there: without its namespace grants, nothing to report.
    writer = ROLES["Azure Kubernetes Service RBAC Writer"]
    kept = [
        r for r in shop.resources if not (r.type == ROLE_ASSIGNMENT and r.inputs["roleDefinitionId"].endswith(writer))
    ]
    assert _staging_reach(shop, kept) == []


def _staging_entry_serves_productions_certificate(estate: Capture) -> list[Registration]:
    """What a config accepting stagingTlsCertificate == tlsCertificate would commit into the gateway's CI entry."""

    def edit(r: Registration) -> Registration:
        if r.type != f"{DEVOPS}gitRepositoryFile:GitRepositoryFile" or r.inputs["file"] != CI_PIPELINE_PATH:
            return r
        document = yaml.safe_load(r.inputs["content"])
        manifest = document["extends"]["parameters"]["manifest"]
        if "tlsCertificateUri" not in manifest:
            return r
        manifest["stagingTlsCertificateUri"] = manifest["tlsCertificateUri"]
        return dataclasses.replace(r, inputs={**r.inputs, "content": yaml.safe_dump(document)})

    return [edit(r) for r in estate.resources]


def test_a_staging_entry_naming_productions_certificate_is_reported(shop: Capture) -> None:
    found = _staging_reach(shop, _staging_entry_serves_productions_certificate(shop))
    assert any("Ingress gateway/gateway: names production's certificate" in line for line in found), found


@pytest.mark.parametrize("below_the_vault", ["/secrets/shop", ""])
def test_a_staging_add_on_that_may_read_productions_certificate_is_reported(
    shop: Capture, below_the_vault: str
) -> None:
    # The vault-wide grant is the design before per-stage certificates: any staging Ingress naming shop got a copy.
    vault = only(shop, "azure-native:keyvault:Vault").id
    planted = _grant(shop, _staging_add_on(shop), "Key Vault Certificate User", f"{vault}{below_the_vault}")
    found = _staging_reach(shop, planted)
    assert any(
        line.startswith(f"staging application routing add-on: Key Vault Certificate User on {vault}{below_the_vault}")
        and "reads production's certificate" in line
        and _pipelines_principal(shop) in line
        for line in found
    ), found
