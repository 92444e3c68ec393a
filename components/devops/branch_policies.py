"""The branch policies that make a pull request the only way into `main` of one repository."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import pulumi
import pulumi_azuredevops as azuredevops

from components.component import Component
from components.devops.repository import MAIN_BRANCH

# A PR that only touches Markdown needs no build; everything else must build and pass the unit tests.
BUILD_FILENAME_PATTERNS = ("/*", "!*.md")


class Enforced(TypedDict):
    """What makes a policy hold: on, and blocking the completion of a pull request that fails it."""

    project_id: pulumi.Input[str]
    enabled: bool
    blocking: bool


@dataclass(frozen=True)
class BranchPoliciesArgs:
    project_id: pulumi.Input[str]
    repository_id: pulumi.Input[str]
    # None for a repository without a pipeline of its own (the starter): review only.
    pr_definition_id: pulumi.Input[int] | None
    reviewer_count: int
    # What the build validation is called on a pull request.
    build_name: str = "PR build: lint, build, unit tests"
    # The branch the policies hold (Exact).
    branch: str = MAIN_BRANCH
    # The branch resource the policies go with, when the stack replaces that branch: a branch with required policies
    # cannot be deleted (azure-devops-docs docs/repos/git/branch-policies.md, introduction), so they are deleted
    # before it and created again after it.
    replaced_with: pulumi.Resource | None = None


class BranchPolicies(Component):
    def __init__(self, name: str, args: BranchPoliciesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:devops:BranchPolicies", name, opts)
        enforced = Enforced(project_id=args.project_id, enabled=True, blocking=True)
        # pulumi/pulumi pkg/resource/deploy/step_generator.go: when a delete-before-replace resource is replaced, the
        # engine deletes first every resource whose `replace_with` (recorded in the previous state) names it
        # (findDependentCascadeReplacements); a plain `depends_on` edge would not (calculateDependentReplacements
        # replaces only dependents whose inputs change), so the branch's delete would meet its own policies.
        child = (
            self.child
            if args.replaced_with is None
            else pulumi.ResourceOptions(
                parent=self,
                depends_on=[args.replaced_with],
                replace_with=[args.replaced_with],
                delete_before_replace=True,
            )
        )
        scope = {"repository_id": args.repository_id, "repository_ref": args.branch, "match_type": "Exact"}
        if args.pr_definition_id is not None:
            azuredevops.BranchPolicyBuildValidation(
                f"{name}-build-validation",
                **enforced,
                settings=azuredevops.BranchPolicyBuildValidationSettingsArgs(
                    display_name=args.build_name,
                    build_definition_id=args.pr_definition_id,
                    manual_queue_only=False,
                    # The result expires as soon as main moves, so what merges was built against the current main.
                    queue_on_source_update_only=False,
                    valid_duration=0,
                    filename_patterns=list(BUILD_FILENAME_PATTERNS),
                    scopes=[azuredevops.BranchPolicyBuildValidationSettingsScopeArgs(**scope)],
                ),
                opts=child,
            )
        azuredevops.BranchPolicyMinReviewers(
            f"{name}-min-reviewers",
            **enforced,
            settings=azuredevops.BranchPolicyMinReviewersSettingsArgs(
                reviewer_count=args.reviewer_count,
                submitter_can_vote=False,
                last_pusher_cannot_approve=True,
                allow_completion_with_rejects_or_waits=False,
                # A push after approval needs approving again; rejections and waits stand until withdrawn.
                on_push_reset_approved_votes=True,
                scopes=[azuredevops.BranchPolicyMinReviewersSettingsScopeArgs(**scope)],
            ),
            opts=child,
        )
        azuredevops.BranchPolicyCommentResolution(
            f"{name}-comment-resolution",
            **enforced,
            settings=azuredevops.BranchPolicyCommentResolutionSettingsArgs(
                scopes=[azuredevops.BranchPolicyCommentResolutionSettingsScopeArgs(**scope)],
            ),
            opts=child,
        )
        self.register_outputs({})
