"""The Azure DevOps half of the estate: the templates and starter repositories, service repositories and their entry
pipelines, branch policies, workload-identity service connections, environments with their checks, required-template
checks, pipeline definitions and exactly the authorizations each one needs; and each service's tenancy in the
clusters (ARM-managed namespaces, telemetry identities).

Most tests read the session-wide `dev`/`prod` captures. One module-scoped capture adds a second service, listed
first and with its own code, to show that services are keyed by name and that existing code gets no starter.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from components import config, config_messages, config_parts, naming
from components.devops.checks import Approval, approver_id
from components.devops.kubernetes import non_interactive_kubeconfig
from components.devops.repository import INITIAL_COMMIT_FILE, MAIN_BRANCH, starter_files
from components.devops_pool import pipelines_pool_name
from components.pipeline_inputs import estate_pipeline_context, service_specs
from components.service_files import entry_pipelines, templates_repository_files
from components.service_files.context import PipelineContext, pipeline_names
from components.service_files.entry import BUILDS, Kind, stage_template
from components.service_files.layout import (
    CD_PIPELINE_PATH,
    CI_PIPELINE_PATH,
    PR_PIPELINE_PATH,
    TEMPLATES_RELEASE_REF,
    TEMPLATES_VALIDATION_TEMPLATE,
)
from components.service_files.spec import ServiceSpec
from tests.helpers import (
    APP_INSIGHTS,
    CLUSTER,
    FEDERATED_CREDENTIAL,
    IDENTITY,
    KEY_VAULT_SECRET,
    MANAGED_NAMESPACE,
    ROLE_ASSIGNMENT,
    service_manifests,
)
from tools import capture, mocks
from tools.capture import Capture, Registration
from tools.mocks import SUBSCRIPTION_ID

STAGES: tuple[naming.Stage, ...] = ("staging", "production")
SECRET = capture.SECRET


def devops(resource: str) -> str:
    """The Pulumi type token of an Azure DevOps resource, e.g. `Git` -> `azuredevops:index/git:Git`."""
    return f"azuredevops:index/{resource[0].lower()}{resource[1:]}:{resource}"


def settings(stack: str) -> config.EstateConfig:
    raw, _ = capture.load_stack_config(capture.ROOT / f"Pulumi.{stack}.yaml")
    prefix = f"{config_messages.NAMESPACE}:"
    return config.parse({key.removeprefix(prefix): value for key, value in raw.items() if key.startswith(prefix)})


def one(registrations: list[Registration], what: str) -> Registration:
    assert len(registrations) == 1, f"expected one {what}, found {[r.name for r in registrations]}"
    return registrations[0]


def repository(estate: Capture, name: str) -> Registration:
    return one([r for r in estate.of_type(devops("Git")) if r.inputs["name"] == name], f"repository {name}")


def committed(estate: Capture, repository_id: str) -> list[Registration]:
    files = [r for r in estate.of_type(devops("GitRepositoryFile")) if r.inputs["repositoryId"] == repository_id]
    return sorted(files, key=lambda r: r.inputs["file"])


def definition(estate: Capture, name: str) -> Registration:
    return one([r for r in estate.of_type(devops("BuildDefinition")) if r.inputs["name"] == name], name)


def environment(estate: Capture, name: str) -> Registration:
    return one([r for r in estate.of_type(devops("Environment")) if r.inputs["name"] == name], name)


def connection(estate: Capture, resource: str, name: str | None = None) -> Registration:
    """The one connection of that type, or of that type and name (there are two Azure Resource Manager ones)."""
    found = [r for r in estate.of_type(devops(resource)) if name is None or r.inputs["serviceEndpointName"] == name]
    return one(found, name or resource)


def arm_connection(estate: Capture, production: bool = False) -> Registration:
    names = naming.EstateNames(settings(estate.stack).name_prefix, settings(estate.stack).environment)
    name = names.production_service_connection if production else names.azure_service_connection
    return connection(estate, "ServiceEndpointAzureRM", name)


def checks_on(estate: Capture, environment_id: str) -> dict[str, list[Registration]]:
    kinds = ("CheckApproval", "CheckBranchControl", "CheckExclusiveLock")
    return {
        kind: [r for r in estate.of_type(devops(kind)) if r.inputs["targetResourceId"] == environment_id]
        for kind in kinds
    }


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")
    else:
        yield path, value


def context(estate: Capture) -> PipelineContext:
    stack = settings(estate.stack)
    secrets = sorted(r.inputs["secretName"] for r in estate.of_type(KEY_VAULT_SECRET))
    return estate_pipeline_context(stack, naming.EstateNames(stack.name_prefix, stack.environment), secrets)


def pipelines_identity(estate: Capture, production: bool = False) -> Registration:
    stack = settings(estate.stack)
    names = naming.EstateNames(stack.name_prefix, stack.environment)
    name = names.production_identity if production else names.pipelines_identity
    return one([r for r in estate.of_type(IDENTITY) if r.inputs["resourceName"] == name], name)


def telemetry_identity(estate: Capture, stage: naming.Stage, service: str) -> Registration:
    stack = settings(estate.stack)
    name = naming.EstateNames(stack.name_prefix, stack.environment).telemetry_identity(stage, service)
    return one([r for r in estate.of_type(IDENTITY) if r.inputs["resourceName"] == name], name)


def expected_files(estate: Capture, service: config_parts.Service) -> dict[str, str]:
    """The entry pipelines, with the client IDs of the identities the stack made for the service's pods."""
    stack = settings(estate.stack)
    names = naming.EstateNames(stack.name_prefix, stack.environment)
    # The service alone: none of these stacks' services calls another, so no peer changes its manifests.
    (spec,) = service_specs(stack.model_copy(update={"services": (service,)}), names)
    client_ids: dict[str, str] = {
        stage: telemetry_identity(estate, stage, service.name).outputs["clientId"] for stage in STAGES
    }
    return entry_pipelines(spec, context(estate), client_ids)


