"""The Managed DevOps Pool rules (policy/rules/pool.py), each broken on the prod estate's pool: a pool outside the
estate network, on another subnet, stateful, or open to every pipeline or project."""

from __future__ import annotations

import dataclasses

import pytest

from policy.rules import pool
from tests.helpers import drop, inputs, put
from tests.test_policy import BY_NAME, STACK_POLICIES, Break, _apply, without_dependency_on
from tools.capture import Capture, Registration

POOL_NAME = "agents-pool"
OTHER_SUBNET = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-contoso-prod/providers/"
    "Microsoft.Network/virtualNetworks/vnet-contoso-prod/subnets/snet-private-endpoints"
)
BREAKS = (
    Break(
        "agent-pool-in-estate-network",
        pool.POOL,
        POOL_NAME,
        inputs(drop("fabricProfile.networkProfile")),
        "on Microsoft's network",
        prod_only=True,
    ),
    Break(
        "agent-pool-in-estate-network",
        pool.POOL,
        POOL_NAME,
        without_dependency_on(pool.VIRTUAL_NETWORK),
        "a subnet typed in by hand",
        prod_only=True,
    ),
    Break(
        "agent-pool-in-estate-network",
        pool.POOL,
        POOL_NAME,
        inputs(put("fabricProfile.networkProfile.subnetId", OTHER_SUBNET)),
        "the private endpoints' subnet",
        prod_only=True,
    ),
    Break("agent-pool-stateless", pool.POOL, POOL_NAME, inputs(put("agentProfile.kind", "Stateful")), "stateful"),
    Break(
        "agent-pool-authorized-pipelines-only",
        pool.POOL,
        POOL_NAME,
        inputs(put("organizationProfile.organizations.0.openAccess", True)),
        "open access",
    ),
    Break(
        "agent-pool-authorized-pipelines-only",
        pool.POOL,
        POOL_NAME,
        inputs(put("organizationProfile.organizations.0.projects", [])),
        "every project",
    ),
)
BROKEN_RULES = {case.policy for case in BREAKS}


@pytest.fixture(scope="module")
def estates(dev: Capture, prod: Capture) -> dict[str, list[Registration]]:
    return {capture.stack: capture.resources for capture in (dev, prod)}


@pytest.mark.parametrize("case", BREAKS, ids=lambda case: f"{case.policy}[{case.why}]")
def test_a_broken_pool_fails_the_rule_made_for_it(estates: dict[str, list[Registration]], case: Break) -> None:
    target, violations = _apply(case, estates[case.stack])
    named = [v for v in violations if v.policy == case.policy]
    assert named, f"{case.policy} let {case.why} through"
    assert all(v.urn == target.urn for v in named)


def test_dev_may_run_its_pool_outside_the_network(estates: dict[str, list[Registration]]) -> None:
    # The dev stack has no pool today: plant the prod pool, tagged dev, off the network.
    (prod_pool,) = [r for r in estates["prod"] if r.type == pool.POOL]
    dev_pool = dataclasses.replace(
        prod_pool, inputs={**prod_pool.inputs, "tags": {**prod_pool.inputs["tags"], "environment": "dev"}}
    )
    case = dataclasses.replace(BREAKS[0], stack="dev")
    _, violations = _apply(case, [*estates["dev"], dev_pool])
    assert BY_NAME[case.policy] in STACK_POLICIES
    assert [v for v in violations if v.policy == case.policy] == []
