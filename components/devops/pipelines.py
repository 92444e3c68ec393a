"""One service's PR, CI and CD pipeline definitions and the protected resources each one is authorized to use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

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


@dataclass(frozen=True)
class ServicePipelinesArgs:
    project_id: pulumi.Input[str]
    repository_id: pulumi.Input[str]
    definitions: dict[PipelineKind, PipelineDefinition]


class ServicePipelines(Component):
    definition_ids: dict[PipelineKind, pulumi.Output[int]]

    def __init__(self, name: str, args: ServicePipelinesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:devops:ServicePipelines", name, opts)
        self.definition_ids = {}
        for kind, definition in args.definitions.items():
            build = azuredevops.BuildDefinition(
                f"{name}-{kind}",
                project_id=args.project_id,
                name=definition.pipeline_name,
                repository=azuredevops.BuildDefinitionRepositoryArgs(
                    repo_type="TfsGit",
                    repo_id=args.repository_id,
                    branch_name=MAIN_BRANCH,
                    yml_path=definition.yml_path,
                ),
                ci_trigger=azuredevops.BuildDefinitionCiTriggerArgs(use_yaml=True) if definition.ci_trigger else None,
                # A job token scoped to this project, not the whole organisation.
                job_authorization_scope="project",
                opts=self.child,
            )
            definition_id = build.id.apply(int)
            authorize(f"{name}-{kind}", args.project_id, definition_id, definition.authorizations, parent=self)
            self.definition_ids[kind] = definition_id
        self.register_outputs({"definitionIds": self.definition_ids})
