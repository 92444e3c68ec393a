"""Small queries over a capture that several test modules share."""

from __future__ import annotations

from typing import Any

import yaml

from components.service_files.layout import CI_PIPELINE_PATH
from components.service_files.manifests import kubernetes_manifest
from tools.capture import Capture, Registration

CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
REGISTRY = "azure-native:containerregistry:Registry"
VAULT = "azure-native:keyvault:Vault"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"


def only(capture: Capture, token: str, *, named: str | None = None) -> Registration:
    matches = [r for r in capture.of_type(token) if named is None or named in r.name]
    assert len(matches) == 1, f"expected one {token} matching {named!r}, found {[r.name for r in matches]}"
    return matches[0]


def cluster(capture: Capture, stage: str) -> Registration:
    return only(capture, CLUSTER, named=f"cluster-{stage}")


def registry(capture: Capture, role: str) -> Registration:
    return only(capture, REGISTRY, named=f"registry-{role}-")


def pool(cluster_registration: Registration, name: str) -> dict[str, Any]:
    pools = {p["name"]: p for p in cluster_registration.inputs["agentPoolProfiles"]}
    return dict(pools[name])


def user_pool(capture: Capture, stage: str) -> Registration:
    """The stage's user pool: a separate AgentPool attached to that stage's cluster."""
    return only(capture, AGENT_POOL, named=f"cluster-{stage}-pool-user")


def role_assignments(capture: Capture) -> list[dict[str, Any]]:
    return [r.inputs for r in capture.of_type(ROLE_ASSIGNMENT)]


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
    """What CI's `Manifests` job renders for `service` in `stage`, from the parameters its committed CI entry passes."""
    entry = yaml.safe_load(committed_file(capture, service, CI_PIPELINE_PATH))
    (insights,) = capture.of_type("azure-native:applicationinsights:Component")
    login_server = only(capture, REGISTRY, named="registry-nonprod-" if stage == "staging" else "registry-prod-")
    return kubernetes_manifest(
        entry["extends"]["parameters"]["manifest"],
        stage,
        login_server.outputs["loginServer"],
        insights.outputs["connectionString"],
    )
