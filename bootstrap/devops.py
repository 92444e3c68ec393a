"""The IaC side of Azure DevOps: project, repository, workload-identity connections, pipelines, variable group.

Every protected resource (connection, environment, variable group) is open to no pipeline by default and is
authorized for exactly the definitions whose YAML uses it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azuredevops as azuredevops

from bootstrap import names
from bootstrap.component import BootstrapComponent
from components.devops.branch_policies import BranchPolicies, BranchPoliciesArgs
from components.devops.checks import Approval, CheckTarget, require_approval, require_protected_branches
from components.devops.pipelines import Authorization, PipelineDefinition, define_pipelines
from components.devops.service_connections import ArmConnectionSpec, arm_connection, federated_subject
from components.identity import FederatedSubject


@dataclass(frozen=True)
class IacRepositoryArgs:
    project_name: str
    repository_name: str


class IacRepository(BootstrapComponent):
    project_id: pulumi.Output[str]
    repository_id: pulumi.Output[str]
    remote_url: pulumi.Output[str]

    def __init__(self, name: str, args: IacRepositoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("IacRepository", name, opts)
        # The repository holds the estate's code and history: neither it nor its project may go by accident.
        project = azuredevops.Project(
            f"{name}-project",
            name=args.project_name,
            description="aks-estate: the estate's infrastructure as code and the pipelines that deploy it",
            visibility="private",
            version_control="Git",
            opts=self.kept,
        )
        repository = azuredevops.Git(
            f"{name}-repository",
            project_id=project.id,
            name=args.repository_name,
            # This repository is pushed to it after `pulumi up` (README, Bootstrap); nothing is seeded.
            initialization=azuredevops.GitInitializationArgs(init_type="Uninitialized"),
            opts=self.kept,
        )
        self.project_id = project.id
        self.repository_id = repository.id
        self.remote_url = repository.remote_url
        self.register_outputs({"projectId": self.project_id, "remoteUrl": self.remote_url})


@dataclass(frozen=True)
class ConnectionChecks:
    # Only runs of this branch may use the connection, and only while the branch is protected by policies.
    allowed_branch: str | None = None
    # One of these people must approve each stage that uses the connection.
    approval: Approval | None = None


@dataclass(frozen=True)
class IacConnectionArgs:
    connection: ArmConnectionSpec
    # The name of the credential the connection's identity federates with it under.
    credential_name: str
    checks: ConnectionChecks = ConnectionChecks()


class IacConnection(BootstrapComponent):
    """One Azure Resource Manager connection that signs in as one identity by workload identity federation.

    A definition authorized for the connection runs whatever YAML the queued branch holds: a pull request's branch for
    the PR definition, any branch a user queues the deploy or drift definition on. A stage waits for "all checks on all
    the resources used in that stage" (azure-devops-docs docs/pipelines/process/approvals.md), so the checks that make
    a connection safe to authorize must be on the connection itself, not only on the environments its jobs name.
    """

    connection_id: pulumi.Output[str]
    federated_subject: FederatedSubject

    def __init__(self, name: str, args: IacConnectionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("IacConnection", name, opts)
        connection = arm_connection(f"{name}-connection", args.connection, parent=self)
        checks = args.checks
        # terraform-provider-azuredevops approvalsandchecks/common_check.go: "endpoint" is a service connection.
        target = CheckTarget(
            project_id=args.connection.project_id, target_resource_id=connection.id, target_resource_type="endpoint"
        )
        if checks.allowed_branch is not None:
            require_protected_branches(
                f"{name}-branch-control",
                target,
                allowed_branches=checks.allowed_branch,
                display_name=f"Use from {checks.allowed_branch} only, while it is protected",
                parent=self,
            )
        if checks.approval is not None:
            require_approval(
                f"{name}-approval",
                target,
                approval=checks.approval,
                instructions=checks.approval.instructions,
                parent=self,
            )
        self.connection_id = connection.id
        # The same issuer/subject pair the estate federates its pipelines identity with (components/devops).
        self.federated_subject = federated_subject(args.credential_name, connection)
        self.register_outputs({"connectionId": self.connection_id})


@dataclass(frozen=True)
class IacPipelinesArgs:
    project_id: pulumi.Input[str]
    repository_id: pulumi.Input[str]
    authorizations: Mapping[names.PipelineKind, Sequence[Authorization]]
    minimum_reviewers: int


class IacPipelines(BootstrapComponent):
    """The PR, deploy and drift definitions, what each may use, and the PR pipeline as build validation on main."""

    definition_ids: dict[names.PipelineKind, pulumi.Output[int]]

    def __init__(self, name: str, args: IacPipelinesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("IacPipelines", name, opts)
        definitions = {
            # Deploy follows its YAML trigger (main); PR runs through build validation; drift on its schedule.
            kind: PipelineDefinition(
                pipeline_name, yml_path, ci_trigger=kind == "deploy", authorizations=args.authorizations.get(kind, ())
            )
            for kind, (pipeline_name, yml_path) in names.PIPELINES.items()
        }
        self.definition_ids = define_pipelines(name, args.project_id, args.repository_id, definitions, parent=self)
        # The same gate as a service repository's: blocking validation that expires when main moves, reviewers
        # (the last pusher cannot approve), resolved comments.
        BranchPolicies(
            f"{name}-policies",
            BranchPoliciesArgs(
                project_id=args.project_id,
                repository_id=args.repository_id,
                pr_definition_id=self.definition_ids["pr"],
                reviewer_count=args.minimum_reviewers,
                build_name="IaC verify and preview",
            ),
            opts=self.child,
        )
        self.register_outputs({"definitionIds": self.definition_ids})


@dataclass(frozen=True)
class IacVariableGroupArgs:
    project_id: pulumi.Input[str]
    state_account_name: pulumi.Input[str]
    key_vault_name: pulumi.Input[str]
    agent_pool_name: str


class IacVariableGroup(BootstrapComponent):
    group_id: pulumi.Output[str]

    def __init__(self, name: str, args: IacVariableGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("IacVariableGroup", name, opts)
        group = azuredevops.VariableGroup(
            f"{name}-group",
            project_id=args.project_id,
            name=names.VARIABLE_GROUP,
            description="aks-estate IaC: where Pulumi keeps state and its secrets keys, the agents' pool; names only",
            allow_access=False,
            variables=[
                azuredevops.VariableGroupVariableArgs(name=names.STATE_ACCOUNT_VARIABLE, value=args.state_account_name),
                azuredevops.VariableGroupVariableArgs(name=names.KEY_VAULT_VARIABLE, value=args.key_vault_name),
                azuredevops.VariableGroupVariableArgs(name=names.AGENT_POOL_VARIABLE, value=args.agent_pool_name),
            ],
            opts=self.child,
        )
        self.group_id = group.id
        self.register_outputs({"groupId": self.group_id})
