"""The pure parts of the benchmarks: the deployment-time estimate on hand-made graphs, the dependency checks and the
services-config generator; plus the real inventory's clusters and registries being independent. Nothing is timed."""

from __future__ import annotations

import json
import re

import pytest

from benchmarks import deploy_time, run
from benchmarks.deploy_time import (
    CLUSTER,
    ENVIRONMENT_RESOURCE,
    KUBERNETES_CONNECTION,
    KUBERNETES_PROVIDER,
    REGISTRY,
    RESOURCE_GROUP,
    Chain,
    Graph,
    Node,
)
from benchmarks.measure import SERVICES_KEY, services_config, with_services
from benchmarks.scale_check import ScaleCheck
from components import naming
from tests.helpers import PIPELINE_AUTHORIZATION, ROLE_ASSIGNMENT, VARIABLE_GROUP
from tools.capture import Capture

COMPONENT = "test:index:Component"
NAMESPACE = "kubernetes:core/v1:Namespace"


@pytest.fixture(autouse=True)
def durations(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test tokens "test:index:S<n>" take n seconds, whatever the real table says."""
    for seconds in (1, 2, 3, 4, 5, 10):
        monkeypatch.setitem(deploy_time.CREATE_SECONDS, f"test:index:S{seconds}", float(seconds))


def node(urn: str, token: str, *dependencies: str, custom: bool = True) -> Node:
    return Node(urn=urn, type=token, name=urn, custom=custom, dependencies=dependencies)


def timed(urn: str, seconds: int, *dependencies: str) -> Node:
    return node(urn, f"test:index:S{seconds}", *dependencies)


def test_a_diamond_takes_its_slower_side() -> None:
    graph = Graph(
        [
            timed("top", 1),
            timed("left", 5, "top"),
            timed("right", 2, "top"),
            timed("bottom", 1, "left", "right"),
        ]
    )

    assert deploy_time.critical_path(graph) == Chain(7.0, ("top", "left", "bottom"))
    assert deploy_time.serial_seconds(graph) == 9.0


def test_independent_branches_overlap() -> None:
    graph = Graph([timed("a", 3), timed("b", 4, "a"), timed("c", 10), timed("d", 1, "c")])

    assert deploy_time.critical_path(graph) == Chain(11.0, ("c", "d"))
    assert deploy_time.serial_seconds(graph) == 18.0


def test_components_cost_nothing_and_pass_their_wait_on() -> None:
    graph = Graph([timed("a", 4), node("component", COMPONENT, "a", custom=False), timed("b", 2, "component")])

    assert deploy_time.critical_path(graph) == Chain(6.0, ("a", "component", "b"))
    assert deploy_time.serial_seconds(graph) == 6.0


def test_an_empty_inventory_takes_no_time() -> None:
    graph = Graph([])

    assert deploy_time.critical_path(graph) == Chain(0.0, ())
    assert deploy_time.serial_seconds(graph) == 0.0


def test_cycles_and_dangling_dependencies_are_refused() -> None:
    with pytest.raises(ValueError, match="cycle"):
        Graph([timed("a", 1, "b"), timed("b", 1, "a")])
    with pytest.raises(ValueError, match="does not hold"):
        Graph([timed("a", 1, "missing")])


def test_types_without_an_entry_fall_back_by_prefix_or_are_reported() -> None:
    policy = "azuredevops:index/branchPolicyMinReviewers:BranchPolicyMinReviewers"
    _, result = deploy_time.estimate([node("policy", policy), node("odd", "other:index:Thing")])

    assert deploy_time.create_seconds(policy) == deploy_time.PREFIX_SECONDS["azuredevops:"]
    assert deploy_time.create_seconds("other:index:Thing") == deploy_time.UNKNOWN_SECONDS
    assert result.unknown_types == ("other:index:Thing",)


def _estate(*changed: Node) -> list[Node]:
    """Resource group, two clusters, two registries, and one namespace with its environment resource per cluster; each
    of `changed` replaces the node of its URN or is added."""
    nodes = [node("rg", RESOURCE_GROUP)]
    for stage in ("staging", "production"):
        nodes += [
            node(f"aks-{stage}", CLUSTER, "rg"),
            node(f"acr-{stage}", REGISTRY, "rg"),
            node(f"provider-{stage}", KUBERNETES_PROVIDER, f"aks-{stage}"),
            node(f"ns-{stage}", NAMESPACE, f"provider-{stage}"),
            node(f"connection-{stage}", KUBERNETES_CONNECTION, f"aks-{stage}", f"ns-{stage}"),
            node(f"envres-{stage}", ENVIRONMENT_RESOURCE, f"connection-{stage}", f"ns-{stage}"),
        ]
    return list(({n.urn: n for n in nodes} | {n.urn: n for n in changed}).values())


def test_the_unavoidable_chain_runs_from_resource_group_to_environment_resource() -> None:
    graph, result = deploy_time.estimate(_estate())
    cost = graph.cost

    assert [graph.resources[urn].type for urn in result.unavoidable.urns] == [
        RESOURCE_GROUP,
        CLUSTER,
        NAMESPACE,
        ENVIRONMENT_RESOURCE,
    ]
    assert result.unavoidable.seconds == cost("rg") + cost("aks-staging") + cost("ns-staging") + cost("envres-staging")
    # Nothing else here is slower than the chain; the connection sits between namespace and environment resource.
    assert result.critical_path.seconds == result.unavoidable.seconds + cost("connection-staging")
    assert result.ratio == result.critical_path.seconds / result.unavoidable.seconds


def test_a_clean_estate_has_no_dependency_violations() -> None:
    authorization = node("authorize", PIPELINE_AUTHORIZATION, "connection-staging")

    assert deploy_time.dependency_violations(Graph(_estate(authorization, node("vars", VARIABLE_GROUP)))) == []


def test_clusters_waiting_on_each_other_are_reported_with_the_chain() -> None:
    nodes = _estate(node("grant", ROLE_ASSIGNMENT, "aks-staging"), node("aks-production", CLUSTER, "rg", "grant"))

    violations = deploy_time.dependency_violations(Graph(nodes))

    assert [(v.rule, v.path) for v in violations] == [
        ("the clusters must not wait on each other", ("aks-production", "grant", "aks-staging"))
    ]


def test_registries_waiting_on_each_other_are_reported() -> None:
    nodes = _estate(node("acr-production", REGISTRY, "rg", "acr-staging"))

    violations = deploy_time.dependency_violations(Graph(nodes))

    assert [(v.rule, v.path) for v in violations] == [
        ("the registries must not wait on each other", ("acr-production", "acr-staging"))
    ]


def test_a_devops_object_with_no_use_for_a_cluster_must_not_wait_on_one() -> None:
    # A variable group reading a vault needs no cluster; a grant that happens to sit behind one drags it there.
    nodes = _estate(node("grant", ROLE_ASSIGNMENT, "aks-staging"), node("vars", VARIABLE_GROUP, "grant"))

    violations = deploy_time.dependency_violations(Graph(nodes))

    assert [(v.rule, v.path) for v in violations] == [
        ("an Azure DevOps object with no use for a cluster waits on one", ("vars", "grant", "aks-staging"))
    ]


def test_an_in_cluster_object_that_waits_on_no_cluster_is_reported() -> None:
    nodes = _estate(node("stray", NAMESPACE))

    violations = deploy_time.dependency_violations(Graph(nodes))

    assert [(v.rule, v.path) for v in violations] == [
        ("a cluster-bound resource does not wait on any cluster", ("stray",))
    ]


def test_services_config_generates_valid_distinct_names_in_order() -> None:
    services = services_config(12)

    assert [service["name"] for service in services[:2]] == ["svc-001", "svc-002"]
    assert services[-1] == {"name": "svc-012"}
    assert all(re.fullmatch(naming.SERVICE_NAME_PATTERN, service["name"]) for service in services)
    assert len({service["name"] for service in services}) == 12
    with pytest.raises(ValueError, match="at least one service"):
        services_config(0)


def test_with_services_replaces_only_the_services_key() -> None:
    config = {"aks-estate:location": "westeurope", SERVICES_KEY: json.dumps([{"name": "orders"}])}

    replaced = with_services(config, 2)

    assert replaced == {**config, SERVICES_KEY: json.dumps([{"name": "svc-001"}, {"name": "svc-002"}])}
    assert json.loads(config[SERVICES_KEY]) == [{"name": "orders"}]


def test_real_clusters_and_registries_do_not_wait_on_each_other(prod: Capture) -> None:
    graph = Graph(prod.resources)

    for token in (CLUSTER, REGISTRY):
        peers = graph.of_type(token)
        assert len(peers) == 2, peers
        first, second = peers
        assert not graph.depends_on(first, second), graph.path(first, second)
        assert not graph.depends_on(second, first), graph.path(second, first)


def test_scale_check_passes_only_on_exact_counts_and_no_changes() -> None:
    # The services' own, plus the templates and starter repositories and the templates' validation pipeline.
    good = {"repositories": 32, "pipeline definitions": 91, "namespaces": 60}
    assert ScaleCheck(30, good, []).passed
    assert not ScaleCheck(30, {**good, "namespaces": 59}, []).passed
    assert not ScaleCheck(30, good, ["urn:pulumi:prod::aks-estate::x::y"]).passed


def _verdicts(first_wall: float, first_median: float, per_service: float, custom: float) -> dict[str, bool]:
    """The targets table's pass/miss by row name, for a 1-service stack with these times and these marginal figures."""
    first = run.Size(
        services=1,
        wall_seconds=first_wall,
        median_wall_seconds=first_median,
        program_seconds=first_wall - 1,
        peak_rss_mib=200.0,
        custom=205,
        components=35,
        critical_path_seconds=0.0,
        serial_seconds=0.0,
        samples=[],
    )
    sizes = dict.fromkeys(run.SERVICE_COUNTS, first)
    derived = {
        "time_ratio_1_30": 2.0,
        "resource_ratio_1_30": 4.0,
        "seconds_per_service": per_service,
        "custom_per_service": custom,
    }
    return {row.name: row.passed for row in run.targets(sizes, derived, 1.0, None)}


def test_issue_12_judges_the_one_service_preview_by_its_median_not_its_best_run() -> None:
    preview = "issue 12: prod, 1 service: median wall time"
    assert _verdicts(3.0, 3.5, 0.1, 30)[preview] is True
    # The best run under the limit does not carry a median over it.
    verdicts = _verdicts(3.0, 3.6, 0.1, 30)
    assert verdicts[preview] is False
    assert verdicts["prod, 1 service: wall time"] is True


def test_issue_12_limits_the_cost_of_each_added_service() -> None:
    assert _verdicts(3.0, 3.0, 0.1, 30)["issue 12: each added service"] is True
    assert _verdicts(3.0, 3.0, 0.13, 30)["issue 12: each added service"] is False
    assert _verdicts(3.0, 3.0, 0.1, 31)["issue 12: provider resources per added service"] is False