@pytest.fixture(scope="module")
def two_services() -> Capture:
    """dev with a second service, `payments`, listed before `orders` and bringing its own code."""
    raw, secret_keys = capture.load_stack_config(capture.ROOT / "Pulumi.dev.yaml")
    raw["aks-estate:services"] = json.dumps([{"name": "payments", "existingCode": True}, {"name": "orders"}])
    return capture.run("dev", raw, secret_keys)


# --- pure parts ---------------------------------------------------------------------------------------------------


def test_starter_files_leave_caches_out_and_keep_everything_else(tmp_path: Path) -> None:
    for relative in (
        "pyproject.toml",
        "src/service/app.py",
        "src/service/__pycache__/app.cpython-311.pyc",
        ".pytest_cache/v/cache/nodeids",
        ".ruff_cache/0.17/123",
        "stray.pyc",
        ".dockerignore",
    ):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(f"content of {relative}\n")
    files = starter_files(tmp_path)
    assert list(files) == [".dockerignore", "pyproject.toml", "src/service/app.py"]
    assert files["src/service/app.py"] == "content of src/service/app.py\n"


def test_starter_files_refuse_what_a_text_commit_cannot_carry(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(ValueError, match=r"logo\.png is not UTF-8 text"):
        starter_files(tmp_path)


def test_the_cluster_kubeconfig_signs_in_without_a_prompt() -> None:
    aks: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "users": [
            {"name": "u", "user": {"exec": {"command": "kubelogin", "args": ["get-token", "--login", "devicecode"]}}}
        ],
    }
    converted = yaml.safe_load(non_interactive_kubeconfig(yaml.safe_dump(aks)))
    assert converted["users"][0]["user"]["exec"]["args"] == ["get-token", "--login", "azurecli"]
    aks["users"][0]["user"]["exec"]["args"] = ["get-token", "--server-id", "s"]
    converted = yaml.safe_load(non_interactive_kubeconfig(yaml.safe_dump(aks)))
    assert converted["users"][0]["user"]["exec"]["args"] == ["get-token", "--server-id", "s", "--login", "azurecli"]
    legacy = {"users": [{"name": "u", "user": {"auth-provider": {"name": "azure"}}}]}
    with pytest.raises(ValueError, match="format=exec"):
        non_interactive_kubeconfig(yaml.safe_dump(legacy))


def test_an_approver_must_be_exactly_one_user_of_the_organisation() -> None:
    user = SimpleNamespace(id="7d3c")
    assert approver_id("ann@contoso.com", [user]) == "7d3c"
    for users in ([], [user, SimpleNamespace(id="9a1b")]):
        with pytest.raises(LookupError, match=re.escape("ann@contoso.com")):
            approver_id("ann@contoso.com", users)
    with pytest.raises(ValueError, match="repeat"):
        Approval(("ann@contoso.com", "ANN@contoso.com"), 60)
    with pytest.raises(ValueError, match="at least one"):
        Approval((), 60)


# --- project and repositories -------------------------------------------------------------------------------------


def test_the_project_is_private_git_agile_with_hardened_pipeline_settings(estate: Capture) -> None:
    project = one(estate.of_type(devops("Project")), "project")
    assert project.inputs["name"] == settings(estate.stack).devops_project
    assert project.inputs["visibility"] == "private"
    assert project.inputs["versionControl"] == "Git"
    assert project.inputs["workItemTemplate"] == "Agile"
    assert project.inputs["features"]["testplans"] == project.inputs["features"]["artifacts"] == "disabled"
    pipeline_settings = one(estate.of_type(devops("ProjectPipelineSettings")), "pipeline settings").inputs
    assert pipeline_settings["projectId"] == project.id
    for setting in ("enforceJobScope", "enforceReferencedRepoScopedToken", "enforceSettableVar"):
        assert pipeline_settings[setting] is True, setting


def test_each_service_repository_is_forked_from_the_starter_once_its_files_are_in(estate: Capture) -> None:
    services = [service.name for service in settings(estate.stack).services]
    repositories = estate.of_type(devops("Git"))
    assert sorted(r.inputs["name"] for r in repositories) == sorted(
        [*services, naming.TEMPLATES_REPOSITORY, naming.STARTER_REPOSITORY]
    )
    starter = repository(estate, naming.STARTER_REPOSITORY)
    last_starter_commit = committed(estate, starter.id)[-1]
    assert {f.inputs["file"]: f.inputs["content"] for f in committed(estate, starter.id)} == starter_files()
    for service in services:
        repo = repository(estate, service)
        # One server-side operation seeds the repository; no credential, no commit per starter file.
        assert repo.inputs["initialization"] == {"initType": "Fork"}
        assert repo.inputs["parentRepositoryId"] == starter.id
        assert last_starter_commit.urn in repo.dependencies, "a fork copies what the starter holds at that moment"
        assert repo.inputs["defaultBranch"] == MAIN_BRANCH


