"""The Azure DevOps objects of a captured inventory, indexed the way a queued run looks them up: repositories and
their files, pipeline definitions, authorizations, named queues, connections, environments and variable groups, and
the checks and branch policies on them. The link checks (pipeline_links, production_reach, secret_reads) read it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tools import mocks
from tools.capture import Capture

AZDO = "azuredevops:index/"


@dataclass(frozen=True)
class Definition:
    id: str
    name: str
    project_id: str
    repository_id: str
    yml_path: str
    branch: str


@dataclass
class DevOpsIndex:
    """The Azure DevOps objects of an inventory, indexed the way a queued run looks them up."""

    repositories: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (project id, name)
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # repository id -> path -> content
    definitions: list[Definition] = field(default_factory=list)
    authorized: set[tuple[str, str, str]] = field(default_factory=set)  # (pipeline id, type, resource id)
    named: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (kind, project id, name) -> id
    environment_resources: dict[tuple[str, str], str] = field(default_factory=dict)  # (env id, name) -> endpoint
    group_variables: dict[str, dict[str, str]] = field(default_factory=dict)  # variable group id -> name -> value
    extensions: set[tuple[str, str]] = field(default_factory=set)
    projects: dict[str, str] = field(default_factory=dict)  # project id -> name
    # (type, resource id) -> the (repository "project/name", ref, template path) its required-template check admits
    required_templates: dict[tuple[str, str], set[tuple[str, str, str]]] = field(default_factory=dict)
    # environment id -> (allowed refs, whether they must be protected) of its branch control check
    branch_controls: dict[str, tuple[frozenset[str], bool]] = field(default_factory=dict)
    protected: set[tuple[str, str]] = field(default_factory=set)  # (repository id, ref) under a branch policy


def build_index(capture: Capture, extra_files: Mapping[str, Mapping[str, str]]) -> DevOpsIndex:
    estate = DevOpsIndex()
    kinds = {
        "queue:Queue": "queue",
        "environment:Environment": "environment",
        "variableGroup:VariableGroup": "variablegroup",
    }
    for r in capture.resources:
        token = r.type.removeprefix(AZDO)
        values = {**r.outputs, **r.inputs}
        if token == "git:Git":
            estate.repositories[r.id] = (values["projectId"], values["name"])
        elif token == "gitRepositoryFile:GitRepositoryFile":
            estate.files.setdefault(values["repositoryId"], {})[values["file"]] = values["content"]
        elif token == "buildDefinition:BuildDefinition":
            repository = values["repository"]
            estate.definitions.append(
                Definition(
                    r.id,
                    values["name"],
                    values["projectId"],
                    repository["repoId"],
                    repository["ymlPath"],
                    str(repository.get("branchName", "")),
                )
            )
        elif token == "pipelineAuthorization:PipelineAuthorization":
            estate.authorized.add((str(values.get("pipelineId", "")), values["type"], str(values["resourceId"])))
        elif token.startswith("serviceEndpoint"):
            estate.named["endpoint", values["projectId"], values["serviceEndpointName"]] = r.id
        elif token in kinds:
            estate.named[kinds[token], values["projectId"], values["name"]] = r.id
            if token == "variableGroup:VariableGroup":
                estate.group_variables[r.id] = {v["name"]: v.get("value", "") for v in values.get("variables", [])}
        elif token == "environmentResourceKubernetes:EnvironmentResourceKubernetes":
            estate.environment_resources[str(values["environmentId"]), values["name"]] = values["serviceEndpointId"]
        else:
            _index_project_level(estate, r.id, token, values)
    _managed_pool_queues(capture, estate)
    for repository_id, (_, name) in estate.repositories.items():
        if name in extra_files:
            estate.files.setdefault(repository_id, {}).update(extra_files[name])
    return estate


def _index_project_level(estate: DevOpsIndex, resource_id: str, token: str, values: Mapping[str, Any]) -> None:
    if token == "extension:Extension":
        estate.extensions.add((values["publisherId"], values["extensionId"]))
    elif token == "project:Project":
        estate.projects[resource_id] = values["name"]
    elif token == "checkRequiredTemplate:CheckRequiredTemplate":
        estate.required_templates[values["targetResourceType"], str(values["targetResourceId"])] = {
            (t["repositoryName"], t["repositoryRef"], t["templatePath"]) for t in values["requiredTemplates"]
        }
    elif token == "checkBranchControl:CheckBranchControl":
        allowed = frozenset(b.strip() for b in str(values.get("allowedBranches", "")).split(",") if b.strip())
        estate.branch_controls[str(values["targetResourceId"])] = (
            allowed,
            values.get("verifyBranchProtection") is True,
        )
    elif token.startswith("branchPolicy"):
        for scope in (values.get("settings") or {}).get("scopes") or []:
            if scope.get("matchType") == "Exact" and values.get("enabled", True) is not False:
                estate.protected.add((str(scope.get("repositoryId")), str(scope.get("repositoryRef"))))


def _managed_pool_queues(capture: Capture, estate: DevOpsIndex) -> None:
    """A Managed DevOps Pool creates a queue of its own name in each project its organisation profile lists
    (docs/managed-devops-pools/configure-security.md); the stack finds it by name (components/devops/agent_queue.py),
    and its ID is the organisation's, as the mocks hand it out."""
    projects = {r.inputs.get("name"): r.id for r in capture.of_type(f"{AZDO}project:Project")}
    for pool in capture.of_type("azure-native:devopsinfrastructure:Pool"):
        name = str(pool.inputs["poolName"])
        for organization in pool.inputs.get("organizationProfile", {}).get("organizations", []):
            for project in organization.get("projects", []):
                if project in projects:
                    estate.named["queue", projects[project], name] = mocks.agent_queue_id(projects[project], name)
