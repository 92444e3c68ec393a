"""Required-template checks: a protected resource serves only runs whose pipeline extends one of the given templates
of the templates repository at its release ref (Azure Pipelines "Required template" check; the provider sends them as
`extendsChecks` with repositoryType `git` for Azure Repos, terraform-provider-azuredevops
`resource_check_required_template.go`). A team that edits its entry pipeline to skip a stage or an approval no longer
extends an approved template, and its run stops at the check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azuredevops as azuredevops

from components.devops.checks import CheckTarget
from components.service_files.layout import TEMPLATES_RELEASE_REF


@dataclass(frozen=True)
class RequiredTemplates:
    # The templates repository as "project/repository".
    repository_name: str
    template_paths: Sequence[str]

    def __post_init__(self) -> None:
        if not self.template_paths:
            raise ValueError("a required-template check needs at least one template")


def require_templates(
    name: str,
    target: CheckTarget,
    *,
    required: RequiredTemplates,
    parent: pulumi.Resource,
) -> azuredevops.CheckRequiredTemplate:
    return azuredevops.CheckRequiredTemplate(
        name,
        **target,
        required_templates=[
            azuredevops.CheckRequiredTemplateRequiredTemplateArgs(
                repository_type="azuregit",
                repository_name=required.repository_name,
                repository_ref=TEMPLATES_RELEASE_REF,
                template_path=path,
            )
            for path in required.template_paths
        ],
        opts=pulumi.ResourceOptions(parent=parent),
    )
