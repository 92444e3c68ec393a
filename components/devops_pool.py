"""The agents the pipelines run on: a Managed DevOps Pool in the estate's agent subnet, with the Dev Center and Dev
Center project it belongs to.

What the service needs, from Microsoft's Managed DevOps Pools docs (MicrosoftDocs/azure-devops-docs,
docs/managed-devops-pools/):
- prerequisites.md: the subscription has the `Microsoft.DevOpsInfrastructure` and `Microsoft.DevCenter` resource
  providers registered, and every pool belongs to a Dev Center project (`devCenterProjectResourceId`).
- configure-networking.md: the subnet is delegated to `Microsoft.DevOpsInfrastructure/pools` (the network's job), in the
  pool's region, and the tenant's `DevOpsInfrastructure` service principal holds Reader and Network Contributor on the
  virtual network; without them the service cannot join its machines to the subnet.
- prerequisites.md ("Verify Azure DevOps permissions"): the identity that creates the pool (whoever runs `pulumi up`)
  is the one the service uses to create the pool's agent pool in the organisation and its queue in every project the
  organisation profile lists, so it needs agent pool Administrator at organisation level and Administrator or Creator
  on agent pools in each listed project (the creator of a project has that).
- configure-security.md: `openAccess` would open the pool's queue to every pipeline of the project (settable only at
  creation); left off, each pipeline must be authorized on the queue, which the stack does for exactly its
  definitions (components/devops/agent_queue.py). `permissionProfile` `Inherit` keeps the organisation's pool
  administrators (where the README has `deploy-prod` added): `CreatorOnly` would make whoever ran the first `up`,
  possibly a person, the pool's only administrator with inheritance off, and it cannot be changed after creation, so
  the IaC pipeline's later changes to the pool would be refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import devcenter, devopsinfrastructure

from bootstrap import names as iac_names
from components.component import Component, Placement
from components.config import EstateConfig
from components.devops.agent_queue import ProjectQueueAuthorizations, ProjectQueueAuthorizationsArgs
from components.devops.devops import DevOps
from components.identity import Assigner, Grant, RoleGrants, RoleGrantsArgs
from components.naming import NameRule

# Azure Pipelines images Microsoft publishes for these pools, by their predefined alias (configure-images.md, "Azure
# Pipelines image predefined aliases"): the software of the Microsoft-hosted agents (Azure CLI, Docker, kubectl,
# Python 3.11 in the tool cache for UsePythonVersion); the pipelines install kubelogin and the Pulumi CLI themselves,
# pinned and checksum-verified from release downloads (pipelines/infra/templates, pipelines/service/templates).
WELL_KNOWN_IMAGES = ("ubuntu-24.04", "ubuntu-22.04")

# REST API Pools - Create Or Update (2025-01-21): poolName matches ^[a-zA-Z0-9][a-zA-Z0-9-.]*$ and "needs to be
# globally unique", which the prefix gives it. The Dev Center names keep to the same characters. No length limit was
# found documented for the three types, so the bound is the stack's own: its names are at most 19 characters.
NAME_RULE = NameRule(3, 24, r"[a-zA-Z0-9][a-zA-Z0-9.-]*", "3-24 letters, digits, '-', '.'; starts alphanumeric")


@dataclass(frozen=True)
class PoolNames:
    prefix: str
    environment: str

    @property
    def pool(self) -> str:
        return NAME_RULE.check("Managed DevOps Pool", f"mdp-{self.prefix}-{self.environment}")

    @property
    def dev_center(self) -> str:
        return NAME_RULE.check("Dev Center", f"dc-{self.prefix}-{self.environment}")

    @property
    def dev_center_project(self) -> str:
        return NAME_RULE.check("Dev Center project", f"dcp-{self.prefix}-{self.environment}")


def virtual_network_id(subnet_id: str) -> str:
    """The virtual network of a subnet: its ARM ID up to `/subnets/`."""
    network, found, _ = subnet_id.partition("/subnets/")
    if not found:
        raise ValueError(f"{subnet_id!r} is not the ARM ID of a subnet")
    return network


@dataclass(frozen=True)
class ManagedAgentPoolArgs:
    placement: Placement
    names: PoolNames
    # The estate network's agent subnet, delegated to Microsoft.DevOpsInfrastructure/pools.
    subnet_id: pulumi.Input[str]
    # The tenant's DevOpsInfrastructure service principal (config; no provider here reads Microsoft Graph).
    devops_infrastructure_object_id: str
    assigner: Assigner
    organization_url: str
    # The Azure DevOps projects whose pipelines run here; the service creates the pool's queue in each, so each must
    # exist first (pass the project's name as an output of the project).
    projects: Sequence[pulumi.Input[str]]
    maximum_concurrency: int
    vm_size: str
    image: str


class ManagedAgentPool(Component):
    pool_name: pulumi.Output[str]
    pool_id: pulumi.Output[str]

    def __init__(self, name: str, args: ManagedAgentPoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:agents:ManagedAgentPool", name, opts)
        if args.image not in WELL_KNOWN_IMAGES:
            raise ValueError(f"image {args.image!r} is not one of the Azure Pipelines images {WELL_KNOWN_IMAGES}")
        child = pulumi.ResourceOptions(parent=self)
        center = devcenter.DevCenter(
            f"{name}-dev-center",
            dev_center_name=args.names.dev_center,
            **args.placement,
            opts=child,
        )
        project = devcenter.Project(
            f"{name}-dev-center-project",
            project_name=args.names.dev_center_project,
            dev_center_id=center.id,
            **args.placement,
            description="aks-estate: the Managed DevOps Pool the estate's pipelines run on",
            opts=child,
        )
        network_id = pulumi.Output.from_input(args.subnet_id).apply(virtual_network_id)
        # configure-networking.md, "Grant Reader and Network Contributor access to DevOpsInfrastructure service
        # principal": on the virtual network, before the pool joins its subnet.
        access = RoleGrants(
            f"{name}-network-access",
            RoleGrantsArgs(
                assigner=args.assigner,
                grants=[
                    Grant("agent-pool-network-reader", "Reader", args.devops_infrastructure_object_id, network_id),
                    Grant(
                        "agent-pool-network-contributor",
                        "Network Contributor",
                        args.devops_infrastructure_object_id,
                        network_id,
                    ),
                ],
            ),
            opts=child,
        )
        pool = devopsinfrastructure.Pool(
            f"{name}-pool",
            pool_name=args.names.pool,
            **args.placement,
            dev_center_project_resource_id=project.id,
            maximum_concurrency=args.maximum_concurrency,
            # A fresh machine for every job: nothing one pipeline leaves behind (files, credentials, a logged-in az
            # session) reaches the next.
            agent_profile=devopsinfrastructure.StatelessAgentProfileArgs(kind="Stateless"),
            fabric_profile=devopsinfrastructure.VmssFabricProfileArgs(
                kind="Vmss",
                sku=devopsinfrastructure.DevOpsAzureSkuArgs(name=args.vm_size),
                images=[devopsinfrastructure.PoolImageArgs(well_known_image_name=args.image)],
                network_profile=devopsinfrastructure.NetworkProfileArgs(subnet_id=args.subnet_id),
            ),
            organization_profile=devopsinfrastructure.AzureDevOpsOrganizationProfileArgs(
                kind="AzureDevOps",
                organizations=[
                    devopsinfrastructure.OrganizationArgs(
                        url=args.organization_url,
                        projects=list(args.projects),
                        parallelism=args.maximum_concurrency,
                        open_access=False,
                    )
                ],
                permission_profile=devopsinfrastructure.AzureDevOpsPermissionProfileArgs(
                    kind=devopsinfrastructure.AzureDevOpsPermissionType.INHERIT
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[access]),
        )
        self.pool_name = pool.name
        self.pool_id = pool.id
        self.register_outputs({"poolName": self.pool_name, "poolId": self.pool_id})


def pipelines_pool_name(config: EstateConfig) -> str | None:
    """The pool the committed YAML names: an existing organisation pool, the stack's Managed DevOps Pool, or none
    (Microsoft-hosted agents)."""
    if config.managed_agent_pool is not None:
        return PoolNames(config.name_prefix, config.environment).pool
    return config.agent_pool


class PendingAgentPool:
    """The estate's Managed DevOps Pool, where config asks for one, in two steps: the pool lists the Azure DevOps
    project (the service creates its queue there, so the project comes first) and the project's queue lookup waits
    for the pool. `name` is the pool's name as the created pool reports it, handed to the DevOps side before the pool
    exists (a deferred output, resolved by `build`)."""

    def __init__(self, config: EstateConfig, tags: dict[str, str]) -> None:
        self.config, self.tags = config, tags
        self.name: pulumi.Output[str] | None = None
        self._resolve: Callable[[pulumi.Output[str]], None] | None = None
        if config.managed_agent_pool is not None:
            self.name, self._resolve = pulumi.deferred_output()

    def build(
        self,
        name: str,
        *,
        resource_group_name: pulumi.Input[str],
        subnet_id: pulumi.Input[str],
        assigner: Assigner,
        devops: DevOps,
        parent: pulumi.Resource,
    ) -> ManagedAgentPool | None:
        config, settings = self.config, self.config.managed_agent_pool
        if settings is None or self._resolve is None:
            return None
        pool = ManagedAgentPool(
            name,
            ManagedAgentPoolArgs(
                placement=Placement(resource_group_name=resource_group_name, location=config.location, tags=self.tags),
                names=PoolNames(config.name_prefix, config.environment),
                subnet_id=subnet_id,
                devops_infrastructure_object_id=settings.devops_infrastructure_object_id,
                assigner=assigner,
                organization_url=f"https://dev.azure.com/{config.devops_organization}",
                projects=[devops.project_name, *([settings.iac_project] if settings.iac_project else [])],
                maximum_concurrency=settings.maximum_concurrency,
                vm_size=settings.vm_size,
                image=settings.image,
            ),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        self._resolve(pool.pool_name)
        if settings.iac_project:
            ProjectQueueAuthorizations(
                f"{name}-iac-queue",
                ProjectQueueAuthorizationsArgs(
                    project_name=settings.iac_project,
                    pool_name=pool.pool_name,
                    definition_names=[definition for definition, _ in iac_names.PIPELINES.values()],
                ),
                opts=pulumi.ResourceOptions(parent=parent),
            )
        return pool
