"""An Azure Pipelines environment and the checks every deployment to it must pass."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azuredevops as azuredevops

from components.component import Component
from components.devops.checks import Approval, CheckTarget, require_approval, require_protected_branches
from components.devops.required_templates import RequiredTemplates, require_templates


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
        target = CheckTarget(
            project_id=args.project_id, target_resource_id=environment.id, target_resource_type="environment"
        )
        if args.approval is not None:
            require_approval(
                f"{name}-approval",
                target,
                approval=args.approval,
                instructions=args.approval.instructions
                or f"Approve only a run whose staging deployment and acceptance tests succeeded; it "
                f"deploys to {args.environment_name}.",
                parent=self,
            )
        if args.allowed_branch is not None:
            require_protected_branches(
                f"{name}-branch-control",
                target,
                allowed_branches=args.allowed_branch,
                display_name=f"Deploy {args.allowed_branch} only, while it is protected",
                parent=self,
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
                target,
                required=args.required_templates,
                parent=self,
            )
        self.environment_id = environment.id
        self.environment_name = environment.name
        self.register_outputs({"environmentId": self.environment_id, "environmentName": self.environment_name})
