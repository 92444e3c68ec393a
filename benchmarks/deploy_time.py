"""How long a from-empty `pulumi up` of the estate would take, estimated from the inventory's dependency graph.

    python -m benchmarks.deploy_time [--inventory PATH] [--services N]

The engine starts creating a resource as soon as every resource in its `dependencies` exists, with unbounded
parallelism by default (`pulumi up --parallel` defaults to unbounded), so a from-empty update takes as long as the
longest path through the dependency graph, each custom resource weighted by its typical create duration
(`CREATE_SECONDS`). Parent edges are not edges: a child does not wait for its component, and a component resource
costs nothing. A resource also waits for its explicit provider, which the capture lists among its `dependencies`.

Also checked: dependencies that would lengthen the path for no reason (the two clusters or the two registries
waiting on each other, Azure DevOps objects that have no use for a cluster waiting on one) and in-cluster objects
that do not wait on any cluster (the estimate would then be too short, and `pulumi destroy` would order them wrong).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from policy.inventory import Registered

RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
REGISTRY = "azure-native:containerregistry:Registry"
KUBERNETES_CONNECTION = "azuredevops:index/serviceEndpointKubernetes:ServiceEndpointKubernetes"
ENVIRONMENT_RESOURCE = "azuredevops:index/environmentResourceKubernetes:EnvironmentResourceKubernetes"
DEVOPS_PREFIX = "azuredevops:"
KUBERNETES_PREFIX = "kubernetes:"
KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"

# Typical seconds from "creating" to "created" as `pulumi up` reports them, per type token. Sources are Microsoft
# documentation or durations widely reported in public deployment logs; "estimate" marks a figure no source pinned
# down. A resource's duration is what the provider waits for, not when the thing is fully usable: e.g. a role
# assignment is created in seconds but takes effect later.
CREATE_SECONDS: dict[str, float] = {
    # ~3 s in Terraform apply logs ("azurerm_resource_group... Creation complete after 3s", agones-dev/agones#2165).
    RESOURCE_GROUP: 5.0,
    # Microsoft's AKS quickstarts: "It takes a few minutes to create the AKS cluster"; Pulumi's AKS tutorial: "after
    # 3-4 minutes"; kubedex.com measured 12-18 min in 2018-19 against AKS's own 5-6 min claim. Two pools across
    # three zones plus three add-ons (as here) sit in the usual 5-10 min: 8 min.
    CLUSTER: 480.0,
    # estimate, ~1 min for any SKU (Premium with zone redundancy at the slow end); no published figure found.
    REGISTRY: 60.0,
    # estimate, ~30 s; Terraform's provider additionally waits for the vault's DNS name, which users report as up to
    # 3 min (hashicorp/terraform-provider-azurerm#21447, Azure/terraform-azurerm-avm-res-keyvault-vault#79).
    "azure-native:keyvault:Vault": 30.0,
    "azure-native:keyvault:Secret": 3.0,  # estimate: one ARM PUT on an existing vault.
    "azure-native:operationalinsights:Workspace": 30.0,  # estimate
    "azure-native:applicationinsights:Component": 15.0,  # estimate
    "azure-native:monitor:DataCollectionRule": 5.0,  # estimate
    "azure-native:monitor:DataCollectionRuleAssociation": 5.0,  # estimate
    "azure-native:monitor:DiagnosticSetting": 5.0,  # estimate
    "azure-native:managedidentity:UserAssignedIdentity": 10.0,  # estimate
    "azure-native:managedidentity:FederatedIdentityCredential": 5.0,  # estimate; the stack creates them one by one.
    # ~10 s for the PUT (estimate). Propagation, "up to 10 minutes" for a change to take effect per Microsoft's Azure
    # RBAC troubleshooting page (30 min when ARM caches), is not on `pulumi up`'s clock: nothing in the stack uses a
    # grant while the update runs; the first pipeline run does.
    "azure-native:authorization:RoleAssignment": 10.0,
    # estimate: a new node pool provisions its scale set and joins its nodes, "a few minutes" in AKS' node-pool docs.
    AGENT_POOL: 300.0,
    "azure-native:monitor:ActionGroup": 10.0,  # estimate
    "azure-native:monitor:MetricAlert": 10.0,  # estimate
    "azure-native:monitor:ScheduledQueryRule": 10.0,  # estimate
    "azure-native:monitor:ActivityLogAlert": 10.0,  # estimate
    "azure-native:consumption:Budget": 5.0,  # estimate
    "azure-native:security:Pricing": 10.0,  # estimate
    "azure-native:security:SecurityConnector": 30.0,  # estimate
    # Project creation is a queued operation the client polls until done (microsoft/azure-devops-python-api#352);
    # estimate 20 s.
    "azuredevops:index/project:Project": 20.0,
    # estimate: a long-running ARM operation that AKS completes by creating the namespace in the cluster (~30 s).
    "azure-native:containerservice:ManagedNamespace": 30.0,
    # The private estate's network (all estimates: single ARM PUTs that complete in seconds, except where noted).
    "azure-native:network:PublicIPAddress": 5.0,
    "azure-native:network:NatGateway": 20.0,
    "azure-native:network:NetworkSecurityGroup": 5.0,
    "azure-native:network:VirtualNetwork": 10.0,
    # A private endpoint provisions a NIC in the subnet and the service's connection (estimate: ~1 min).
    "azure-native:network:PrivateEndpoint": 60.0,
    "azure-native:network:PrivateDnsZoneGroup": 10.0,
    "azure-native:privatedns:PrivateZone": 30.0,  # estimate: a global resource
    "azure-native:privatedns:VirtualNetworkLink": 30.0,  # estimate
    "azure-native:monitor:DataCollectionEndpoint": 5.0,  # estimate
    "azure-native:monitor:PrivateLinkScope": 10.0,  # estimate
    "azure-native:monitor:PrivateLinkScopedResource": 10.0,  # estimate
    "azure-native:devcenter:DevCenter": 60.0,  # estimate
    "azure-native:devcenter:Project": 30.0,  # estimate
    # Managed DevOps Pools provisions its fabric and registers the organisation pool: estimate ~5 min.
    "azure-native:devopsinfrastructure:Pool": 300.0,
    # The fork waits for the parent's refs to be copied (terraform-provider-azuredevops resource_git_repository.go,
    # waitForBranch); estimate 10 s for the starter's few dozen files.
    "azuredevops:index/git:Git": 10.0,
}
# Fallbacks by token prefix for types without an entry above, so a new resource type still gets a sensible weight.
PREFIX_SECONDS: dict[str, float] = {
    DEVOPS_PREFIX: 2.0,  # Azure DevOps objects: one REST call each, ~1-2 s (estimate).
    KUBERNETES_PREFIX: 1.0,  # an object in a running cluster: one API-server call (estimate).
    "pulumi:providers:": 0.0,  # a provider is configured inside the engine, no cloud call.
}
# Anything else: reported as unknown so the table gets an entry rather than silently weighing nothing.
UNKNOWN_SECONDS = 30.0


class Resource(Registered, Protocol):
    """What the estimate reads from a registration; `tools.capture.Registration` and `Node` both fit."""

    @property
    def dependencies(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class Node:
    urn: str
    type: str
    name: str
    custom: bool
    dependencies: tuple[str, ...]

    @staticmethod
    def from_json(entry: dict[str, Any]) -> Node:
        return Node(
            urn=str(entry["urn"]),
            type=str(entry["type"]),
            name=str(entry["name"]),
            custom=bool(entry["custom"]),
            dependencies=tuple(str(urn) for urn in entry["dependencies"]),
        )

    def as_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "dependencies": list(self.dependencies)}


def create_seconds(token: str) -> float:
    if token in CREATE_SECONDS:
        return CREATE_SECONDS[token]
    for prefix, seconds in PREFIX_SECONDS.items():
        if token.startswith(prefix):
            return seconds
    return UNKNOWN_SECONDS


def is_known(token: str) -> bool:
    return token in CREATE_SECONDS or any(token.startswith(prefix) for prefix in PREFIX_SECONDS)


class Graph:
    """The inventory as a DAG: an edge from each resource to every resource in its `dependencies`."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self.resources: dict[str, Resource] = {}
        for resource in resources:
            if resource.urn in self.resources:
                raise ValueError(f"{resource.urn} appears twice in the inventory")
            self.resources[resource.urn] = resource
        for resource in self.resources.values():
            unknown = [urn for urn in resource.dependencies if urn not in self.resources]
            if unknown:
                raise ValueError(f"{resource.urn} depends on {unknown}, which the inventory does not hold")
        self.order = self._topological_order()
        self._ancestors: dict[str, frozenset[str]] = {}
        for urn in self.order:
            below: set[str] = set()
            for dependency in self.resources[urn].dependencies:
                below.add(dependency)
                below |= self._ancestors[dependency]
            self._ancestors[urn] = frozenset(below)

    def _topological_order(self) -> list[str]:
        """Dependencies first; ties in URN order so two runs print the same path."""
        waiting = {urn: len(set(resource.dependencies)) for urn, resource in self.resources.items()}
        dependents: dict[str, list[str]] = {urn: [] for urn in self.resources}
        for urn, resource in self.resources.items():
            for dependency in set(resource.dependencies):
                dependents[dependency].append(urn)
        ready = deque(sorted(urn for urn, count in waiting.items() if count == 0))
        order: list[str] = []
        while ready:
            urn = ready.popleft()
            order.append(urn)
            for dependent in sorted(dependents[urn]):
                waiting[dependent] -= 1
                if waiting[dependent] == 0:
                    ready.append(dependent)
        if len(order) != len(self.resources):
            raise ValueError(f"dependency cycle among {sorted(set(self.resources) - set(order))}")
        return order

    def cost(self, urn: str) -> float:
        resource = self.resources[urn]
        return create_seconds(resource.type) if resource.custom else 0.0

    def depends_on(self, urn: str, other: str) -> bool:
        """Whether `urn` waits, directly or transitively, for `other`."""
        return other in self._ancestors[urn]

    def of_type(self, token: str) -> list[str]:
        return sorted(urn for urn, resource in self.resources.items() if resource.type == token)

    def path(self, source: str, target: str) -> tuple[str, ...]:
        """One shortest chain of dependencies from `source` down to `target`; empty if there is none."""
        previous: dict[str, str] = {}
        queue = deque([source])
        while queue:
            urn = queue.popleft()
            if urn == target:
                chain = [urn]
                while chain[-1] != source:
                    chain.append(previous[chain[-1]])
                return tuple(reversed(chain))
            for dependency in sorted(self.resources[urn].dependencies):
                if dependency not in previous and dependency != source:
                    previous[dependency] = urn
                    queue.append(dependency)
        return ()


