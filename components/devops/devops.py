"""The Azure DevOps half of the estate: wires the project, repositories, connections, environments, variable group
and pipelines by passing outputs as inputs; nothing else."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi

from components import naming
from components.devops.branch_policies import BranchPolicies, BranchPoliciesArgs
from components.devops.environments import Approval, DeploymentEnvironment, DeploymentEnvironmentArgs
from components.devops.kubernetes import ClusterTargets, ClusterTargetsArgs
from components.devops.pipelines import (
    Authorization,
    PipelineDefinition,
    PipelineKind,
    ServicePipelines,
    ServicePipelinesArgs,
)
from components.devops.project import Project, ProjectArgs
from components.devops.repository import (
    MAIN_BRANCH,
    ServiceRepository,
    ServiceRepositoryArgs,
    repository_contents,
    starter_files,
)
from components.devops.repository_files import (
    CD_PIPELINE_PATH,
    CI_PIPELINE_PATH,
    PR_PIPELINE_PATH,
    PipelineContext,
    ServiceSpec,
    pipeline_names,
    render_repository_files,
)
from components.devops.service_connections import ServiceConnections, ServiceConnectionsArgs
from components.devops.variable_group import KeyVaultVariableGroup, KeyVaultVariableGroupArgs
from components.identity import FederatedCredentials, FederatedCredentialsArgs

STAGES: tuple[naming.Stage, ...] = ("staging", "production")


def pipeline_context(
    names: naming.EstateNames,
    key_vault_secrets: Sequence[str],
    promotion_approvers: Sequence[str],
    agent_pool: str | None,
    approval_timeout_minutes: int,
) -> PipelineContext:
    """The names the committed YAML uses, all known before `pulumi up`: the pipelines refer to resources by name."""
    return PipelineContext(
        azure_service_connection=names.azure_service_connection,
        registry_service_connection=names.registry_service_connection,
        resource_group=names.resource_group,
        nonprod_registry_name=names.registry("nonprod"),
        nonprod_registry_login_server=_login_server(names.registry("nonprod")),
        prod_registry_name=names.registry("prod"),
        prod_registry_login_server=_login_server(names.registry("prod")),
        staging_cluster=names.cluster("staging"),
        production_cluster=names.cluster("production"),
        key_vault_name=names.key_vault,
        key_vault_secrets=tuple(key_vault_secrets),
        variable_group=names.variable_group,
        promotion_approvers=tuple(promotion_approvers),
        agent_pool=agent_pool,
        approval_timeout_minutes=approval_timeout_minutes,
    )


def _login_server(registry_name: str) -> str:
    # Azure public cloud gives every registry the login server "<name>.azurecr.io" (lowercase, as our names are).
    return f"{registry_name}.azurecr.io"


@dataclass(frozen=True)
class DevOpsService:
    spec: ServiceSpec
    # A repository whose application code the team brings gets the stack's pipelines and manifests only.
    existing_code: bool


@dataclass(frozen=True)
class ClusterEndpoint:
    cluster_name: pulumi.Input[str]
    fqdn: pulumi.Input[str]


@dataclass(frozen=True)
class DevOpsArgs:
    project_name: str
    install_security_extension: bool
    services: Sequence[DevOpsService]
    # The names the committed YAML refers to; the connections, variable group and environments are created with them.
    pipeline_context: PipelineContext
    minimum_reviewers: int
    production_approvers: Sequence[str]
    approval_timeout_minutes: int
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    identity_name: pulumi.Input[str]
    identity_client_id: pulumi.Input[str]
    azure_credential_name: str
    registry_credential_name: str
    nonprod_registry_name: pulumi.Input[str]
    key_vault_name: pulumi.Input[str]
    # The role assignment that lets the pipelines identity read the vault's secrets.
    key_vault_read_grant_id: pulumi.Input[str]
    key_vault_secret_ids: Sequence[pulumi.Input[str]]
    clusters: Mapping[naming.Stage, ClusterEndpoint]
    app_insights_connection_string: pulumi.Input[str]
    protect: bool = False


class DevOps(pulumi.ComponentResource):
    project_url: pulumi.Output[str]
    repository_urls: dict[str, pulumi.Output[str]]
    pipeline_ids: dict[str, dict[PipelineKind, pulumi.Output[int]]]
    environment_names: dict[naming.Stage, pulumi.Output[str]]

    def __init__(self, name: str, args: DevOpsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:devops:DevOps", name, None, opts)
        ctx = args.pipeline_context
        project = Project(
            f"{name}-project",
            ProjectArgs(
                project_name=args.project_name,
                description="CI/CD for microservices on AKS with Azure Pipelines, managed by the aks-estate stack",
                install_security_extension=args.install_security_extension,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        project_id = project.project_id

        connections = ServiceConnections(
            f"{name}-connections",
            ServiceConnectionsArgs(
                project_id=project_id,
                tenant_id=args.tenant_id,
                subscription_id=args.subscription_id,
                identity_client_id=args.identity_client_id,
                azure_connection_name=ctx.azure_service_connection,
                azure_credential_name=args.azure_credential_name,
                registry_connection_name=ctx.registry_service_connection,
                registry_credential_name=args.registry_credential_name,
                registry_name=args.nonprod_registry_name,
                registry_resource_group_name=args.resource_group_name,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        federation = FederatedCredentials(
            f"{name}-federation",
            FederatedCredentialsArgs(
                resource_group_name=args.resource_group_name,
                identity_name=args.identity_name,
                subjects=connections.federated_subjects,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        variable_group = KeyVaultVariableGroup(
            f"{name}-variable-group",
            KeyVaultVariableGroupArgs(
                project_id=project_id,
                group_name=ctx.variable_group,
                key_vault_name=args.key_vault_name,
                secret_names=ctx.key_vault_secrets,
                azure_connection_id=connections.azure_connection_id,
                ready=[*federation.credential_ids, args.key_vault_read_grant_id, *args.key_vault_secret_ids],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        environment_names: dict[naming.Stage, str] = {
            "staging": ctx.staging_environment,
            "production": ctx.production_environment,
        }
        environments: dict[naming.Stage, DeploymentEnvironment] = {
            "staging": DeploymentEnvironment(
                f"{name}-environment-staging",
                DeploymentEnvironmentArgs(
                    project_id=project_id,
                    environment_name=environment_names["staging"],
                    description="aks-estate: the staging AKS cluster, one Kubernetes resource per service namespace",
                    approval=None,
                    allowed_branch=None,
                    exclusive_lock=True,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            ),
            "production": DeploymentEnvironment(
                f"{name}-environment-production",
                DeploymentEnvironmentArgs(
                    project_id=project_id,
                    environment_name=environment_names["production"],
                    description="aks-estate: the production AKS cluster, one Kubernetes resource per service namespace",
                    approval=Approval(args.production_approvers, args.approval_timeout_minutes),
                    allowed_branch=MAIN_BRANCH,
                    exclusive_lock=True,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            ),
        }
        targets = {
            stage: ClusterTargets(
                f"{name}-targets-{stage}",
                ClusterTargetsArgs(
                    project_id=project_id,
                    stage=stage,
                    environment_id=environments[stage].environment_id,
                    resource_group_name=args.resource_group_name,
                    cluster_name=args.clusters[stage].cluster_name,
                    cluster_fqdn=args.clusters[stage].fqdn,
                    services=[service.spec.name for service in args.services],
                    app_insights_connection_string=args.app_insights_connection_string,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for stage in STAGES
        }

        starter = starter_files() if any(not service.existing_code for service in args.services) else {}
        self.repository_urls = {}
        self.pipeline_ids = {}
        for service in args.services:
            service_name = service.spec.name
            repository = ServiceRepository(
                f"{name}-{service_name}-repository",
                ServiceRepositoryArgs(
                    project_id=project_id,
                    repository_name=naming.ServiceNames(service_name).repository,
                    files=repository_contents(
                        render_repository_files(service.spec, ctx), {} if service.existing_code else starter
                    ),
                    seeded=frozenset() if service.existing_code else frozenset(starter),
                    protect=args.protect,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            pipeline_name = pipeline_names(service.spec)
            azure = Authorization("azure-connection", "endpoint", connections.azure_connection_id)
            pipelines = ServicePipelines(
                f"{name}-{service_name}-pipelines",
                ServicePipelinesArgs(
                    project_id=project_id,
                    # Definitions point at YAML files, so they wait for the commits.
                    repository_id=repository.repository_id,
                    definitions={
                        # Build validation touches nothing protected: no connection, no secret, no environment.
                        "pr": PipelineDefinition(
                            pipeline_name.pr, PR_PIPELINE_PATH, ci_trigger=False, authorizations=[]
                        ),
                        "ci": PipelineDefinition(
                            pipeline_name.ci,
                            CI_PIPELINE_PATH,
                            ci_trigger=True,
                            authorizations=[
                                azure,
                                Authorization("registry-connection", "endpoint", connections.registry_connection_id),
                                Authorization("variable-group", "variablegroup", variable_group.group_id),
                            ],
                        ),
                        "cd": PipelineDefinition(
                            pipeline_name.cd,
                            CD_PIPELINE_PATH,
                            ci_trigger=False,
                            authorizations=[
                                azure,
                                *(
                                    Authorization(
                                        f"{stage}-environment", "environment", environments[stage].environment_id
                                    )
                                    for stage in STAGES
                                ),
                                # Jobs that target "<environment>.<namespace>" receive that resource's connection.
                                *(
                                    Authorization(
                                        f"{stage}-kubernetes-connection",
                                        "endpoint",
                                        targets[stage].connection_ids[service_name],
                                    )
                                    for stage in STAGES
                                ),
                            ],
                        ),
                    },
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            BranchPolicies(
                f"{name}-{service_name}-policies",
                BranchPoliciesArgs(
                    project_id=project_id,
                    # Once the policies exist, direct pushes to main are refused: they come after the commits.
                    repository_id=repository.repository_id,
                    pr_definition_id=pipelines.definition_ids["pr"],
                    reviewer_count=args.minimum_reviewers,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.repository_urls[service_name] = repository.web_url
            self.pipeline_ids[service_name] = pipelines.definition_ids

        self.project_url = project.project_url
        self.environment_names = {stage: environment.environment_name for stage, environment in environments.items()}
        self.register_outputs(
            {
                "projectUrl": self.project_url,
                "repositoryUrls": self.repository_urls,
                "pipelineIds": self.pipeline_ids,
                "environmentNames": self.environment_names,
            }
        )