def test_a_service_repository_holds_only_the_stack_entry_pipelines_pushed_one_after_another(estate: Capture) -> None:
    for service in settings(estate.stack).services:
        files = committed(estate, repository(estate, service.name).id)
        assert {f.inputs["file"]: f.inputs["content"] for f in files} == expected_files(estate, service)
        previous: Registration | None = None
        for file in files:
            assert file.inputs["branch"] == MAIN_BRANCH
            assert file.inputs["overwriteOnCreate"] is (file.inputs["file"] == INITIAL_COMMIT_FILE)
            earlier_files = {d for d in file.dependencies if estate.by_urn(d).type == devops("GitRepositoryFile")}
            assert earlier_files == ({previous.urn} if previous else set()), file.inputs["file"]
            previous = file


def test_a_service_with_its_own_code_gets_the_entry_pipelines_but_no_starter(two_services: Capture) -> None:
    payments = config_parts.Service(name="payments", existing_code=True)
    repo = repository(two_services, "payments")
    assert repo.inputs["initialization"] == {"initType": "Clean"}
    assert "parentRepositoryId" not in repo.inputs
    files = committed(two_services, repo.id)
    assert {f.inputs["file"]: f.inputs["content"] for f in files} == expected_files(two_services, payments)


def test_adding_a_service_in_front_changes_no_existing_resource(dev: Capture, two_services: Capture) -> None:
    assert len([r for r in dev.resources if "-orders-" in r.name]) > 20
    after = {r.urn: r for r in two_services.resources}
    for resource in dev.resources:
        same = after[resource.urn]
        before_inputs, after_inputs = json.loads(json.dumps(resource.inputs)), json.loads(json.dumps(same.inputs))
        if "-app-insights-" in resource.name:
            # The Application Insights alerts leave out each service's staging and CI role names: those grow, in place.
            (old,), (new,) = (i["criteria"]["allOf"][0].pop("dimensions") for i in (before_inputs, after_inputs))
            assert set(new["values"]) - set(old["values"]) == {"staging.payments", "ci.payments"}
        assert after_inputs == before_inputs, resource.name
        assert same.dependencies == resource.dependencies, resource.name
    assert len(after) > len(dev.resources)


# --- branch policies ----------------------------------------------------------------------------------------------


def test_main_only_takes_reviewed_resolved_and_built_pull_requests(estate: Capture) -> None:
    stack = settings(estate.stack)
    for service in stack.services:
        repo = repository(estate, service.name)
        last_commit = committed(estate, repo.id)[-1]
        pr = definition(estate, pipeline_names(ServiceSpec(service.name)).pr)
        scope = [{"matchType": "Exact", "repositoryId": repo.id, "repositoryRef": MAIN_BRANCH}]
        policies = {
            kind: one([r for r in estate.of_type(devops(kind)) if r.inputs["settings"]["scopes"] == scope], kind)
            for kind in ("BranchPolicyBuildValidation", "BranchPolicyMinReviewers", "BranchPolicyCommentResolution")
        }
        for policy in policies.values():
            assert policy.inputs["blocking"] is True
            assert policy.inputs["enabled"] is True
            assert last_commit.urn in policy.dependencies, "a policy before the commits would refuse them"
        build = policies["BranchPolicyBuildValidation"].inputs["settings"]
        assert build["buildDefinitionId"] == int(pr.id)
        assert build["manualQueueOnly"] is False
        assert build["validDuration"] == 0
        assert build["queueOnSourceUpdateOnly"] is False
        assert build["filenamePatterns"][0] == "/*"
        reviewers = policies["BranchPolicyMinReviewers"].inputs["settings"]
        assert reviewers["reviewerCount"] == stack.minimum_reviewers
        assert reviewers["submitterCanVote"] is False
        assert reviewers["lastPusherCannotApprove"] is True
        assert reviewers["onPushResetApprovedVotes"] is True
        assert reviewers["allowCompletionWithRejectsOrWaits"] is False


# --- service connections and federation ---------------------------------------------------------------------------


