"""Checks on a protected resource (an environment, a service connection): each runs before any job of a stage that
uses the resource starts (azure-devops-docs docs/pipelines/process/approvals.md). Approval: one of the named people
approves, never the one who queued the run. Branch control: every repository the run uses is at one of the allowed
refs, and those refs are protected by branch policies; a ref whose protection cannot be read counts as unprotected
(terraform-provider-azuredevops `resource_check_approval.go`, `resource_check_branch_control.go`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import pulumi
import pulumi_azuredevops as azuredevops


class CheckTarget(TypedDict):
    """The protected resource a check guards: the arguments every check resource takes alike, as `**target`. All checks
    share one base schema with these three, and any check may guard any of these resource types
    (terraform-provider-azuredevops approvalsandchecks/common_check.go, `genBaseCheckResource`, `targetResourceTypes`).
    "queue" is a project's agent queue: "Checks can be configured on ... agent pools" (azure-devops-docs
    docs/pipelines/process/approvals.md)."""

    project_id: pulumi.Input[str]
    target_resource_id: pulumi.Input[str]
    target_resource_type: Literal["endpoint", "environment", "queue"]


@dataclass(frozen=True)
class Approval:
    """People of whom one must approve each run; the one who queued the run never counts."""

    approver_emails: Sequence[str]
    timeout_minutes: int
    # What the approver must have seen; the default fits the service pipelines' production stage.
    instructions: str = ""

    def __post_init__(self) -> None:
        if not self.approver_emails:
            raise ValueError("an approval check needs at least one approver")
        if len(set(map(str.casefold, self.approver_emails))) != len(self.approver_emails):
            raise ValueError(f"approvers must not repeat: {list(self.approver_emails)}")


def approver_id(email: str, users: Sequence[Any]) -> str:
    """The Azure DevOps identity ID (storage key) of the one user whose principal name is `email`."""
    if len(users) != 1:
        raise LookupError(
            f"production approver {email!r} matches {len(users)} Azure DevOps users: add the person to the "
            "organisation (Basic or Stakeholder access) under exactly this principal name before deploying"
        )
    return str(users[0].id)


def require_approval(
    name: str,
    target: CheckTarget,
    *,
    approval: Approval,
    instructions: str,
    parent: pulumi.Resource,
) -> None:
    def approver(email: str) -> pulumi.Output[str]:
        # Approvals are granted to identities, not addresses; the user must already be in the organisation.
        found = azuredevops.get_users_output(principal_name=email, opts=pulumi.InvokeOutputOptions(parent=parent))
        users: pulumi.Output[list[Any]] = found.users
        return users.apply(lambda matches: approver_id(email, matches))

    azuredevops.CheckApproval(
        name,
        approvers=[approver(email) for email in approval.approver_emails],
        minimum_required_approvers=1,
        requester_can_approve=False,
        timeout=approval.timeout_minutes,
        instructions=instructions,
        **target,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def require_protected_branches(
    name: str,
    target: CheckTarget,
    *,
    allowed_branches: str,
    display_name: str,
    parent: pulumi.Resource,
) -> None:
    """`allowed_branches`: comma-separated full refs, as the check takes them."""
    azuredevops.CheckBranchControl(
        name,
        **target,
        display_name=display_name,
        allowed_branches=allowed_branches,
        verify_branch_protection=True,
        ignore_unknown_protection_status=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )
