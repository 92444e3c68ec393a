"""Small queries over a capture that several test modules share."""

from __future__ import annotations

from typing import Any

from tools.capture import Capture, Registration

CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
REGISTRY = "azure-native:containerregistry:Registry"
VAULT = "azure-native:keyvault:Vault"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"


def only(capture: Capture, token: str, *, named: str | None = None) -> Registration:
    matches = [r for r in capture.of_type(token) if named is None or named in r.name]
    assert len(matches) == 1, f"expected one {token} matching {named!r}, found {[r.name for r in matches]}"
    return matches[0]


def cluster(capture: Capture, stage: str) -> Registration:
    return only(capture, CLUSTER, named=f"cluster-{stage}")


def registry(capture: Capture, role: str) -> Registration:
    return only(capture, REGISTRY, named=f"registry-{role}-")


def pool(cluster_registration: Registration, name: str) -> dict[str, Any]:
    pools = {p["name"]: p for p in cluster_registration.inputs["agentPoolProfiles"]}
    return dict(pools[name])


def user_pool(capture: Capture, stage: str) -> Registration:
    """The stage's user pool: a separate AgentPool attached to that stage's cluster."""
    return only(capture, AGENT_POOL, named=f"cluster-{stage}-pool-user")


def role_assignments(capture: Capture) -> list[dict[str, Any]]:
    return [r.inputs for r in capture.of_type(ROLE_ASSIGNMENT)]


def role_id(role_guid: str) -> str:
    return f"/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"
