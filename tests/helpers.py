"""What test modules share: type tokens, stack config loading, finders over a capture, and mutators that plant a
mistake in a copy of it. One place, so a token or a walk over inputs is written once."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import json
import shlex
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.service_files.layout import CI_PIPELINE_PATH
from components.service_files.manifests import kubernetes_manifest
from policy.rules import devops, identity
from tools import capture, offline_preview
from tools.capture import Capture, Registration

# --- type tokens -----------------------------------------------------------------------------------------------------

CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
MANAGED_NAMESPACE = "azure-native:containerservice:ManagedNamespace"
REGISTRY = "azure-native:containerregistry:Registry"
VAULT = "azure-native:keyvault:Vault"
KEY_VAULT_SECRET = "azure-native:keyvault:Secret"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
WORKSPACE = "azure-native:operationalinsights:Workspace"
APP_INSIGHTS = "azure-native:applicationinsights:Component"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
LOG_ALERT = "azure-native:monitor:ScheduledQueryRule"
HEALTH_ALERT = "azure-native:monitor:ActivityLogAlert"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATED_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
GIT = "azuredevops:index/git:Git"
GIT_FILE = "azuredevops:index/gitRepositoryFile:GitRepositoryFile"
ENVIRONMENT = "azuredevops:index/environment:Environment"
VARIABLE_GROUP = "azuredevops:index/variableGroup:VariableGroup"
PIPELINE_AUTHORIZATION = "azuredevops:index/pipelineAuthorization:PipelineAuthorization"
AZURE_RM_CONNECTION = "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM"
BUILD_DEFINITION = "azuredevops:index/buildDefinition:BuildDefinition"

# --- stack config ----------------------------------------------------------------------------------------------------

NAMESPACE = "aks-estate:"


def stack_config(stack: str) -> dict[str, str]:
    """The committed `Pulumi.<stack>.yaml`'s estate keys without their namespace, as `components.config.parse` takes
    them (structured values as JSON text)."""
    raw, _ = capture.load_stack_config(capture.ROOT / f"Pulumi.{stack}.yaml")
    return {key.removeprefix(NAMESPACE): value for key, value in raw.items() if key.startswith(NAMESPACE)}


def with_value(raw: dict[str, str], key: str, path: Iterable[str | int], value: Any) -> dict[str, str]:
    """A copy of `raw` with `value` at `path` inside `key`'s JSON value (the whole value when `path` is empty)."""
    *parents, last = [key, *path]
    if not parents:
        return {**raw, key: value if isinstance(value, str) else json.dumps(value)}
    document = {key: json.loads(raw[key])}
    target: Any = document
    for part in parents:
        target = target[part]
    target[last] = value
    return {**raw, key: json.dumps(document[key])}


def prod_as_dev(raw: dict[str, str]) -> dict[str, str]:
    """The prod stack's raw config as a dev stack's: its pool no longer serves the IaC project (prod's alone may)."""
    pool = {key: value for key, value in json.loads(raw["managedAgentPool"]).items() if key != "iacProject"}
    return {**raw, "environment": "dev", "managedAgentPool": json.dumps(pool)}


def stack_file_with(directory: Path, stack: str, change: Callable[[dict[str, Any]], object]) -> Path:
    """`Pulumi.<stack>.yaml` copied into `directory` with its `config` mapping changed by `change`."""
    document = yaml.safe_load((capture.ROOT / f"Pulumi.{stack}.yaml").read_text())
    change(document["config"])
    path = directory / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@dataclasses.dataclass(frozen=True)
class PreviewRun:
    """`python -m tools.offline_preview` run through its main() in this process: the exit code, what it printed, and
    the capture it judged and wrote (None when it refused the config before running the program)."""

    code: int
    stdout: str
    capture: Capture | None


def offline_preview_run(*args: str) -> PreviewRun:
    """main() with `args`, the capture observed on its way (capture.run wrapped, not replaced): a test that needs
    both the command's files and the estate it judged pays for one run of the program, not two."""
    runs: list[Capture] = []
    real = capture.run

    def observed(*positional: Any, **named: Any) -> Capture:
        runs.append(real(*positional, **named))
        return runs[-1]

    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setattr(capture, "run", observed)
        code = offline_preview.main(list(args))
    return PreviewRun(code, printed.getvalue(), runs[0] if runs else None)


