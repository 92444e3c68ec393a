"""The thin entry pipelines the stack commits into each service repository: triggers, the templates repository at
its release ref, and the service's parameters. Every step, job and stage comes from the template they extend, and
the required-template checks let only such runs use the environments and connections."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from components import naming
from components.service_files.context import PipelineContext, pipeline_names
from components.service_files.layout import (
    CD_PIPELINE_PATH,
    CI_PIPELINE_PATH,
    CI_RESOURCE,
    MAIN_BRANCH,
    PR_PIPELINE_PATH,
    STAGE_TEMPLATES_PATH,
    TEMPLATES_ALIAS,
    TEMPLATES_RELEASE_REF,
)
from components.service_files.manifests import manifest_parameters
from components.service_files.spec import MANIFEST_PARAMETER, ServiceSpec
from components.service_files.yaml_text import dump

Kind = Literal["pr", "ci", "cd"]
Build = Literal["python", "container"]
KINDS: tuple[Kind, ...] = ("pr", "ci", "cd")
BUILDS: tuple[Build, ...] = ("python", "container")


def stage_template(kind: Kind, build: Build) -> str:
    """The template (path in the templates repository) a `build` service's `kind` pipeline extends."""
    return f"{STAGE_TEMPLATES_PATH}/{kind}-{build}.yml"


def templates_repository_name(ctx: PipelineContext) -> str:
    """The templates repository as repository resources and required-template checks name it: project/repository."""
    return f"{ctx.project}/{naming.TEMPLATES_REPOSITORY}"


def released_templates(ctx: PipelineContext) -> dict[str, Any]:
    """The `resources` of a pipeline that extends a template: the templates repository at its release ref, which the
    required-template checks admit."""
    return {
        "repositories": [
            {
                "repository": TEMPLATES_ALIAS,
                "type": "git",
                "name": templates_repository_name(ctx),
                "ref": TEMPLATES_RELEASE_REF,
            }
        ],
    }


def _entry(kind: Kind, service: ServiceSpec, ctx: PipelineContext, **extra: Any) -> dict[str, Any]:
    return {
        "resources": released_templates(ctx),
        "extends": {
            "template": f"{stage_template(kind, service.build)}@{TEMPLATES_ALIAS}",
            "parameters": {"service": service.name, "port": service.port, **extra},
        },
    }


def pr_entry(service: ServiceSpec, ctx: PipelineContext) -> str:
    # Azure Repos runs PR builds through the branch policy's build validation, not a `pr:` trigger; `trigger: none`
    # keeps pushes from starting this definition too.
    return dump({"trigger": "none", **_entry("pr", service, ctx)})


def ci_entry(service: ServiceSpec, ctx: PipelineContext, telemetry_client_ids: Mapping[str, str]) -> str:
    manifest = manifest_parameters(service, telemetry_client_ids)
    return dump(
        {
            # Pipeline-level scalars are strings to the Azure Pipelines parser, and Microsoft's schema wants the string.
            "trigger": {"batch": "true", "branches": {"include": [MAIN_BRANCH]}},
            "pr": "none",
            **_entry("ci", service, ctx, **{MANIFEST_PARAMETER: manifest}),
        }
    )


def cd_entry(service: ServiceSpec, ctx: PipelineContext) -> str:
    cd = _entry("cd", service, ctx)
    cd["resources"]["pipelines"] = [
        {
            "pipeline": CI_RESOURCE,
            "source": pipeline_names(service).ci,
            "trigger": {"branches": {"include": [MAIN_BRANCH]}},
        }
    ]
    # Runs only when a CI run of main completes successfully.
    return dump({"trigger": "none", "pr": "none", **cd})


def entry_pipelines(
    service: ServiceSpec, ctx: PipelineContext, telemetry_client_ids: Mapping[str, str]
) -> dict[str, str]:
    """Repository path -> content of the service's three entry pipelines."""
    return {
        PR_PIPELINE_PATH: pr_entry(service, ctx),
        CI_PIPELINE_PATH: ci_entry(service, ctx, telemetry_client_ids),
        CD_PIPELINE_PATH: cd_entry(service, ctx),
    }