def test_azure_connections_authenticate_by_workload_identity_federation_only(estate: Capture) -> None:
    identity = pipelines_identity(estate).outputs
    tenant, subscription = identity["tenantId"], SUBSCRIPTION_ID
    names = naming.EstateNames(settings(estate.stack).name_prefix, settings(estate.stack).environment)
    azure = arm_connection(estate).inputs
    registry = connection(estate, "ServiceEndpointAzureEcr").inputs
    production = arm_connection(estate, production=True).inputs
    release = pipelines_identity(estate, production=True).outputs
    assert release["clientId"] != identity["clientId"]
    for inputs, signs_in_as in ((azure, identity), (registry, identity), (production, release)):
        assert inputs["serviceEndpointAuthenticationScheme"] == "WorkloadIdentityFederation"
        assert inputs["credentials"] == {"serviceprincipalid": signs_in_as["clientId"]}
    assert (production["azurermSpnTenantid"], production["azurermSubscriptionId"]) == (tenant, subscription)
    assert (azure["serviceEndpointName"], azure["azurermSpnTenantid"], azure["azurermSubscriptionId"]) == (
        names.azure_service_connection,
        tenant,
        subscription,
    )
    assert (
        registry["serviceEndpointName"],
        registry["azurecrSpnTenantid"],
        registry["azurecrSubscriptionId"],
        registry["azurecrName"],
    ) == (names.registry_service_connection, tenant, subscription, names.registry("nonprod"))


@pytest.mark.parametrize("production", [False, True], ids=["pipelines", "release"])
def test_federated_credentials_trust_exactly_the_service_connections(estate: Capture, production: bool) -> None:
    # The pipelines identity trusts CI's and staging's connections only; the release identity the production one only.
    identity = pipelines_identity(estate, production)
    credentials = {
        r.inputs["federatedIdentityCredentialResourceName"]: r
        for r in estate.of_type(FEDERATED_CREDENTIAL)
        if identity.urn in r.dependencies or r.inputs["resourceName"] == identity.inputs["resourceName"]
    }
    every = [arm_connection(estate), connection(estate, "ServiceEndpointAzureEcr"), arm_connection(estate, True)]
    endpoints = every[2:] if production else every[:2]
    assert sorted(credentials) == sorted(f"ado-{e.inputs['serviceEndpointName']}" for e in endpoints)
    for endpoint in endpoints:
        credential = credentials[f"ado-{endpoint.inputs['serviceEndpointName']}"]
        assert credential.inputs["issuer"] == endpoint.outputs["workloadIdentityFederationIssuer"]
        assert credential.inputs["subject"] == endpoint.outputs["workloadIdentityFederationSubject"]
        endpoint_urns = {e.urn for e in every}
        assert endpoint_urns & set(credential.dependencies) == {endpoint.urn}, "issuer and subject of this endpoint"
        assert credential.inputs["resourceName"] == identity.inputs["resourceName"]
        assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]


def test_no_password_key_or_plaintext_credential_anywhere_in_devops(estate: Capture) -> None:
    forbidden = ("serviceprincipalkey", "serviceprincipalcertificate", "password", "secretvalue", "apitoken", "token")
    for resource in estate.resources:
        if not resource.type.startswith(("azuredevops:", "kubernetes:", "pulumi:providers:kubernetes")):
            continue
        for path, value in walk(resource.inputs):
            key = path.rsplit(".", 1)[-1].lower()
            if value == SECRET:
                # The one secret left: the cluster-user kubeconfig of the internal ingress controller's provider.
                allowed = resource.type == "pulumi:providers:kubernetes" and path == ".kubeconfig"
                assert allowed, f"{resource.name}{path} is a secret"
            else:
                assert key not in forbidden, f"{resource.name}{path} carries a credential in the clear"
                assert "kubeconfig" not in key, f"{resource.name}{path} carries a kubeconfig in the clear"


# --- environments, checks and Kubernetes targets ------------------------------------------------------------------


def test_production_deploys_need_approval_from_main_one_at_a_time(estate: Capture) -> None:
    stack = settings(estate.stack)
    checks = checks_on(estate, environment(estate, "production").id)
    approval = one(checks["CheckApproval"], "approval").inputs
    # Approvals name Azure DevOps identities: each configured e-mail is looked up, never passed through.
    assert len(approval["approvers"]) == len(stack.production_approvers)
    assert not set(approval["approvers"]) & set(stack.production_approvers)
    assert all(uuid.UUID(approver) for approver in approval["approvers"])
    assert approval["requesterCanApprove"] is False
    assert approval["timeout"] == stack.approval_timeout_minutes
    branch = one(checks["CheckBranchControl"], "branch control").inputs
    # Branch control validates every repository a run uses: the service's main and the templates' release.
    assert branch["allowedBranches"] == f"{MAIN_BRANCH},{TEMPLATES_RELEASE_REF}"
    assert branch["verifyBranchProtection"] is True
    assert branch["ignoreUnknownProtectionStatus"] is False
    one(checks["CheckExclusiveLock"], "exclusive lock")
    for check in (approval, branch):
        assert check["targetResourceType"] == "environment"


def test_the_production_connection_admits_main_and_the_templates_release_only(estate: Capture) -> None:
    checks = checks_on(estate, arm_connection(estate, production=True).id)
    branch = one(checks["CheckBranchControl"], "branch control").inputs
    assert branch["allowedBranches"] == f"{MAIN_BRANCH},{TEMPLATES_RELEASE_REF}"
    assert branch["verifyBranchProtection"] is True
    assert branch["ignoreUnknownProtectionStatus"] is False
    assert branch["targetResourceType"] == "endpoint"
    # The approval stays the production environment's and ManualValidation's: no third approval of the same run.
    assert [len(checks[kind]) for kind in ("CheckApproval", "CheckExclusiveLock")] == [0, 0]