def run_bootstrap() -> Capture:
    """The bootstrap program (bootstrap/) under the mock engine, as `offline_preview --program bootstrap` runs it."""
    return offline_preview.PROGRAMS["bootstrap"].run_stack("main")


# --- finders ---------------------------------------------------------------------------------------------------------


def pick(registrations: Iterable[Registration], token: str, named: str | None = None) -> Registration:
    """The one registration of `token` whose logical name contains `named`."""
    matches = [r for r in registrations if r.type == token and (named is None or named in r.name)]
    assert len(matches) == 1, f"expected one {token} named *{named}*, found {[r.name for r in matches]}"
    return matches[0]


def only(result: Capture, token: str, *, named: str | None = None) -> Registration:
    return pick(result.resources, token, named)


def cluster(result: Capture, stage: str) -> Registration:
    return only(result, CLUSTER, named=f"cluster-{stage}")


def registry(result: Capture, role: str) -> Registration:
    return only(result, REGISTRY, named=f"registry-{role}-")


def pool(cluster_registration: Registration, name: str) -> dict[str, Any]:
    pools = {p["name"]: p for p in cluster_registration.inputs["agentPoolProfiles"]}
    return dict(pools[name])


def user_pool(result: Capture, stage: str) -> Registration:
    """The stage's user pool: a separate AgentPool attached to that stage's cluster."""
    return only(result, AGENT_POOL, named=f"cluster-{stage}-pool-user")


def role_assignments(result: Capture) -> list[dict[str, Any]]:
    return [r.inputs for r in result.of_type(ROLE_ASSIGNMENT)]


def role_id(role_guid: str) -> str:
    return f"/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"


def committed_file(capture: Capture, repository: str, path: str) -> str:
    """The content the stack commits to `path` of the repository named `repository`."""
    (repo,) = [r for r in capture.of_type("azuredevops:index/git:Git") if r.inputs["name"] == repository]
    (file,) = [
        r
        for r in capture.of_type("azuredevops:index/gitRepositoryFile:GitRepositoryFile")
        if r.inputs["repositoryId"] == repo.id and r.inputs["file"] == path
    ]
    content: str = file.inputs["content"]
    return content


def service_manifests(capture: Capture, service: str, stage: str = "staging") -> list[dict[str, Any]]:
    """What CI's `Manifests` job renders for `service` in `stage`: the renderer with the parameters the committed CI
    entry passes and the private ranges the committed CI template passes it."""
    entry = yaml.safe_load(committed_file(capture, service, CI_PIPELINE_PATH))
    template_path = str(entry["extends"]["template"]).partition("@")[0]
    template = yaml.safe_load(committed_file(capture, "pipeline-templates", template_path))
    (render,) = [
        step["bash"] for job in template["jobs"] for step in job["steps"] if "render.py" in str(step.get("bash", ""))
    ]
    words = shlex.split(render.split("\n")[-1])
    private = tuple(words[index + 1] for index, word in enumerate(words) if word == "--private-https")
    (insights,) = capture.of_type("azure-native:applicationinsights:Component")
    login_server = only(capture, REGISTRY, named="registry-nonprod-" if stage == "staging" else "registry-prod-")
    return kubernetes_manifest(
        entry["extends"]["parameters"]["manifest"],
        stage,
        login_server.outputs["loginServer"],
        insights.outputs["connectionString"],
        private,
    )


# --- synthetic resources for the policy tests ------------------------------------------------------------------------