@dataclass(frozen=True)
class Chain:
    """Resources that must be created one after the other, first to last, and how long that takes."""

    seconds: float
    urns: tuple[str, ...]


def longest_path(graph: Graph, weight: Callable[[str], float]) -> Chain:
    """The heaviest dependency chain, each resource weighing `weight(urn)`: the finish time with unbounded
    parallelism."""
    finish: dict[str, float] = {}
    waits_for: dict[str, str | None] = {}
    for urn in graph.order:
        dependencies = graph.resources[urn].dependencies
        last = max(dependencies, key=lambda dependency: (finish[dependency], dependency)) if dependencies else None
        finish[urn] = (finish[last] if last is not None else 0.0) + weight(urn)
        waits_for[urn] = last
    if not finish:
        return Chain(0.0, ())
    end: str | None = max(finish, key=lambda urn: (finish[urn], urn))
    chain: list[str] = []
    while end is not None:
        chain.append(end)
        end = waits_for[end]
    return Chain(finish[chain[0]], tuple(reversed(chain)))


def critical_path(graph: Graph) -> Chain:
    return longest_path(graph, graph.cost)


def serial_seconds(graph: Graph) -> float:
    """How long creating everything one at a time would take (`pulumi up --parallel 1`)."""
    return sum(graph.cost(urn) for urn in graph.resources)