def test_staging_deploys_one_at_a_time_without_a_gate(estate: Capture) -> None:
    checks = checks_on(estate, environment(estate, "staging").id)
    assert [len(checks[kind]) for kind in ("CheckApproval", "CheckBranchControl", "CheckExclusiveLock")] == [0, 0, 1]


def required_templates(estate: Capture, target_id: str) -> set[tuple[str, str, str]]:
    (check,) = [r for r in estate.of_type(devops("CheckRequiredTemplate")) if r.inputs["targetResourceId"] == target_id]
    return {(t["repositoryName"], t["repositoryRef"], t["templatePath"]) for t in check.inputs["requiredTemplates"]}


def test_only_runs_extending_the_released_templates_deploy_or_push(estate: Capture) -> None:
    templates = f"{settings(estate.stack).devops_project}/{naming.TEMPLATES_REPOSITORY}"

    def of(*kinds: Kind) -> set[tuple[str, str, str]]:
        return {(templates, TEMPLATES_RELEASE_REF, stage_template(k, b)) for k in kinds for b in BUILDS}

    for stage in STAGES:
        assert required_templates(estate, environment(estate, stage).id) == of("cd")
    assert required_templates(estate, arm_connection(estate).id) == of("ci", "cd")
    # The production connection admits CD's templates only: CI's run the service's own code.
    assert required_templates(estate, arm_connection(estate, production=True).id) == of("cd")
    assert required_templates(estate, connection(estate, "ServiceEndpointAzureEcr").id) == of("ci")
    checks = estate.of_type(devops("CheckRequiredTemplate"))
    assert all(t["repositoryType"] == "azuregit" for r in checks for t in r.inputs["requiredTemplates"])
    # Every template a check names is in the templates repository.
    held = {f.inputs["file"] for f in committed(estate, repository(estate, naming.TEMPLATES_REPOSITORY).id)}
    assert {t["templatePath"] for r in checks for t in r.inputs["requiredTemplates"]} <= held


def test_only_runs_extending_a_released_template_reach_the_project_pool(dev: Capture, prod: Capture) -> None:
    # Prod's pipelines run on the Managed DevOps Pool inside the network: its queue admits no run whose entry does not
    # extend a released template, the templates repository's validation included.
    templates = f"{settings(prod.stack).devops_project}/{naming.TEMPLATES_REPOSITORY}"
    admitted = {(templates, TEMPLATES_RELEASE_REF, stage_template(k, b)) for k in ("pr", "ci", "cd") for b in BUILDS}
    project = one(prod.of_type(devops("Project")), "project")
    (queue_id,) = {
        r.inputs["resourceId"]
        for r in prod.of_type(devops("PipelineAuthorization"))
        if r.inputs["type"] == "queue" and r.inputs["projectId"] == project.id
    }
    (check,) = [r for r in prod.of_type(devops("CheckRequiredTemplate")) if r.inputs["targetResourceType"] == "queue"]
    assert check.inputs["targetResourceId"] == queue_id
    assert required_templates(prod, queue_id) == admitted | {
        (templates, TEMPLATES_RELEASE_REF, TEMPLATES_VALIDATION_TEMPLATE)
    }
    # Dev runs on Microsoft-hosted agents, outside the network, through the project's built-in queue.
    assert not [r for r in dev.of_type(devops("PipelineAuthorization")) if r.inputs["type"] == "queue"]
    assert not [r for r in dev.of_type(devops("CheckRequiredTemplate")) if r.inputs["targetResourceType"] == "queue"]


def test_the_templates_repository_holds_the_rendered_templates_behind_review_and_a_release_ref(estate: Capture) -> None:
    repo = repository(estate, naming.TEMPLATES_REPOSITORY)
    files = committed(estate, repo.id)
    expected = templates_repository_files(context(estate))
    assert {f.inputs["file"]: f.inputs["content"] for f in files} == expected
    (release,) = estate.of_type(devops("GitRepositoryBranch"))
    assert (release.inputs["name"], release.inputs["refBranch"]) == ("release", "main")
    assert f"refs/heads/{release.inputs['name']}" == TEMPLATES_RELEASE_REF
    assert files[-1].urn in release.dependencies, "the release ref is cut after every template is in"
    # Moving the release replaces the branch (one name: the old ref goes first), exactly when the setting changes.
    assert release.replacement_trigger == settings(estate.stack).templates_release
    assert release.delete_before_replace
    validation = definition(estate, f"{naming.TEMPLATES_REPOSITORY}-validation")
    scope = [{"matchType": "Exact", "repositoryId": repo.id, "repositoryRef": MAIN_BRANCH}]
    build = one(
        [r for r in estate.of_type(devops("BranchPolicyBuildValidation")) if r.inputs["settings"]["scopes"] == scope],
        "templates build validation",
    )
    assert build.inputs["settings"]["buildDefinitionId"] == int(validation.id)
    assert [r for r in estate.of_type(devops("BranchPolicyMinReviewers")) if r.inputs["settings"]["scopes"] == scope]
    # The release ref the checks trust is protected too (branch control verifies it), and only the stack moves it:
    # the project's contributors may neither push, create nor delete a branch of either platform repository.
    release_scope = [{"matchType": "Exact", "repositoryId": repo.id, "repositoryRef": TEMPLATES_RELEASE_REF}]
    assert [
        r for r in estate.of_type(devops("BranchPolicyMinReviewers")) if r.inputs["settings"]["scopes"] == release_scope
    ]
    starter = repository(estate, naming.STARTER_REPOSITORY)
    denied = {
        r.inputs["repositoryId"]: r.inputs["permissions"]
        for r in estate.of_type(devops("GitPermissions"))
        if r.inputs["permissions"].get("GenericContribute") == "Deny"
    }
    deny = {"GenericContribute": "Deny", "CreateBranch": "Deny", "ForcePush": "Deny"}
    assert denied == {repo.id: deny, starter.id: deny}
    # Read access for the pipelines that extend it, and nothing else opened to all pipelines.
    (open_to_all,) = [r for r in estate.of_type(devops("PipelineAuthorization")) if not r.inputs.get("pipelineId")]
    assert (open_to_all.inputs["type"], open_to_all.inputs["resourceId"]) == ("repository", repo.id)


