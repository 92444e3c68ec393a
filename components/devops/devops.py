"""The Azure DevOps half of the estate: wires the project, the templates and starter repositories, the service
repositories, connections, environments and pipelines by passing outputs as inputs; nothing else."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi

from components import naming
from components.component import Component
from components.devops.agent_queue import AgentQueue, AgentQueueArgs
from components.devops.branch_policies import BranchPolicies, BranchPoliciesArgs
from components.devops.checks import Approval, CheckTarget
from components.devops.environments import DeploymentEnvironment, DeploymentEnvironmentArgs
from components.devops.kubernetes import InternalIngress, InternalIngressArgs
from components.devops.pipelines import (
    Authorization,
    PipelineDefinition,
    PipelineKind,
    ServicePipelines,
    ServicePipelinesArgs,
)
from components.devops.platform import PlatformRepositories, PlatformRepositoriesArgs
from components.devops.project import Project, ProjectArgs, SecurityExtensionMode
from components.devops.repository import MAIN_BRANCH, ServiceRepository, ServiceRepositoryArgs, starter_files
from components.devops.required_templates import RequiredTemplates, require_templates
from components.devops.service_connections import (
    AzureSubscription,
    Connection,
    ProductionConnection,
    ServiceConnections,
    ServiceConnectionsArgs,
)
from components.identity import FederatedCredentials, FederatedCredentialsArgs
from components.service_files import templates_repository_files
from components.service_files.context import PipelineContext, pipeline_names
from components.service_files.entry import (
    BUILDS,
    Kind,
    cd_entry,
    ci_entry,
    pr_entry,
    stage_template,
    templates_repository_name,
)
from components.service_files.layout import (
    CD_PIPELINE_PATH,
    CI_PIPELINE_PATH,
    PR_PIPELINE_PATH,
    TEMPLATES_RELEASE_REF,
    TEMPLATES_VALIDATION_TEMPLATE,
)
from components.service_files.manifests import ingress_class, renderer
from components.service_files.spec import ServiceSpec

STAGES: tuple[naming.Stage, ...] = ("staging", "production")
# What the production environment and the production connection admit: the service's main, the templates' release.
PRODUCTION_BRANCHES = f"{MAIN_BRANCH},{TEMPLATES_RELEASE_REF}"


def required(ctx: PipelineContext, *kinds: Kind) -> RequiredTemplates:
    """The templates of `kinds`, for every build kind, as a required-template check lists them."""
    return RequiredTemplates(
        templates_repository_name(ctx), [stage_template(kind, build) for kind in kinds for build in BUILDS]
    )


@dataclass(frozen=True)
class DevOpsService:
    spec: ServiceSpec
    # Deprecated: a repository the team fills itself, created empty but for the entry pipelines.
    existing_code: bool
    # Where that code comes from: a Git URL imported when the repository is created, read through a Git service
    # connection when the source is private.
    import_from: str | None = None
    import_connection_id: str | None = None

    @property
    def starter(self) -> bool:
        return not (self.existing_code or self.import_from)


@dataclass(frozen=True)
class AzureEndpoints:
    """What of the Azure side the Azure DevOps side connects to."""

    subscription: AzureSubscription
    resource_group_name: pulumi.Input[str]
    # The pipelines' identity, which the workload-identity connections sign in as.
    identity_name: pulumi.Input[str]
    identity_client_id: pulumi.Input[str]
    # The release identity, which the production connection signs in as.
    production_identity_name: pulumi.Input[str]
    production_identity_client_id: pulumi.Input[str]
    nonprod_registry_name: pulumi.Input[str]
    # Each cluster's name, resolved once its user pool exists (Cluster.cluster_name_after_user_pool), and its ID.
    cluster_names: Mapping[naming.Stage, pulumi.Input[str]]
    cluster_ids: Mapping[naming.Stage, pulumi.Input[str]]
    # By stage, then service: the identity each service's pods send telemetry as (its manifests name it).
    telemetry_client_ids: Mapping[naming.Stage, Mapping[str, pulumi.Input[str]]]


@dataclass(frozen=True)
class DevOpsArgs:
    project_name: str
    security_extension: SecurityExtensionMode
    # The IaC preview identity of this stack (its graph descriptor): a Reader of the project.
    iac_preview_identity: str
    services: Sequence[DevOpsService]
    # The names the committed YAML refers to (connections, environments, approvers, timeouts): the objects are
    # created with them.
    pipeline_context: PipelineContext
    minimum_reviewers: int
    # Moving it moves every service pipeline to the templates as they are now.
    templates_release: str
    azure: AzureEndpoints
    azure_credential_name: str
    registry_credential_name: str
    production_credential_name: str
    protect: bool = False
    # The name the Managed DevOps Pool reports once created (pipeline_context's agent_pool names the same pool): its
    # queue in the project is looked up after the pool exists. None: an existing pool, or Microsoft-hosted agents.
    managed_pool_name: pulumi.Input[str] | None = None


class DevOps(Component):
    project_url: pulumi.Output[str]
    project_name: pulumi.Output[str]
    repository_urls: dict[str, pulumi.Output[str]]
    pipeline_ids: dict[str, dict[PipelineKind, pulumi.Output[int]]]
    environment_names: dict[naming.Stage, pulumi.Output[str]]

    def __init__(self, name: str, args: DevOpsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:devops:DevOps", name, opts)
        ctx = args.pipeline_context
        project = Project(
            f"{name}-project",
            ProjectArgs(
                project_name=args.project_name,
                description="CI/CD for microservices on AKS with Azure Pipelines, managed by the aks-estate stack",
                security_extension=args.security_extension,
                readers=[args.iac_preview_identity],
            ),
            opts=self.child,
        )
        project_id = project.project_id

        connections = ServiceConnections(
            f"{name}-connections",
            ServiceConnectionsArgs(
                project_id=project_id,
                subscription=args.azure.subscription,
                identity_client_id=args.azure.identity_client_id,
                azure=Connection(ctx.azure_service_connection, args.azure_credential_name, required(ctx, "ci", "cd")),
                registry=Connection(
                    ctx.registry_service_connection, args.registry_credential_name, required(ctx, "ci")
                ),
                registry_name=args.azure.nonprod_registry_name,
                registry_resource_group_name=args.azure.resource_group_name,
                production=ProductionConnection(
                    connection_name=ctx.production_service_connection,
                    credential_name=args.production_credential_name,
                    identity_client_id=args.azure.production_identity_client_id,
                    templates=required(ctx, "cd"),
                    allowed_branches=PRODUCTION_BRANCHES,
                ),
            ),
            opts=self.child,
        )
        for key, identity_name, subjects in (
            ("federation", args.azure.identity_name, connections.federated_subjects),
            ("production-federation", args.azure.production_identity_name, connections.production_federated_subjects),
        ):
            FederatedCredentials(
                f"{name}-{key}",
                FederatedCredentialsArgs(
                    resource_group_name=args.azure.resource_group_name, identity_name=identity_name, subjects=subjects
                ),
                opts=self.child,
            )
        # Pipelines that name an organisation pool reach it only through a queue in this project; Microsoft-hosted
        # agents come with every project's "Azure Pipelines" queue.
        queue = (
            AgentQueue(
                f"{name}-agent-queue",
                AgentQueueArgs(
                    project_id=project_id, pool_name=ctx.agent_pool, managed_pool_name=args.managed_pool_name
                ),
                opts=self.child,
            )
            if ctx.agent_pool
            else None
        )
        on_agents = [Authorization("agent-queue", "queue", queue.queue_id)] if queue else []
        if queue:
            # Build validation runs the pull request's own entry YAML (and the templates repository's), so an
            # authorization alone would let a contributor drop `extends:` and run any step on a pool inside the
            # network. The queue serves only runs that extend a released template ("Configure a template check on
            # your agent pool", azure-devops-docs docs/pipelines/security/templates.md). Microsoft-hosted agents
            # (dev) sit outside the network; the IaC project's queue of the same pool is another queue resource.
            on_pool = required(ctx, "pr", "ci", "cd")
            require_templates(
                f"{name}-agent-queue-templates",
                CheckTarget(project_id=project_id, target_resource_id=queue.queue_id, target_resource_type="queue"),
                required=RequiredTemplates(
                    on_pool.repository_name, [*on_pool.template_paths, TEMPLATES_VALIDATION_TEMPLATE]
                ),
                parent=queue,
            )

        environment_names: dict[naming.Stage, str] = {
            "staging": ctx.staging_environment,
            "production": ctx.production_environment,
        }
        # Staging takes every CD run; production only from main, once approved.
        gates: dict[naming.Stage, tuple[Approval | None, str | None]] = {
            "staging": (None, None),
            # Branch control validates every repository a run uses: the service's main and the templates' release
            # (protected by its own policies, components/devops/platform.py).
            "production": (
                Approval(list(ctx.promotion_approvers), ctx.approval_timeout_minutes),
                PRODUCTION_BRANCHES,
            ),
        }
        environments = {
            stage: DeploymentEnvironment(
                f"{name}-environment-{stage}",
                DeploymentEnvironmentArgs(
                    project_id=project_id,
                    environment_name=environment_names[stage],
                    description=f"aks-estate: the {stage} AKS cluster",
                    approval=approval,
                    allowed_branch=allowed_branch,
                    exclusive_lock=True,
                    required_templates=required(ctx, "cd"),
                ),
                opts=self.child,
            )
            for stage, (approval, allowed_branch) in gates.items()
        }
        # A cluster gets the internal controller when an Ingress there names its class: an internal service's, or
        # in staging any exposed service's without a stagingHost (the renderer decides, so the two cannot drift).
        internal_class = renderer().INTERNAL_INGRESS_CLASS
        for stage in STAGES:
            if any(ingress_class(service.spec, stage) == internal_class for service in args.services):
                InternalIngress(
                    f"{name}-targets-{stage}",
                    InternalIngressArgs(
                        resource_group_name=args.azure.resource_group_name,
                        cluster_name=args.azure.cluster_names[stage],
                        cluster_id=args.azure.cluster_ids[stage],
                    ),
                    opts=self.child,
                )
        platform = PlatformRepositories(
            f"{name}-platform",
            PlatformRepositoriesArgs(
                project_id=project_id,
                templates=templates_repository_files(ctx),
                starter=starter_files(),
                templates_release=args.templates_release,
                reviewer_count=args.minimum_reviewers,
                agent_queue=on_agents,
                protect=args.protect,
            ),
            opts=self.child,
        )

        self.repository_urls = {}
        self.pipeline_ids = {}
        for service in args.services:
            service_name = service.spec.name
            repository = ServiceRepository(
                f"{name}-{service_name}-repository",
                ServiceRepositoryArgs(
                    project_id=project_id,
                    repository_name=naming.ServiceNames(service_name).repository,
                    files=_entries(service.spec, ctx, args.azure.telemetry_client_ids),
                    fork_from=platform.starter_repository_id if service.starter else None,
                    import_from=service.import_from,
                    import_connection_id=service.import_connection_id,
                    protect=args.protect,
                ),
                opts=self.child,
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
                        # Build validation touches nothing protected but the agents: no connection or environment.
                        "pr": PipelineDefinition(
                            pipeline_name.pr, PR_PIPELINE_PATH, ci_trigger=False, authorizations=on_agents
                        ),
                        "ci": PipelineDefinition(
                            pipeline_name.ci,
                            CI_PIPELINE_PATH,
                            ci_trigger=True,
                            authorizations=[
                                *on_agents,
                                azure,
                                Authorization("registry-connection", "endpoint", connections.registry_connection_id),
                            ],
                        ),
                        "cd": PipelineDefinition(
                            pipeline_name.cd,
                            CD_PIPELINE_PATH,
                            ci_trigger=False,
                            authorizations=[
                                *on_agents,
                                azure,
                                Authorization(
                                    "production-connection", "endpoint", connections.production_connection_id
                                ),
                                *(
                                    Authorization(
                                        f"{stage}-environment", "environment", environments[stage].environment_id
                                    )
                                    for stage in STAGES
                                ),
                            ],
                        ),
                    },
                ),
                opts=self.child,
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
                opts=self.child,
            )
            self.repository_urls[service_name] = repository.web_url
            self.pipeline_ids[service_name] = pipelines.definition_ids

        self.project_url = project.project_url
        # The project's name once it exists: a Managed DevOps Pool that lists it creates its queue there.
        self.project_name = project_id.apply(lambda _: args.project_name)
        self.environment_names = {stage: environment.environment_name for stage, environment in environments.items()}
        self.register_outputs(
            {
                "projectUrl": self.project_url,
                "repositoryUrls": self.repository_urls,
                "pipelineIds": self.pipeline_ids,
                "environmentNames": self.environment_names,
            }
        )


def _entries(
    spec: ServiceSpec, ctx: PipelineContext, client_ids: Mapping[naming.Stage, Mapping[str, pulumi.Input[str]]]
) -> dict[str, pulumi.Input[str]]:
    """A service's entry pipelines; CI's carries the client IDs its manifests annotate the service account with."""
    ids = pulumi.Output.all(*(client_ids[stage][spec.name] for stage in STAGES))
    # In path order, as the commits are chained.
    return {
        CD_PIPELINE_PATH: cd_entry(spec, ctx),
        CI_PIPELINE_PATH: ids.apply(lambda values: ci_entry(spec, ctx, dict(zip(STAGES, values, strict=True)))),
        PR_PIPELINE_PATH: pr_entry(spec, ctx),
    }