def unavoidable_chain(graph: Graph) -> Chain:
    """The steps no dependency layout can overlap: resource group, then a cluster, then the slower of its separate node
    pool and the objects inside it (in their own order) with the environment resource that points at them; whichever
    of these the inventory holds."""

    def slowest(token: str) -> list[str]:
        urns = graph.of_type(token)
        return [max(urns, key=lambda urn: (graph.cost(urn), urn))] if urns else []

    def in_cluster_weight(urn: str) -> float:
        return graph.cost(urn) if graph.resources[urn].type.startswith(KUBERNETES_PREFIX) else 0.0

    in_cluster = longest_path(graph, in_cluster_weight)
    inside = [*(urn for urn in in_cluster.urns if in_cluster_weight(urn) > 0), *slowest(ENVIRONMENT_RESOURCE)]
    # A node pool of its own is created into a running cluster too: after the cluster, whichever takes longer.
    pool = slowest(AGENT_POOL)
    after_cluster = pool if sum(map(graph.cost, pool)) > sum(map(graph.cost, inside)) else inside
    urns = [*slowest(RESOURCE_GROUP), *slowest(CLUSTER), *after_cluster]
    return Chain(sum(graph.cost(urn) for urn in urns), tuple(urns))


@dataclass(frozen=True)
class Violation:
    rule: str
    # From the resource that waits down to the one it should not wait for (or, for a missing dependency, just it).
    path: tuple[str, ...]


def _cluster_bound(token: str) -> bool:
    """Resources that cannot exist without a running cluster."""
    return token.startswith(KUBERNETES_PREFIX) or token in (
        KUBERNETES_PROVIDER,
        KUBERNETES_CONNECTION,
        ENVIRONMENT_RESOURCE,
    )


