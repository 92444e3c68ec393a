"""An Azure Pipelines environment and the checks every deployment to it must pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_azuredevops as azuredevops

from components.component import Component
from components.devops.required_templates import RequiredTemplates, require_templates

ENVIRONMENT: Literal["environment"] = "environment"


@dataclass(frozen=True)
class Approval:
    """People of whom one must approve each deployment; the one who queued the run never counts."""

    approver_emails: Sequence[str]
    timeout_minutes: int
    # What the approver must have seen; the default fits the service pipelines' production stage.
    instructions: str = ""

    def __post_init__(self) -> None:
        if not self.approver_emails:
            raise ValueError("an approval check needs at least one approver")
        if len(set(map(str.casefold, self.approver_emails))) != len(self.approver_emails):
            raise ValueError(f"approvers must not repeat: {list(self.approver_emails)}")


@dataclass(frozen=True)
class DeploymentEnvironmentArgs:
    project_id: pulumi.Input[str]
    environment_name: str
    description: str
    approval: Approval | None
    # Only runs of this branch may deploy, and only while the branch is protected by policies.
    allowed_branch: str | None
    exclusive_lock: bool
    # Only runs extending these templates may deploy here (the services' environments).
    required_templates: RequiredTemplates | None = None


def approver_id(email: str, users: Sequence[Any]) -> str:
    """The Azure DevOps identity ID (storage key) of the one user whose principal name is `email`."""
    if len(users) != 1:
        raise LookupError(
            f"production approver {email!r} matches {len(users)} Azure DevOps users: add the person to the "
            "organisation (Basic or Stakeholder access) under exactly this principal name before deploying"
        )
    return str(users[0].id)


class DeploymentEnvironment(Component):
    environment_id: pulumi.Output[str]
    environment_name: pulumi.Output[str]

    def __init__(self, name: str, args: DeploymentEnvironmentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:devops:DeploymentEnvironment", name, opts)
        environment = azuredevops.Environment(
            f"{name}-environment",
            project_id=args.project_id,
            name=args.environment_name,
            description=args.description,
            opts=self.child,
        )
        target = {
            "project_id": args.project_id,
            "target_resource_id": environment.id,
            "target_resource_type": ENVIRONMENT,
        }
        if args.approval is not None:
            azuredevops.CheckApproval(
                f"{name}-approval",
                approvers=[self._approver(email) for email in args.approval.approver_emails],
                minimum_required_approvers=1,
                requester_can_approve=False,
                timeout=args.approval.timeout_minutes,
                instructions=args.approval.instructions
                or f"Approve only a run whose staging deployment and acceptance tests succeeded; it "
                f"deploys to {args.environment_name}.",
                **target,
                opts=self.child,
            )
        if args.allowed_branch is not None:
            azuredevops.CheckBranchControl(
                f"{name}-branch-control",
                display_name=f"Deploy {args.allowed_branch} only, while it is protected",
                allowed_branches=args.allowed_branch,
                verify_branch_protection=True,
                ignore_unknown_protection_status=False,
                **target,
                opts=self.child,
            )
        if args.exclusive_lock:
            # One deployment at a time: a run that overtakes another would deploy an older image over a newer one.
            azuredevops.CheckExclusiveLock(
                f"{name}-exclusive-lock",
                **target,
                opts=self.child,
            )
        if args.required_templates is not None:
            require_templates(
                f"{name}-required-templates",
                args.project_id,
                environment.id,
                target_type=ENVIRONMENT,
                required=args.required_templates,
                parent=self,
            )
        self.environment_id = environment.id
        self.environment_name = environment.name
        self.register_outputs({"environmentId": self.environment_id, "environmentName": self.environment_name})

    def _approver(self, email: str) -> pulumi.Output[str]:
        # Approvals are granted to identities, not addresses; the user must already be in the organisation.
        found = azuredevops.get_users_output(principal_name=email, opts=pulumi.InvokeOutputOptions(parent=self))
        users: pulumi.Output[list[Any]] = found.users
        return users.apply(lambda matches: approver_id(email, matches))
