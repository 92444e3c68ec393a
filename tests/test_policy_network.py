"""The private estate's rules (policy/rules/network.py): each passes both stacks and fails on a planted mistake in
a copy of the prod inventory; the prod-only ones let the same change through on dev."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from policy import offline
from policy.rules import network
from tests.helpers import AGENT_POOL, CLUSTER, REGISTRY, VAULT
from tools.capture import Capture, Registration

RULES = {policy.name: policy for policy in network.POLICIES}
BROKEN_RULES = set(RULES)


@dataclass(frozen=True)
class Break:
    rule: str
    token: str
    named: str
    mutate: Callable[[dict[str, Any]], object]
    why: str


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(inputs: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = inputs
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        node[int(last) if isinstance(node, list) else last] = value

    return mutate


BREAKS = (
    Break(
        "keyvault-public-network-disabled", VAULT, "vault", _set("properties.publicNetworkAccess", "Enabled"), "open"
    ),
    Break("acr-public-network-disabled", REGISTRY, "registry-nonprod", _set("publicNetworkAccess", "Enabled"), "open"),
    Break("acr-dedicated-data-endpoint", REGISTRY, "registry-prod", _set("dataEndpointEnabled", False), "shared"),
    Break(
        "aks-private-api-server",
        CLUSTER,
        "cluster-production",
        lambda i: i.pop("apiServerAccessProfile", None),
        "public",
    ),
    Break(
        "aks-private-api-server",
        CLUSTER,
        "cluster-staging",
        _set("apiServerAccessProfile.enablePrivateClusterPublicFQDN", True),
        "public name",
    ),
    Break(
        "aks-encryption-at-host",
        CLUSTER,
        "cluster-production",
        _set("agentPoolProfiles.0.enableEncryptionAtHost", False),
        "system pool unencrypted",
    ),
    Break(
        "aks-encryption-at-host", AGENT_POOL, "production-pool", lambda i: i.pop("enableEncryptionAtHost", None), "user"
    ),
    Break("aks-ephemeral-os-disk", AGENT_POOL, "staging-pool", _set("osDiskType", "Managed"), "managed disk"),
    Break(
        "aks-ephemeral-os-disk", CLUSTER, "cluster-staging", _set("agentPoolProfiles.0.osDiskType", "Managed"), "system"
    ),
    Break(
        "monitor-public-ingestion-disabled",
        "azure-native:operationalinsights:Workspace",
        "workspace",
        lambda i: i.pop("publicNetworkAccessForIngestion", None),
        "public workspace ingestion",
    ),
    Break(
        "monitor-public-ingestion-disabled",
        "azure-native:applicationinsights:Component",
        "app-insights",
        _set("publicNetworkAccessForIngestion", "Enabled"),
        "public telemetry ingestion",
    ),
    Break(
        "loganalytics-local-auth-disabled",
        "azure-native:operationalinsights:Workspace",
        "workspace",
        _set("features.disableLocalAuth", False),
        "workspace keys",
    ),
    Break(
        "appinsights-local-auth-disabled",
        "azure-native:applicationinsights:Component",
        "app-insights",
        lambda i: i.pop("disableLocalAuth", None),
        "instrumentation key",
    ),
)


def _target(resources: list[Registration], case: Break) -> Registration:
    matches = [r for r in resources if r.type == case.token and case.named in r.name]
    assert len(matches) == 1, f"expected one {case.token} named *{case.named}*, found {[r.name for r in matches]}"
    return matches[0]


def _broken(resources: list[Registration], case: Break) -> list[Registration]:
    target = _target(resources, case)
    changed = copy.deepcopy(target.inputs)
    case.mutate(changed)
    return [dataclasses.replace(r, inputs=changed) if r.urn == target.urn else r for r in resources]


def _fired(resources: list[Registration], rule: str) -> list[offline.Violation]:
    return [v for v in offline.evaluate([RULES[rule]], resources) if v.policy == rule]


def test_every_rule_passes_both_stacks(estate: Capture) -> None:
    assert offline.evaluate(network.POLICIES, estate.resources) == []


def test_every_rule_has_a_broken_case() -> None:
    assert {case.rule for case in BREAKS} | {"private-endpoint-present"} == BROKEN_RULES


@pytest.mark.parametrize("case", BREAKS, ids=[f"{case.rule}[{case.why}]" for case in BREAKS])
def test_a_planted_mistake_fails_its_rule_on_prod_only(dev: Capture, prod: Capture, case: Break) -> None:
    fired = _fired(_broken(prod.resources, case), case.rule)
    assert fired, f"{case.rule} let {case.why} through"
    assert all(v.urn == _target(prod.resources, case).urn for v in fired)
    assert _fired(_broken(dev.resources, case), case.rule) == []


@pytest.mark.parametrize("named", ["registry-nonprod-registry", "registry-prod-registry", "key-vault-vault"])
def test_a_closed_service_without_its_private_endpoint_fails(prod: Capture, named: str) -> None:
    (target,) = [r for r in prod.resources if r.name.endswith(named)]
    endpoint = [r for r in prod.resources if r.type == network.PRIVATE_ENDPOINT and target.urn in r.dependencies]
    assert len(endpoint) == 1
    without = [r for r in prod.resources if r.urn != endpoint[0].urn]
    fired = _fired(without, "private-endpoint-present")
    assert [(v.urn, v.message) for v in fired] == [(target.urn, f"{target.name}: no private endpoint connects to it")]
    without_zone_group = [
        r for r in prod.resources if not (r.type == network.ZONE_GROUP and endpoint[0].urn in r.dependencies)
    ]
    fired = _fired(without_zone_group, "private-endpoint-present")
    assert [v.urn for v in fired] == [target.urn]
    assert "no DNS zone group" in fired[0].message


@pytest.mark.parametrize(
    "token", ["azure-native:operationalinsights:Workspace", "azure-native:applicationinsights:Component"]
)
def test_a_monitor_resource_outside_the_private_link_scope_fails(prod: Capture, token: str) -> None:
    (target,) = [r for r in prod.resources if r.type == token]
    without = [r for r in prod.resources if not (r.type == network.SCOPED_RESOURCE and target.urn in r.dependencies)]
    assert len(without) == len(prod.resources) - 1
    fired = _fired(without, "private-endpoint-present")
    assert [(v.urn, v.message) for v in fired] == [
        (target.urn, f"{target.name}: not in an Azure Monitor private link scope")
    ]