def release_policy_problems(estate: Capture) -> list[str]:
    """Every branch policy on the templates' release ref must go with the release branch: a branch with required
    policies cannot be deleted (azure-devops-docs docs/repos/git/branch-policies.md), and moving the release deletes
    the branch first (terraform-provider-azuredevops resource_git_repository_branch.go, Delete: UpdateRefs to
    0000...). The engine deletes before a delete-before-replace resource only what names it in `replace_with`
    (pulumi/pulumi pkg/resource/deploy/step_generator.go, findDependentCascadeReplacements)."""
    (release,) = estate.of_type(devops("GitRepositoryBranch"))
    policies = [
        r
        for r in estate.resources
        if r.type.startswith("azuredevops:index/branchPolicy")
        and any(scope["repositoryRef"] == TEMPLATES_RELEASE_REF for scope in r.inputs["settings"]["scopes"])
    ]
    problems = [] if policies else ["no branch policy holds the release ref"]
    for policy in policies:
        if policy.replace_with != (release.urn,):
            problems.append(f"{policy.name} is not replaced with the release branch: {policy.replace_with}")
        if not policy.delete_before_replace:
            problems.append(f"{policy.name} is not deleted before it is replaced")
        if release.urn not in policy.dependencies:
            problems.append(f"{policy.name} does not wait for the release branch")
    return problems


def test_the_release_policies_are_replaced_with_the_release_branch(estate: Capture) -> None:
    assert release_policy_problems(estate) == []
    kinds = {r.type for r in estate.resources if r.type.startswith("azuredevops:index/branchPolicy") and r.replace_with}
    assert kinds == {devops("BranchPolicyMinReviewers"), devops("BranchPolicyCommentResolution")}


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("replace_with", (), "is not replaced with the release branch"),
        ("delete_before_replace", False, "is not deleted before it is replaced"),
        ("dependencies", (), "does not wait for the release branch"),
    ],
)
def test_a_release_policy_left_behind_by_the_branch_is_reported(
    prod: Capture, option: str, value: Any, expected: str
) -> None:
    policy = next(r for r in prod.resources if r.type.startswith("azuredevops:index/branchPolicy") and r.replace_with)
    planted = [dataclasses.replace(r, **{option: value}) if r is policy else r for r in prod.resources]
    problems = release_policy_problems(Capture(prod.stack, planted, prod.outputs))
    assert problems == [f"{policy.name} {expected}" + (": ()" if option == "replace_with" else "")]