def _needs_cluster(graph: Graph, urn: str) -> bool:
    """A cluster-bound object, or an Azure DevOps object about one (a check or authorization on a Kubernetes
    connection references it directly)."""
    resource = graph.resources[urn]
    return _cluster_bound(resource.type) or any(
        _cluster_bound(graph.resources[dependency].type) for dependency in resource.dependencies
    )


def dependency_violations(graph: Graph) -> list[Violation]:
    violations: list[Violation] = []
    for token, rule in (
        (CLUSTER, "the clusters must not wait on each other"),
        (REGISTRY, "the registries must not wait on each other"),
    ):
        peers = graph.of_type(token)
        violations.extend(
            Violation(rule, graph.path(urn, other))
            for urn in peers
            for other in peers
            if urn != other and graph.depends_on(urn, other)
        )
    clusters = graph.of_type(CLUSTER)
    for urn in sorted(graph.resources):
        token = graph.resources[urn].type
        waited = [cluster for cluster in clusters if graph.depends_on(urn, cluster)]
        if token.startswith(DEVOPS_PREFIX) and waited and not _needs_cluster(graph, urn):
            violations.append(
                Violation("an Azure DevOps object with no use for a cluster waits on one", graph.path(urn, waited[0]))
            )
        if clusters and _cluster_bound(token) and not waited:
            violations.append(Violation("a cluster-bound resource does not wait on any cluster", (urn,)))
    return violations


@dataclass(frozen=True)
class Estimate:
    critical_path: Chain
    serial_seconds: float
    unavoidable: Chain
    violations: tuple[Violation, ...]
    # Types priced at UNKNOWN_SECONDS: add them to CREATE_SECONDS.
    unknown_types: tuple[str, ...]

    @property
    def ratio(self) -> float:
        """Critical path over unavoidable chain: 1.0 means nothing but the unavoidable steps sets the pace."""
        return self.critical_path.seconds / self.unavoidable.seconds if self.unavoidable.seconds else float("inf")


def estimate(resources: Iterable[Resource]) -> tuple[Graph, Estimate]:
    graph = Graph(resources)
    unknown = sorted({r.type for r in graph.resources.values() if r.custom and not is_known(r.type)})
    return graph, Estimate(
        critical_path=critical_path(graph),
        serial_seconds=serial_seconds(graph),
        unavoidable=unavoidable_chain(graph),
        violations=tuple(dependency_violations(graph)),
        unknown_types=tuple(unknown),
    )


def minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}m{whole % 60:02d}s"


def _describe(graph: Graph, urn: str) -> str:
    resource = graph.resources[urn]
    return f"{resource.type} {resource.name}"


def report(graph: Graph, result: Estimate) -> str:
    lines = [
        f"critical path (from-empty `pulumi up`, unbounded parallelism): {minutes(result.critical_path.seconds)}",
        f"serial sum (--parallel 1): {minutes(result.serial_seconds)}",
        "critical path, first to last (own duration, finished at):",
    ]
    finished = 0.0
    for urn in result.critical_path.urns:
        finished += graph.cost(urn)
        lines.append(f"  {graph.cost(urn):6.0f} s  {minutes(finished):>7}  {_describe(graph, urn)}")
    lines.append(f"unavoidable chain: {minutes(result.unavoidable.seconds)}")
    lines.extend(f"  {graph.cost(urn):6.0f} s  {_describe(graph, urn)}" for urn in result.unavoidable.urns)
    lines.append(f"critical path / unavoidable chain: {result.ratio:.2f}")
    if result.unknown_types:
        lines.append(f"types with no duration entry (priced at {UNKNOWN_SECONDS:.0f} s): {list(result.unknown_types)}")
    lines.append(f"dependency violations: {len(result.violations)}")
    for violation in result.violations:
        lines.append(f"  {violation.rule}:")
        lines.extend(f"    {'-> ' if index else ''}{_describe(graph, urn)}" for index, urn in enumerate(violation.path))
    return "\n".join(lines)


def load_inventory(path: Path) -> list[Node]:
    """An inventory written by `benchmarks.measure` or the offline preview's resources.json."""
    return [Node.from_json(entry) for entry in json.loads(path.read_text())]


def main(argv: list[str] | None = None) -> int:
    # Imported at call time: `measure` imports this module (for Node), and the estimate itself needs no Pulumi.
    from benchmarks import measure  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m benchmarks.deploy_time", description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", type=Path, help="inventory JSON (default: capture the prod stack now)")
    parser.add_argument("--services", type=int, help="capture the prod stack with this many generated services")
    args = parser.parse_args(argv)
    if args.inventory:
        nodes = load_inventory(args.inventory)
    else:
        nodes = measure.measure_in_subprocess(measure.Kind.ESTATE, args.services, keep_inventory=True).inventory
    graph, result = estimate(nodes)
    print(report(graph, result))
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main())
