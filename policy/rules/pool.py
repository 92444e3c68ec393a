"""Managed DevOps Pool rules: the agents run inside the estate network, fresh for every job, and open to no pipeline
the stack did not authorize.

Where the pool's settings are defined: docs/managed-devops-pools/configure-networking.md (subnetId of a subnet
delegated to Microsoft.DevOpsInfrastructure/pools), configure-scaling.md ("Stateless" agents: a new agent for each
job), configure-security.md (`openAccess` opens the pool to every pipeline of a project; an empty `projects` list
adds it to every project of the organisation) in MicrosoftDocs/azure-devops-docs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pulumi_policy import Severity
from pulumi_policy.proxy import UnknownValueError

from .common import About, Props, depends_on, is_prod, items, lookup, resource_rule, stack_rule
from .sources import architecture

POOL = "azure-native:devopsinfrastructure:Pool"
VIRTUAL_NETWORK = "azure-native:network:VirtualNetwork"
POOL_DELEGATION = "Microsoft.DevOpsInfrastructure/pools"


def _delegated_subnets(network: Any) -> set[str]:
    """The names of the network's subnets delegated to Managed DevOps Pools."""
    return {
        str(subnet.get("name"))
        for subnet in items(network.props.get("subnets"))
        if any(lookup(d, "serviceName") == POOL_DELEGATION for d in items(lookup(subnet, "delegations")))
    }


def _subnet_name(props: Props) -> str | None:
    """The subnet the pool's agents join; "" where only `pulumi up` learns it (the network's ID is computed)."""
    try:
        subnet_id = lookup(props, "fabricProfile.networkProfile.subnetId")
    except UnknownValueError:
        return ""
    if not isinstance(subnet_id, str) or not subnet_id:
        return None
    _, found, name = subnet_id.partition("/subnets/")
    return name if found else None


def _pools_in_the_estate_network(resources: Sequence[Any]) -> Iterable[tuple[str, str | None]]:
    networks = [r for r in resources if r.resource_type == VIRTUAL_NETWORK]
    for pool in (r for r in resources if r.resource_type == POOL and is_prod(r.props)):
        subnet = _subnet_name(pool.props)
        if subnet is None:
            yield f"{pool.name}: fabricProfile.networkProfile.subnetId must name an estate network subnet", pool.urn
            continue
        # The subnet ID flows from the estate's network (components/network.py agent_subnet_id), which records the
        # dependency; an ID typed in by hand, or another network's, has none.
        homes = [n for n in networks if depends_on(pool, n)]
        if not homes:
            yield f"{pool.name}: its subnet is not one of the stack's virtual networks", pool.urn
        elif subnet and not any(subnet in _delegated_subnets(network) for network in homes):
            yield (
                f"{pool.name}: subnet {subnet!r} is not the estate network's subnet delegated to {POOL_DELEGATION}",
                pool.urn,
            )


def _stateless(props: Props) -> Iterable[str]:
    kind = lookup(props, "agentProfile.kind")
    if kind != "Stateless":
        yield f'agentProfile.kind must be "Stateless" (a fresh agent for every job), got {kind!r}'


def _authorized_projects_only(props: Props) -> Iterable[str]:
    organizations = items(lookup(props, "organizationProfile.organizations"))
    if not organizations:
        yield "organizationProfile.organizations must name the Azure DevOps organisation and its projects"
    for index, organization in enumerate(organizations):
        if lookup(organization, "openAccess") is True:
            yield f"organizationProfile.organizations[{index}].openAccess must not be true (open to every pipeline)"
        # The length, not the entries: a project's name may be known only once the project exists.
        projects = lookup(organization, "projects")
        if not isinstance(projects, Sequence) or isinstance(projects, str) or len(projects) == 0:
            yield f"organizationProfile.organizations[{index}].projects must list the projects (empty means all)"


MDP_NETWORKING = "https://learn.microsoft.com/azure/devops/managed-devops-pools/configure-networking"
MDP_AGENTS = "https://learn.microsoft.com/azure/devops/managed-devops-pools/configure-pool-settings"
MDP_SECURITY = "https://learn.microsoft.com/azure/devops/managed-devops-pools/configure-security"

POLICIES: list[Any] = [
    stack_rule(
        "agent-pool-in-estate-network",
        "On prod, the Managed DevOps Pool runs its agents in the estate network's subnet delegated to "
        "Microsoft.DevOpsInfrastructure/pools (fabricProfile.networkProfile.subnetId), where the private endpoints "
        "and private API servers are reachable.",
        _pools_in_the_estate_network,
        About(
            architecture(MDP_NETWORKING, "agents join the virtual network that reaches the private estate"),
            Severity.HIGH,
            "Keep managedAgentPool on prod: components/devops_pool.py puts the pool in the network's agents subnet.",
        ),
    ),
    resource_rule(
        "agent-pool-stateless",
        "Managed DevOps Pool agents are stateless (agentProfile.kind Stateless): nothing one job leaves on an agent "
        "reaches the next.",
        POOL,
        _stateless,
        About(
            architecture(MDP_AGENTS, "stateless agents: a fresh agent for every job"),
            Severity.MEDIUM,
            "Keep agentProfile Stateless in components/devops_pool.py.",
        ),
    ),
    resource_rule(
        "agent-pool-authorized-pipelines-only",
        "A Managed DevOps Pool serves only the listed projects (organizations[].projects) with open access off, so "
        "only the pipelines the stack authorizes on its queue run there.",
        POOL,
        _authorized_projects_only,
        About(
            architecture(MDP_SECURITY, "the pool serves listed projects only, without open access"),
            Severity.HIGH,
            "Keep the organisation profile of components/devops_pool.py: the estate's project (and iacProject), "
            "openAccess false.",
        ),
    ),
]
