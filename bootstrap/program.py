"""The whole bootstrap: state, secrets keys, identities, their roles, and the IaC side of Azure DevOps."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization

from bootstrap import names
from bootstrap.access import IacAccess, IacGrant, OperatorAccess, OperatorAccessArgs
from bootstrap.component import BootstrapComponent
from bootstrap.config import STACKS, BootstrapConfig
from bootstrap.devops import (
    ConnectionChecks,
    IacConnection,
    IacConnectionArgs,
    IacPipelines,
    IacPipelinesArgs,
    IacRepository,
    IacRepositoryArgs,
    IacVariableGroup,
    IacVariableGroupArgs,
)
from bootstrap.organisation import OrganisationAccess, OrganisationAccessArgs
from bootstrap.secrets import SecretsKeys, SecretsKeysArgs
from bootstrap.state import StateBackend, StateBackendArgs
from components.component import resource_group
from components.devops.checks import Approval
from components.devops.environments import DeploymentEnvironment, DeploymentEnvironmentArgs
from components.devops.pipelines import Authorization
from components.devops.repository import MAIN_BRANCH
from components.devops.service_connections import ArmConnectionSpec, AzureSubscription
from components.devops_pool import PoolNames
from components.identity import (
    Assigner,
    FederatedCredentials,
    FederatedCredentialsArgs,
    PipelineIdentity,
    PipelineIdentityArgs,
    RoleGrantsArgs,
    estate_assignable_role_ids,
)


class Bootstrap(BootstrapComponent):
    def __init__(self, name: str, config: BootstrapConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("Bootstrap", name, opts)
        bootstrap_names = names.BootstrapNames(config.name_prefix)
        tags = {"workload": "aks-estate-iac", "managed-by": "pulumi"}
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        subscription_scope = pulumi.Output.concat("/subscriptions/", client.subscription_id)

        group, placement = resource_group(name, bootstrap_names.resource_group, config.location, tags, self.kept)
        state = StateBackend(
            f"{name}-state",
            StateBackendArgs(
                placement=placement,
                account_name=bootstrap_names.state_account,
                container_names=[names.state_container(stack) for stack in STACKS],
                soft_delete_days=config.state_soft_delete_days,
            ),
            opts=self.child,
        )
        keys = SecretsKeys(
            f"{name}-secrets",
            SecretsKeysArgs(
                placement=placement,
                vault_name=bootstrap_names.key_vault,
                tenant_id=client.tenant_id,
                key_names=[names.secrets_key(stack) for stack in STACKS],
                soft_delete_retention_days=config.key_vault_soft_delete_retention_days,
            ),
            opts=self.child,
        )
        repository = IacRepository(
            f"{name}-repository",
            IacRepositoryArgs(project_name=config.devops_project, repository_name=config.repository_name),
            opts=self.child,
        )
        project_id = repository.project_id

        identities: dict[tuple[names.Role, str], PipelineIdentity] = {}
        connections: dict[tuple[names.Role, str], IacConnection] = {}
        grants: list[IacGrant] = []
        for stack in STACKS:
            for role in names.ROLES:
                identity_name = names.identity(role, stack)
                identity = PipelineIdentity(
                    f"{name}-{identity_name}",
                    PipelineIdentityArgs(
                        placement=placement,
                        identity_name=identity_name,
                    ),
                    opts=self.child,
                )
                connection = IacConnection(
                    f"{name}-{names.service_connection(role, stack)}",
                    IacConnectionArgs(
                        ArmConnectionSpec(
                            project_id=project_id,
                            connection_name=names.service_connection(role, stack),
                            description="aks-estate IaC: Azure Resource Manager as one identity (workload identity "
                            "federation)",
                            subscription=AzureSubscription(client.tenant_id, client.subscription_id),
                            identity_client_id=identity.client_id,
                        ),
                        credential_name=names.federated_credential(role, stack),
                        checks=self._connection_checks(role, stack, config),
                    ),
                    opts=self.child,
                )
                # Federated to its own connection only, so only pipelines authorized for it can act as it.
                FederatedCredentials(
                    f"{name}-{identity_name}-federation",
                    FederatedCredentialsArgs(
                        resource_group_name=group.name,
                        identity_name=identity.identity_name,
                        subjects=[connection.federated_subject],
                    ),
                    opts=self.child,
                )
                identities[role, stack] = identity
                connections[role, stack] = connection
                grants.extend(
                    self._grants(
                        role, stack, identity=identity, subscription_scope=subscription_scope, state=state, keys=keys
                    )
                )

        assigner = Assigner(client.subscription_id, f"bootstrap/{config.name_prefix}")
        IacAccess(f"{name}-access", RoleGrantsArgs(assigner=assigner, grants=grants), opts=self.child)
        OperatorAccess(
            f"{name}-operators",
            OperatorAccessArgs(
                assigner=assigner,
                operators=[str(operator) for operator in config.operators],
                containers={stack: state.container_ids[names.state_container(stack)] for stack in STACKS},
                keys={stack: keys.key_ids[names.secrets_key(stack)] for stack in STACKS},
            ),
            opts=self.child,
        )
        organisation = OrganisationAccess(
            f"{name}-organisation",
            OrganisationAccessArgs(
                readers={names.identity("preview", s): identities["preview", s].principal_id for s in STACKS},
                project_creators={names.identity("deploy", s): identities["deploy", s].principal_id for s in STACKS},
                iac_project_id=project_id,
                pool_owner=names.identity("deploy", names.POOL_STACK),
                pool_previewer=names.identity("preview", names.POOL_STACK),
            ),
            opts=self.child,
        )

        environments = {
            environment_name: DeploymentEnvironment(
                f"{name}-{environment_name}",
                DeploymentEnvironmentArgs(
                    project_id=project_id,
                    environment_name=environment_name,
                    description=description,
                    approval=Approval(config.approvers, config.approval_timeout_minutes, instructions)
                    if instructions
                    else None,
                    allowed_branch=branch,
                    exclusive_lock=branch is not None,
                ),
                opts=self.child,
            )
            for environment_name, description, instructions, branch in (
                (names.environment("dev"), "aks-estate IaC: `pulumi up` of the dev stack", "", MAIN_BRANCH),
                (
                    names.environment("prod"),
                    "aks-estate IaC: `pulumi up` of the prod stack",
                    "Approve only after reading the prod preview of this commit on the run's summary page.",
                    MAIN_BRANCH,
                ),
                # No check of its own: the approval is the connection's (aks-estate-iac-preview-prod), which every
                # stage using it waits for; the environment keeps the pull requests' prod previews as its history.
                (
                    names.PROD_PREVIEW_ENVIRONMENT,
                    "aks-estate IaC: a pull request's code previews the prod stack",
                    "",
                    None,
                ),
            )
        }
        group_variables = IacVariableGroup(
            f"{name}-variables",
            IacVariableGroupArgs(
                project_id=project_id,
                state_account_name=state.account_name,
                key_vault_name=keys.vault_name,
                agent_pool_name=PoolNames(config.name_prefix, names.POOL_STACK).pool,
            ),
            opts=self.child,
        )

        def endpoint(role: names.Role, stack: str) -> Authorization:
            return Authorization(f"{role}-{stack}", "endpoint", connections[role, stack].connection_id)

        def environment(environment_name: str) -> Authorization:
            return Authorization(environment_name, "environment", environments[environment_name].environment_id)

        variables = Authorization("variables", "variablegroup", group_variables.group_id)
        pipelines = IacPipelines(
            f"{name}-pipelines",
            IacPipelinesArgs(
                project_id=project_id,
                repository_id=repository.repository_id,
                authorizations={
                    "pr": [
                        *(endpoint("preview", stack) for stack in STACKS),
                        variables,
                        environment(names.PROD_PREVIEW_ENVIRONMENT),
                    ],
                    # The merged commit's prod diff is previewed as the read-only identity, before the approval lets
                    # the deployer act.
                    "deploy": [
                        *(endpoint("deploy", stack) for stack in STACKS),
                        endpoint("preview", "prod"),
                        variables,
                        *(environment(names.environment(stack)) for stack in STACKS),
                    ],
                    "drift": [*(endpoint("deploy", stack) for stack in STACKS), variables],
                },
                minimum_reviewers=config.minimum_reviewers,
            ),
            opts=self.child,
        )

        self.state_account = state.account_name
        self.key_vault = keys.vault_name
        self.remote_url = repository.remote_url
        self.identity_client_ids = {
            names.identity(role, stack): identity.client_id for (role, stack), identity in identities.items()
        }
        self.definition_ids = pipelines.definition_ids
        # Each estate stack takes its preview identity's descriptor as aks-estate:iacPreviewIdentity.
        self.preview_descriptors = {
            stack: organisation.reader_descriptors[names.identity("preview", stack)] for stack in STACKS
        }
        self.register_outputs({"stateAccount": self.state_account, "keyVault": self.key_vault})

    @staticmethod
    def _connection_checks(role: names.Role, stack: str, config: BootstrapConfig) -> ConnectionChecks:
        """What a run must pass to use the connection, whatever YAML its branch holds.

        A deploy identity writes: only main's reviewed code, while main is protected, may use it (the deploy and drift
        definitions can be queued on any branch). prod's preview identity reads prod's state and decrypts its secrets,
        and pull requests must preview prod: a person approves each stage that uses it, a pull request's as much as
        main's (a branch or required-template check would refuse the pull requests or need extends-templates).
        dev's preview identity runs every pull request's code unapproved by design (README, IaC pipelines)."""
        if role == "deploy":
            return ConnectionChecks(allowed_branch=MAIN_BRANCH)
        if stack == "prod":
            instructions = (
                "This run's code (a pull request's, or main's before a prod deployment) runs as Python with prod's "
                "preview identity, which reads prod's state and secrets: approve only code you read."
            )
            return ConnectionChecks(approval=Approval(config.approvers, config.approval_timeout_minutes, instructions))
        return ConnectionChecks()

    @staticmethod
    def _grants(
        role: names.Role,
        stack: str,
        *,
        identity: PipelineIdentity,
        subscription_scope: pulumi.Output[str],
        state: StateBackend,
        keys: SecretsKeys,
    ) -> list[IacGrant]:
        principal = identity.principal_id
        prefix = f"{role}-{stack}"
        # The diy backend writes lock files next to the checkpoint, so even a preview writes blobs, in its container.
        data = [
            IacGrant(
                f"{prefix}-state",
                "Storage Blob Data Contributor",
                principal,
                state.container_ids[names.state_container(stack)],
            ),
            IacGrant(f"{prefix}-key", "Key Vault Crypto User", principal, keys.key_ids[names.secrets_key(stack)]),
        ]
        if role == "preview":
            # The estate's resource group and clusters do not exist yet when the bootstrap runs, and Azure assigns a
            # role only at a scope that exists: the subscription is the narrowest scope, shared with the other stack.
            # A preview needs the cluster-user kubeconfig (listClusterUserCredential, a POST Reader does not allow:
            # components/devops/kubernetes.py) but no Kubernetes data role: it runs without --refresh and
            # pulumi-kubernetes diffs client-side, falling back silently when a server-side dry run is Forbidden
            # (pulumi/pulumi-kubernetes provider/pkg/provider/provider.go, Diff; Create and Update with preview). The
            # kubeconfig alone reads no object under Azure RBAC for Kubernetes (API discovery only), so no cluster,
            # the other stack's included, opens to the pull requests' code this identity runs.
            return [
                IacGrant(f"{prefix}-read", "Reader", principal, subscription_scope),
                IacGrant(
                    f"{prefix}-cluster-credentials",
                    "Azure Kubernetes Service Cluster User Role",
                    principal,
                    subscription_scope,
                ),
                *data,
            ]
        # The estate creates its own resource group, so nothing narrower than the subscription can hold Contributor.
        return [
            IacGrant(f"{prefix}-contribute", "Contributor", principal, subscription_scope),
            IacGrant(
                f"{prefix}-assign-estate-roles",
                "Role Based Access Control Administrator",
                principal,
                subscription_scope,
                assignable_role_ids=estate_assignable_role_ids(),
            ),
            *data,
        ]
