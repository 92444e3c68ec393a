"""Azure DevOps rules (pulumi-azuredevops): how code reaches `main` and how a deployment reaches production.

Input names are the provider's (`inspect.signature(pulumi_azuredevops.<Class>._internal_init)`, camelCased as the
engine receives them). Checkov has one Azure DevOps check, CKV2_ADO_1 (two reviewers); the rest come from the
architecture: nothing is open to every pipeline of the project, every connection to Azure federates, and production
deployments pass an approval and a branch check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pulumi_policy import Severity

from .common import (
    About,
    Exemption,
    Props,
    depends_on,
    is_set,
    items,
    lookup,
    resource_rule,
    stack_environment,
    stack_rule,
    typed_resource_rule,
)
from .sources import DEVOPS_PIPELINE_SECURITY, REFERENCE_ARCHITECTURE, architecture, checkov

CHECK_APPROVAL = "azuredevops:index/checkApproval:CheckApproval"
CHECK_BRANCH_CONTROL = "azuredevops:index/checkBranchControl:CheckBranchControl"
ENVIRONMENT = "azuredevops:index/environment:Environment"
GIT_REPOSITORY = "azuredevops:index/git:Git"
RESOURCE_AUTHORIZATION = "azuredevops:index/resourceAuthorization:ResourceAuthorization"
PIPELINE_AUTHORIZATION = "azuredevops:index/pipelineAuthorization:PipelineAuthorization"
VARIABLE_GROUP = "azuredevops:index/variableGroup:VariableGroup"
BUILD_VALIDATION = "azuredevops:index/branchPolicyBuildValidation:BranchPolicyBuildValidation"
MIN_REVIEWERS = "azuredevops:index/branchPolicyMinReviewers:BranchPolicyMinReviewers"
AZURE_RM_CONNECTION = "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM"
AZURE_CR_CONNECTION = "azuredevops:index/serviceEndpointAzureEcr:ServiceEndpointAzureEcr"

WORKLOAD_IDENTITY_FEDERATION = "WorkloadIdentityFederation"
# The connection types that can federate; every other kind stores a password, token or key.
FEDERATING_CONNECTIONS = (AZURE_RM_CONNECTION, AZURE_CR_CONNECTION)
STATIC_CREDENTIALS = ("serviceprincipalkey", "serviceprincipalcertificate")
# "production", "prod", "app-production"; not "nonprod" or "preprod".
PRODUCTION_NAME = re.compile(r"(?<![a-z])prod(uction)?(?![a-z])", re.IGNORECASE)
# Branch filters that let any branch through, which makes a branch control check a no-op.
ANY_BRANCH = {"*", "refs/heads/*"}
MIN_PROD_REVIEWERS = 2


def is_service_connection(token: str) -> bool:
    """`serviceEndpoint*` and `serviceendpoint*` resources, except the permissions resource that is not one."""
    # azuredevops:index/<module>:<Type>
    module = token.split(":")[1].rpartition("/")[2].lower() if token.startswith("azuredevops:") else ""
    return module.startswith("serviceendpoint") and module != "serviceendpointpermissions"


def _service_connection(token: str, props: Props) -> Iterable[str]:
    if token in FEDERATING_CONNECTIONS:
        scheme = props.get("serviceEndpointAuthenticationScheme")
        if scheme != WORKLOAD_IDENTITY_FEDERATION:
            yield f"serviceEndpointAuthenticationScheme must be {WORKLOAD_IDENTITY_FEDERATION!r}, got {scheme!r}"
        credentials = props.get("credentials")
        for key in STATIC_CREDENTIALS:
            if lookup(credentials, key):
                yield f"credentials.{key} must not be set: a federated connection holds no secret"
    else:
        yield f"{token.rsplit(':', 1)[-1]} stores a static credential; connect through workload identity federation"


EXEMPTIONS = (
    Exemption(
        "devops-pipeline-authorization-scoped",
        "repository authorizations open to every pipeline of the project",
        "reading a repository grants no credential, connection or environment, and the stack opens exactly one: the "
        "pipeline templates every service pipeline must extend, which the required-template checks then demand "
        "(components/devops/platform.py)",
        lambda resource: (
            resource.resource_type == PIPELINE_AUTHORIZATION and resource.props.get("type") == "repository"
        ),
    ),
)


def _no_open_resource_authorization(props: Props) -> Iterable[str]:
    if props.get("authorized") is True:
        yield "authorized must not be true: authorize each pipeline with a PipelineAuthorization"


def _pipeline_authorization_scoped(props: Props) -> Iterable[str]:
    if not is_set(props, "pipelineId"):
        yield "pipelineId must be set; without it the resource is open to every pipeline of the project"


def _variable_group_restricted(props: Props) -> Iterable[str]:
    if props.get("allowAccess") is True:
        yield "allowAccess must not be true; authorize the pipelines that read it one by one"


def _build_validation_blocking(props: Props) -> Iterable[str]:
    # The provider defaults both to true; only an explicit false switches the gate off.
    for key in ("enabled", "blocking"):
        if props.get(key) is False:
            yield f"{key} must not be false: a failing PR build has to stop the merge"


def _valid_approval(check: Any) -> bool:
    # The one who queued the run approving it would be no second pair of eyes.
    props = check.props
    return bool(items(props.get("approvers"))) and props.get("requesterCanApprove") is not True


def _valid_branch_control(check: Any) -> bool:
    props = check.props
    branches = [branch.strip() for branch in str(props.get("allowedBranches") or "").split(",") if branch.strip()]
    return (
        bool(branches)
        and not ANY_BRANCH.intersection(branches)
        and props.get("verifyBranchProtection") is True
        and props.get("ignoreUnknownProtectionStatus") is not True
    )


def _production_environment_checks(resources: Sequence[Any]) -> Iterable[tuple[str, str | None]]:
    environments = [resource for resource in resources if resource.resource_type == ENVIRONMENT]
    production = [env for env in environments if PRODUCTION_NAME.search(str(env.props.get("name") or ""))]
    if environments and not production:
        names = sorted(str(env.props.get("name")) for env in environments)
        yield f"no Azure Pipelines environment is recognisably production (name with 'prod'): {names}", None

    def guarding(token: str, env: Any) -> list[Any]:
        return [
            check
            for check in resources
            if check.resource_type == token
            and check.props.get("targetResourceType") == "environment"
            and depends_on(check, env)
        ]

    for env in production:
        name = env.props.get("name")
        if not any(_valid_approval(check) for check in guarding(CHECK_APPROVAL, env)):
            yield (
                f"environment {name!r} has no approval check with approvers that excludes the requester",
                env.urn,
            )
        if not any(_valid_branch_control(check) for check in guarding(CHECK_BRANCH_CONTROL, env)):
            yield (
                f"environment {name!r} has no branch control check limited to named branches with "
                "verifyBranchProtection on and unknown protection status refused",
                env.urn,
            )


def _covers(policy: Any, repository: Any) -> bool:
    scopes = items(lookup(policy.props, "settings.scopes"))
    # A scope without a repository applies to every repository of the project.
    return depends_on(policy, repository) or any(not is_set(scope, "repositoryId") for scope in scopes)


def _min_reviewers(resources: Sequence[Any]) -> Iterable[tuple[str, str | None]]:
    policies = [resource for resource in resources if resource.resource_type == MIN_REVIEWERS]
    for repository in (resource for resource in resources if resource.resource_type == GIT_REPOSITORY):
        if not any(_covers(policy, repository) for policy in policies):
            yield f"repository {repository.props.get('name')!r} has no minimum reviewers policy", repository.urn
    if not policies:
        return
    stack_env, problem = stack_environment(resources)
    if problem:
        yield problem, None
    for policy in policies:
        props = policy.props
        for key in ("enabled", "blocking"):
            if props.get(key) is False:
                yield f"{policy.name}: {key} must not be false", policy.urn
        if lookup(props, "settings.submitterCanVote") is True:
            yield f"{policy.name}: settings.submitterCanVote must not be true (the author would count)", policy.urn
        count = lookup(props, "settings.reviewerCount")
        if stack_env == "prod" and not (isinstance(count, (int, float)) and count >= MIN_PROD_REVIEWERS):
            yield (
                f"{policy.name}: settings.reviewerCount must be at least {MIN_PROD_REVIEWERS} on prod, got {count!r}",
                policy.urn,
            )


CONNECT_TO_AZURE = "https://learn.microsoft.com/azure/devops/pipelines/library/connect-to-azure"
APPROVALS = "https://learn.microsoft.com/azure/devops/pipelines/process/approvals"
POLICIES: list[Any] = [
    # Service connection types are many, so this rule picks them by token instead of listing them.
    typed_resource_rule(
        "devops-service-connection-workload-identity",
        "Every service connection authenticates by workload identity federation "
        "(serviceEndpointAuthenticationScheme = WorkloadIdentityFederation) and holds no key or certificate.",
        is_service_connection,
        _service_connection,
        About(
            architecture(CONNECT_TO_AZURE, "Azure Resource Manager connections use workload identity federation"),
            Severity.CRITICAL,
            "Create the connection with serviceEndpointAuthenticationScheme WorkloadIdentityFederation and federate "
            "its issuer and subject (components/devops/service_connections.py, components/identity.py).",
        ),
    ),
    resource_rule(
        "devops-no-open-resource-authorization",
        "No ResourceAuthorization opens a resource to every pipeline (authorized = true).",
        RESOURCE_AUTHORIZATION,
        _no_open_resource_authorization,
        About(
            architecture(DEVOPS_PIPELINE_SECURITY, "protected resources are authorized pipeline by pipeline"),
            Severity.HIGH,
            "Authorize each pipeline that uses the resource with a PipelineAuthorization (components/devops/).",
        ),
    ),
    resource_rule(
        "devops-pipeline-authorization-scoped",
        "Every PipelineAuthorization names its pipelineId.",
        PIPELINE_AUTHORIZATION,
        _pipeline_authorization_scoped,
        About(
            architecture(DEVOPS_PIPELINE_SECURITY, "protected resources are authorized pipeline by pipeline"),
            Severity.HIGH,
            "Set pipelineId to the definition that uses the resource (components/devops/pipelines.py).",
        ),
    ),
    resource_rule(
        "devops-variable-group-restricted",
        "Variable groups are not open to every pipeline (allowAccess = false).",
        VARIABLE_GROUP,
        _variable_group_restricted,
        About(
            architecture(DEVOPS_PIPELINE_SECURITY, "protected resources are authorized pipeline by pipeline"),
            Severity.HIGH,
            "Set allowAccess false and authorize the pipelines that read the group one by one.",
        ),
    ),
    resource_rule(
        "devops-build-validation-blocking",
        "PR build validation is enabled and blocking.",
        BUILD_VALIDATION,
        _build_validation_blocking,
        About(
            architecture(REFERENCE_ARCHITECTURE, "a PR pipeline's failing checks keep the PR from merging (step 1)"),
            Severity.HIGH,
            "Leave enabled and blocking true on the build validation policy (components/devops/branch_policies.py).",
        ),
    ),
    stack_rule(
        "devops-production-environment-checks",
        "The production environment has an approval check (approvers, requester excluded) and a branch control "
        "check (named branches, verifyBranchProtection).",
        _production_environment_checks,
        About(
            architecture(APPROVALS, "approvals and branch control checks on the production environment"),
            Severity.HIGH,
            "Attach a CheckApproval and a CheckBranchControl on main to the production environment "
            "(components/devops/environments.py; approvers from productionApprovers).",
        ),
    ),
    stack_rule(
        "devops-min-reviewers",
        "Every repository has an enabled, blocking minimum reviewers policy the author cannot satisfy; two "
        "reviewers on prod stacks.",
        _min_reviewers,
        About(
            checkov("CKV2_ADO_1"),
            Severity.HIGH,
            "Set minimumReviewers (2 on prod) in Pulumi.<stack>.yaml; components/devops/branch_policies.py applies "
            "it to every repository.",
        ),
    ),
]
