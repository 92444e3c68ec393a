"""The two repositories the stack keeps for every service: the pipeline templates they all extend, at a release
ref the stack moves deliberately, and the starter new service repositories are forked from.

The templates repository's files are the stack's (rendered from this checkout, reviewed in its pull requests); its
`main` carries branch policies, so nobody changes a template there without review, and the stack's own pushes need
"Bypass policies when pushing" as for the service repositories. `refs/heads/release` is what every service pipeline
reads: a `GitRepositoryBranch` from `main`, replaced (deleted, then created at the head of `main`) exactly when the
`templatesRelease` setting changes, through Pulumi's `replacement_trigger`; the provider forces a new branch on any
change of `ref_branch` anyway (terraform-provider-azuredevops `resource_git_repository_branch.go`, ForceNew). The
branch's own policies are deleted before it and created after it (`BranchPoliciesArgs.replaced_with`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azuredevops as azuredevops

from components import naming
from components.devops.branch_policies import BranchPolicies, BranchPoliciesArgs
from components.devops.pipelines import Authorization, PipelineDefinition, ServicePipelines, ServicePipelinesArgs
from components.devops.repository import MAIN_BRANCH, after, commit_files
from components.service_files.layout import TEMPLATES_RELEASE_REF, TEMPLATES_VALIDATION_PIPELINE

RELEASE_BRANCH = TEMPLATES_RELEASE_REF.removeprefix("refs/heads/")


@dataclass(frozen=True)
class PlatformRepositoriesArgs:
    project_id: pulumi.Input[str]
    templates: Mapping[str, pulumi.Input[str]]
    starter: Mapping[str, str]
    # Changing it moves `release` to the newest templates: the one way a template change reaches the services.
    templates_release: str
    reviewer_count: int
    # The validation build's queue, when the pipelines run on a pool of the project's own.
    agent_queue: Sequence[Authorization]
    protect: bool = False


class PlatformRepositories(pulumi.ComponentResource):
    # The starter's ID once its files are in: a fork copies what the parent holds at that moment.
    starter_repository_id: pulumi.Output[str]
    templates_repository_id: pulumi.Output[str]

    def __init__(self, name: str, args: PlatformRepositoriesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:devops:PlatformRepositories", name, None, opts)
        templates, templates_id = self._repository(
            f"{name}-templates", naming.TEMPLATES_REPOSITORY, args.templates, args
        )
        release = azuredevops.GitRepositoryBranch(
            f"{name}-templates-release",
            repository_id=templates_id,
            name=RELEASE_BRANCH,
            ref_branch=MAIN_BRANCH.removeprefix("refs/heads/"),
            opts=pulumi.ResourceOptions(
                parent=self,
                replacement_trigger=args.templates_release,
                # Two branches of one name cannot exist at once: the old ref goes first.
                delete_before_replace=True,
            ),
        )
        validation = ServicePipelines(
            f"{name}-templates-pipelines",
            ServicePipelinesArgs(
                project_id=args.project_id,
                repository_id=templates_id,
                definitions={
                    "pr": PipelineDefinition(
                        f"{naming.TEMPLATES_REPOSITORY}-validation",
                        TEMPLATES_VALIDATION_PIPELINE,
                        ci_trigger=False,
                        authorizations=args.agent_queue,
                    )
                },
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # `main` takes reviewed, validated pull requests. `release`, the ref the required-template checks trust, is
        # reviewed like it, so that production's branch control (which validates every repository a run uses,
        # learn.microsoft.com/azure/devops/pipelines/process/approvals, "Branch control") finds it protected.
        for key, branch, validation_id, branch_resource in (
            ("templates-policies", MAIN_BRANCH, validation.definition_ids["pr"], None),
            ("templates-release-policies", TEMPLATES_RELEASE_REF, None, release),
        ):
            BranchPolicies(
                f"{name}-{key}",
                BranchPoliciesArgs(
                    project_id=args.project_id,
                    repository_id=templates_id,
                    pr_definition_id=validation_id,
                    reviewer_count=args.reviewer_count,
                    build_name="Templates: render the manifests of a sample service",
                    branch=branch,
                    # Moving the release deletes its branch first: its policies go before it and return after it.
                    replaced_with=branch_resource,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        # Every service pipeline reads the templates through a repository resource: open to the project's pipelines
        # (no `pipeline_id`, resource_pipeline_authorization.go), the templates are what they are meant to run.
        azuredevops.PipelineAuthorization(
            f"{name}-templates-authorization",
            project_id=args.project_id,
            resource_id=templates.id,
            type="repository",
            opts=pulumi.ResourceOptions(parent=self),
        )

        # The Clean initialization's README is replaced by the starter's own.
        starter, self.starter_repository_id = self._repository(
            f"{name}-starter", naming.STARTER_REPOSITORY, args.starter, args
        )
        # Both repositories are the stack's: the project's contributors read them and propose changes through pull
        # requests, but push, create or delete no branch (a pushed `release` would be trusted by every check).
        contributors = azuredevops.get_group_output(
            project_id=args.project_id, name="Contributors", opts=pulumi.InvokeOutputOptions(parent=self)
        )
        for key, repository_id in (("templates", templates.id), ("starter", starter.id)):
            azuredevops.GitPermissions(
                f"{name}-{key}-contributors",
                project_id=args.project_id,
                repository_id=repository_id,
                principal=contributors.descriptor,
                permissions={"GenericContribute": "Deny", "CreateBranch": "Deny", "ForcePush": "Deny"},
                opts=pulumi.ResourceOptions(parent=self),
            )
        # No pipeline runs in the starter; a change to it still goes through review.
        BranchPolicies(
            f"{name}-starter-policies",
            BranchPoliciesArgs(
                project_id=args.project_id,
                repository_id=self.starter_repository_id,
                pr_definition_id=None,
                reviewer_count=args.reviewer_count,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.templates_repository_id = templates_id
        self.register_outputs(
            {"starterRepositoryId": self.starter_repository_id, "templatesRepositoryId": self.templates_repository_id}
        )

    def _repository(
        self, name: str, repository_name: str, files: Mapping[str, pulumi.Input[str]], args: PlatformRepositoriesArgs
    ) -> tuple[azuredevops.Git, pulumi.Output[str]]:
        """A repository of the stack's, created clean with `files` committed; its ID resolves once they are in."""
        repository = azuredevops.Git(
            name,
            project_id=args.project_id,
            name=repository_name,
            default_branch=MAIN_BRANCH,
            initialization=azuredevops.GitInitializationArgs(init_type="Clean"),
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True, protect=args.protect),
        )
        return repository, after(repository.id, commit_files(name, repository.id, files, self))