def synthetic(stack: str) -> list[Registration]:
    """Resources the Azure side does not register but the policy rules cover: the DevOps side and a custom role.

    Shaped like what components/devops registers, so the DevOps rules are pinned down whatever the DevOps components
    look like today; the captures' own DevOps resources are covered by the all-pass test.
    """
    project = f"urn:pulumi:{stack}::aks-estate::"
    created: dict[str, Registration] = {}

    def add(token: str, name: str, inputs: dict[str, Any], *needs: str) -> None:
        # Logical names are prefixed so they never collide with what the estate registers itself.
        logical = f"policy-test-{name}"
        dependencies = tuple(sorted(created[need].urn for need in needs))
        created[name] = Registration(
            f"{project}{token}::{logical}", logical, token, logical, None, True, False, dependencies, inputs
        )

    add("azuredevops:index/project:Project", "project", {"name": "aks-estate", "visibility": "private"})
    ids = {"projectId": "project-guid"}
    add(devops.GIT_REPOSITORY, "repo", {**ids, "name": "orders", "defaultBranch": "refs/heads/main"}, "project")
    scope = {"repositoryId": "repo-guid", "repositoryRef": "refs/heads/main", "matchType": "Exact"}
    add(
        devops.BUILD_VALIDATION,
        "build-validation",
        {**ids, "enabled": True, "blocking": True, "settings": {"buildDefinitionId": 7, "scopes": [scope]}},
        "project",
        "repo",
    )
    add(
        devops.MIN_REVIEWERS,
        "min-reviewers",
        {
            **ids,
            "enabled": True,
            "blocking": True,
            "settings": {"reviewerCount": 2, "submitterCanVote": False, "scopes": [scope]},
        },
        "project",
        "repo",
    )
    for stage in ("staging", "production"):
        add(devops.ENVIRONMENT, f"environment-{stage}", {**ids, "name": stage}, "project")
    target = {**ids, "targetResourceId": "12", "targetResourceType": "environment"}
    add(
        devops.CHECK_APPROVAL,
        "approval",
        {**target, "approvers": ["approver-id"], "minimumRequiredApprovers": 1, "requesterCanApprove": False},
        "environment-production",
    )
    add(
        devops.CHECK_BRANCH_CONTROL,
        "branch-control",
        {
            **target,
            "allowedBranches": "refs/heads/main",
            "verifyBranchProtection": True,
            "ignoreUnknownProtectionStatus": False,
        },
        "environment-production",
    )
    federated = {"serviceEndpointAuthenticationScheme": "WorkloadIdentityFederation"}
    credentials = {"credentials": {"serviceprincipalid": "client-id"}}
    add(devops.AZURE_RM_CONNECTION, "azure-connection", {**ids, **federated, **credentials}, "project")
    add(devops.AZURE_CR_CONNECTION, "registry-connection", {**ids, **federated, **credentials}, "project")
    # The templates repository, readable by every pipeline of the project (exempted, with its reason).
    add(devops.PIPELINE_AUTHORIZATION, "repository-authorization", {**ids, "type": "repository", "resourceId": "r"})
    add(devops.PIPELINE_AUTHORIZATION, "pipeline-authorization", {**ids, "pipelineId": 3, "type": "endpoint"})
    add(devops.RESOURCE_AUTHORIZATION, "resource-authorization", {**ids, "authorized": False, "type": "endpoint"})
    add(devops.VARIABLE_GROUP, "variable-group", {**ids, "name": "ci-secrets", "allowAccess": False})
    add(
        identity.ROLE_DEFINITION,
        "role-definition",
        {"roleName": "registry reader", "permissions": [{"actions": ["Microsoft.ContainerRegistry/registries/read"]}]},
    )
    return list(created.values())


# --- mutators: plant one mistake in a copy ---------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]
Change = Callable[[Registration], Registration]


def _parent(document: Any, path: str) -> tuple[Any, str | int]:
    """The container holding the last step of a dotted `path` (list indexes as numbers), and that step."""
    *parents, last = path.split(".")
    node = document
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    return node, int(last) if isinstance(node, list) else last


def put(path: str, value: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        node, key = _parent(document, path)
        node[key] = value

    return mutate


def drop(path: str) -> Mutation:
    """Remove the value at `path`; nothing to remove is fine (the dev twin of a prod resource may lack it)."""

    def mutate(document: dict[str, Any]) -> None:
        node, key = _parent(document, path)
        if isinstance(node, dict):
            node.pop(key, None)
        else:
            del node[key]

    return mutate


def inputs(*mutations: Mutation) -> Change:
    """A copy of the registration with deep-copied inputs, changed by `mutations`."""

    def change(registration: Registration) -> Registration:
        changed = copy.deepcopy(registration.inputs)
        for mutation in mutations:
            mutation(changed)
        return dataclasses.replace(registration, inputs=changed)

    return change


def replaced(resources: Iterable[Registration], changed: Registration) -> list[Registration]:
    """`resources` with the registration of `changed`'s URN swapped for `changed`."""
    return [changed if r.urn == changed.urn else r for r in resources]