def test_each_service_namespace_is_an_arm_resource_that_keeps_its_workloads(dev: Capture, prod: Capture) -> None:
    for estate, protected in ((dev, False), (prod, True)):
        services = [service.name for service in settings(estate.stack).services]
        for stage in STAGES:
            cluster = one([r for r in estate.of_type(CLUSTER) if r.inputs["resourceName"].endswith(stage)], stage)
            namespaces = [
                r for r in estate.of_type(MANAGED_NAMESPACE) if r.inputs["resourceName"] == cluster.outputs["name"]
            ]
            assert sorted(n.inputs["managedNamespaceName"] for n in namespaces) == sorted(services)
            for namespace in namespaces:
                properties = namespace.inputs["properties"]
                # Removing the ARM resource leaves the Kubernetes namespace and its workloads (deletePolicy Keep);
                # an existing namespace of the name is taken over (adoptionPolicy Always).
                assert (properties["deletePolicy"], properties["adoptionPolicy"]) == ("Keep", "Always")
                # Not AKS's default "allow same namespace" ingress: the manifests' own policies admit the ingress
                # controllers and declared callers from other namespaces.
                assert properties["defaultNetworkPolicy"] == {"ingress": "AllowAll", "egress": "AllowAll"}
                assert properties["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
                assert namespace.protect is protected
                assert cluster.urn in namespace.dependencies
        assert not estate.of_type("kubernetes:core/v1:Namespace"), "no namespace through the API server"


def test_each_service_sends_telemetry_as_its_own_identity_in_each_cluster(estate: Capture) -> None:
    (insights,) = estate.of_type(APP_INSIGHTS)
    for service in settings(estate.stack).services:
        for stage in STAGES:
            cluster = one([r for r in estate.of_type(CLUSTER) if r.inputs["resourceName"].endswith(stage)], stage)
            identity = telemetry_identity(estate, stage, service.name)
            (credential,) = [r for r in estate.of_type(FEDERATED_CREDENTIAL) if identity.urn in r.dependencies]
            # The token the kubelet projects for the service account the manifests give the Deployment.
            assert credential.inputs["subject"] == f"system:serviceaccount:{service.name}:{service.name}"
            assert credential.inputs["issuer"] == cluster.outputs["oidcIssuerProfile"]["issuerURL"]
            (grant,) = [
                r for r in estate.of_type(ROLE_ASSIGNMENT) if r.inputs["principalId"] == identity.outputs["principalId"]
            ]
            assert grant.inputs["scope"] == insights.id
            assert grant.inputs["roleDefinitionId"].endswith("/3913510d-42f4-4e42-8a64-420c390055eb")


# --- variable group -----------------------------------------------------------------------------------------------


def test_azure_devops_servers_never_read_the_vault(estate: Capture) -> None:
    # A Key Vault-linked variable group makes Azure DevOps list the vault's secrets from its own servers on every
    # save (terraform-provider-azuredevops `resource_variable_group.go`, `searchAzureKVSecrets`); the prod vault admits
    # only the agents' network. CI reads the secrets on the agent instead.
    assert not [r.name for r in estate.of_type(devops("VariableGroup")) if r.inputs.get("keyVault")]


# --- pipeline definitions and authorizations ----------------------------------------------------------------------


def test_every_definition_runs_a_committed_yaml_of_its_own_repository(estate: Capture) -> None:
    for service in settings(estate.stack).services:
        repo = repository(estate, service.name)
        files = committed(estate, repo.id)
        names = pipeline_names(ServiceSpec(service.name))
        for name, path, ci_trigger in (
            (names.pr, PR_PIPELINE_PATH, None),
            (names.ci, CI_PIPELINE_PATH, {"useYaml": True}),
            (names.cd, CD_PIPELINE_PATH, None),
        ):
            inputs = definition(estate, name).inputs
            assert inputs["repository"]["repoType"] == "TfsGit"
            assert inputs["repository"]["repoId"] == repo.id
            assert inputs["repository"]["branchName"] == MAIN_BRANCH
            assert inputs["repository"]["ymlPath"] == path
            assert path in {f.inputs["file"] for f in files}
            assert inputs.get("ciTrigger") == ci_trigger
            assert inputs["jobAuthorizationScope"] == "project"
            assert files[-1].urn in definition(estate, name).dependencies, "a definition needs its YAML committed"


def test_each_pipeline_is_authorized_for_exactly_what_it_uses(estate: Capture) -> None:
    # The templates repository's read access is the one authorization open to every pipeline (tested above).
    authorizations = [r for r in estate.of_type(devops("PipelineAuthorization")) if r.inputs.get("pipelineId")]
    azure = arm_connection(estate).id
    production = arm_connection(estate, production=True).id
    registry = connection(estate, "ServiceEndpointAzureEcr").id
    # An existing organisation pool gets a Queue from the stack; the Managed DevOps Pool's is the one it created in
    # the project, found by name.
    project = one(estate.of_type(devops("Project")), "project")
    queues = {("queue", r.id) for r in estate.of_type(devops("Queue"))} | {
        ("queue", mocks.agent_queue_id(project.id, p.inputs["poolName"]))
        for p in estate.of_type("azure-native:devopsinfrastructure:Pool")
    }
    assert len(queues) == (1 if pipelines_pool_name(settings(estate.stack)) else 0)
    for service in settings(estate.stack).services:
        names = pipeline_names(ServiceSpec(service.name))
        granted = {
            kind: {
                (r.inputs["type"], r.inputs["resourceId"])
                for r in authorizations
                if str(r.inputs["pipelineId"]) == definition(estate, name).id
            }
            for kind, name in (("pr", names.pr), ("ci", names.ci), ("cd", names.cd))
        }
        assert granted["pr"] == queues
        assert granted["ci"] == {*queues, ("endpoint", azure), ("endpoint", registry)}
        assert granted["cd"] == {
            *queues,
            ("endpoint", azure),
            ("endpoint", production),
            *(("environment", environment(estate, stage).id) for stage in STAGES),
        }


# --- stack outputs ------------------------------------------------------------------------------------------------


def test_the_stack_exports_the_devops_entry_points(estate: Capture) -> None:
    stack = settings(estate.stack)
    outputs = estate.outputs
    assert outputs["devopsProjectUrl"].endswith(f"/{stack.devops_project}")
    assert outputs["environments"] == {stage: stage for stage in STAGES}
    for service in stack.services:
        assert outputs["repositoryUrls"][service.name] == repository(estate, service.name).outputs["webUrl"]
        names = pipeline_names(ServiceSpec(service.name))
        assert outputs["pipelineIds"][service.name] == {
            "pr": int(definition(estate, names.pr).id),
            "ci": int(definition(estate, names.ci).id),
            "cd": int(definition(estate, names.cd).id),
        }


def test_no_committed_file_is_ever_deleted_by_the_stack(dev: Capture) -> None:
    # Whatever the stack stops managing (the files of the previous design too) stays in the repository as it is.
    commits = dev.of_type(devops("GitRepositoryFile"))
    assert commits
    assert all(commit.retain_on_delete and not commit.ignore_changes for commit in commits)


def test_a_change_of_seeding_never_replaces_a_repository(estate: Capture) -> None:
    # The provider forces a new repository when `initialization` changes (`resource_git_repository.go`); a stack
    # whose repositories were created clean moves to forking without touching them.
    services = {service.name for service in settings(estate.stack).services}
    repositories = [r for r in estate.of_type(devops("Git")) if r.inputs["name"] in services]
    assert repositories
    assert all(r.ignore_changes == ("initialization", "parentRepositoryId") for r in repositories)
    assert all(r.retain_on_delete for r in estate.of_type(devops("Git")))


def test_the_security_scan_extension_is_installed_where_ci_scans_and_never_uninstalled(
    dev: Capture, prod: Capture
) -> None:
    (extension,) = prod.of_type(devops("Extension"))
    assert (extension.inputs["publisherId"], extension.inputs["extensionId"]) == (
        "ms-securitydevops",
        "microsoft-security-devops-azdevops",
    )
    assert extension.retain_on_delete
    assert dev.of_type(devops("Extension")) == []


PLANT_AUTO_PROVISIONED_POOL = """
from tools import capture
from tools.mocks import EstateMocks

original = EstateMocks.call

def auto_provisioned(self, args):
    result = original(self, args)
    return {**result, "autoProvision": True} if args.token == "azuredevops:index/getPool:getPool" else result

EstateMocks.call = auto_provisioned
config, secret_keys = capture.load_stack_config(capture.ROOT / "Pulumi.prod.yaml")
# The prod stack on an existing organisation pool instead of its own Managed DevOps Pool.
del config["aks-estate:managedAgentPool"]
config["aks-estate:agentPool"] = "aks-estate-agents"
config["aks-estate:agentPoolEgressRanges"] = '["20.50.0.0/24"]'
capture.run("prod", config, secret_keys)
"""


def test_an_auto_provisioning_pool_is_refused_at_preview() -> None:
    # Planted: the organisation's pool already hands every new project a queue open to all pipelines. In a process of
    # its own: a program that fails mid-run leaves the engine's global state to the next run in the same process.
    result = subprocess.run(
        [sys.executable, "-c", PLANT_AUTO_PROVISIONED_POOL],
        cwd=capture.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    assert "auto-provisions a queue into every project" in result.stderr


def test_every_service_definition_runs_an_entry_that_extends_the_released_templates(estate: Capture) -> None:
    templates = f"{settings(estate.stack).devops_project}/{naming.TEMPLATES_REPOSITORY}"
    files = {
        (f.inputs["repositoryId"], f.inputs["file"]): f.inputs["content"]
        for f in estate.of_type(devops("GitRepositoryFile"))
    }
    services = {repository(estate, s.name).id: s for s in settings(estate.stack).services}
    definitions = [d for d in estate.of_type(devops("BuildDefinition")) if d.inputs["repository"]["repoId"] in services]
    assert len(definitions) == 3 * len(services)
    for definition_ in definitions:
        entry = yaml.safe_load(
            files[definition_.inputs["repository"]["repoId"], definition_.inputs["repository"]["ymlPath"]]
        )
        (resource,) = entry["resources"]["repositories"]
        assert (resource["name"], resource["ref"]) == (templates, TEMPLATES_RELEASE_REF)
        kind = definition_.inputs["name"].rsplit("-", 1)[-1]
        build = services[definition_.inputs["repository"]["repoId"]].build
        assert entry["extends"]["template"] == f"{stage_template(kind, build)}@{resource['repository']}"


def test_the_pods_service_account_is_the_subject_the_telemetry_identity_trusts(estate: Capture) -> None:
    # The link at run time: the Deployment runs as a service account whose annotation names a client ID; the webhook
    # exchanges that account's token for the identity with that client ID, which Entra ID grants only when the
    # identity has a federated credential for exactly this issuer and `system:serviceaccount:<namespace>:<name>`.
    identities = {r.outputs["clientId"]: r for r in estate.of_type(IDENTITY)}
    for service in settings(estate.stack).services:
        for stage in STAGES:
            cluster = one([r for r in estate.of_type(CLUSTER) if r.inputs["resourceName"].endswith(stage)], stage)
            documents = service_manifests(estate, service.name, stage)
            (account,) = [d for d in documents if d["kind"] == "ServiceAccount"]
            (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
            pod = deployment["spec"]["template"]
            assert pod["spec"]["serviceAccountName"] == account["metadata"]["name"]
            assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
            identity = identities[account["metadata"]["annotations"]["azure.workload.identity/client-id"]]
            subject = f"system:serviceaccount:{account['metadata']['namespace']}:{account['metadata']['name']}"
            trusted = {
                (r.inputs["issuer"], r.inputs["subject"])
                for r in estate.of_type(FEDERATED_CREDENTIAL)
                if identity.urn in r.dependencies
            }
            assert (cluster.outputs["oidcIssuerProfile"]["issuerURL"], subject) in trusted, (service.name, stage)
