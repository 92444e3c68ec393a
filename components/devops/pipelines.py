"""Pipeline definitions and the protected resources each one is authorized to use: a service's PR, CI and CD, and the
bootstrap's IaC definitions (bootstrap/devops.py) through the same `define_pipelines`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import pulumi
import pulumi_azuredevops as azuredevops

from components.component import Component
from components.devops.repository import MAIN_BRANCH

PipelineKind = Literal["pr", "ci", "cd"]
ResourceKind = Literal["endpoint", "environment", "queue", "variablegroup", "repository"]


@dataclass(frozen=True)
class Authorization:
    """Permission for one definition to use one protected resource; `key` names it stably in the stack."""

    key: str
    kind: ResourceKind
    resource_id: pulumi.Input[str]


def authorize(
    name: str,
    project_id: pulumi.Input[str],
    definition_id: pulumi.Input[int],
    authorizations: Sequence[Authorization],
    *,
    parent: pulumi.Resource,
) -> None:
    """Let one definition use each of `authorizations`, named `<name>-<key>`."""
    for authorization in authorizations:
        azuredevops.PipelineAuthorization(
            f"{name}-{authorization.key}",
            project_id=project_id,
            pipeline_id=definition_id,
            type=authorization.kind,
            resource_id=authorization.resource_id,
            opts=pulumi.ResourceOptions(parent=parent),
        )


@dataclass(frozen=True)
class PipelineDefinition:
    pipeline_name: str
    yml_path: str
    # Only CI reacts to pushes (to main, as its YAML says); PR runs through build validation, CD on CI completion.
    ci_trigger: bool
    authorizations: Sequence[Authorization]


KindT = TypeVar("KindT", bound=str)


def define_pipelines(
    name: str,
    project_id: pulumi.Input[str],
    repository_id: pulumi.Input[str],
    definitions: Mapping[KindT, PipelineDefinition],
    *,
    parent: pulumi.Resource,
) -> dict[KindT, pulumi.Output[int]]:
    """One YAML definition per kind, named `<name>-<kind>`, on the repository's main branch, each authorized for
    what it uses; their IDs by kind."""
    definition_ids: dict[KindT, pulumi.Output[int]] = {}
    for kind, definition in definitions.items():
        build = azuredevops.BuildDefinition(
            f"{name}-{kind}",
            project_id=project_id,
            name=definition.pipeline_name,
            repository=azuredevops.BuildDefinitionRepositoryArgs(
                repo_type="TfsGit",
                repo_id=repository_id,
                branch_name=MAIN_BRANCH,
                yml_path=definition.yml_path,
            ),
            ci_trigger=azuredevops.BuildDefinitionCiTriggerArgs(use_yaml=True) if definition.ci_trigger else None,
            # A job token scoped to this project, not the whole organisation.
            job_authorization_scope="project",
            opts=pulumi.ResourceOptions(parent=parent),
        )
        definition_id = build.id.apply(int)
        authorize(f"{name}-{kind}", project_id, definition_id, definition.authorizations, parent=parent)
        definition_ids[kind] = definition_id
    return definition_ids


@dataclass(frozen=True)
class ServicePipelinesArgs:
    project_id: pulumi.Input[str]
    repository_id: pulumi.Input[str]
    definitions: dict[PipelineKind, PipelineDefinition]


class ServicePipelines(Component):
    definition_ids: dict[PipelineKind, pulumi.Output[int]]

    def __init__(self, name: str, args: ServicePipelinesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:devops:ServicePipelines", name, opts)
        self.definition_ids = define_pipelines(name, args.project_id, args.repository_id, args.definitions, parent=self)
        self.register_outputs({"definitionIds": self.definition_ids})
