"""The "Cost overview" section of summary.md: what the stack pays for by the hour, read from the inventory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
REGISTRY = "azure-native:containerregistry:Registry"
BUDGET = "azure-native:consumption:Budget"


def _pool_row(cluster: str, pool: Mapping[str, Any]) -> str:
    zones = ", ".join(pool.get("availabilityZones") or []) or "none"
    name = pool.get("name") or pool.get("agentPoolName")
    return (
        f"| `{cluster}` | `{name}` ({pool.get('mode')}) | `{pool.get('vmSize')}` | "
        f"{pool.get('minCount')}-{pool.get('maxCount')} | {zones} |"
    )


def render(resources: Sequence[Mapping[str, Any]]) -> str:
    def of(token: str) -> list[Mapping[str, Any]]:
        return [r["inputs"] for r in resources if r.get("type") == token]

    clusters = of(CLUSTER)
    lines = [
        "## Cost overview",
        "",
        "Node pools (the autoscaler moves each between its minimum and maximum node count):",
        "",
        "| Cluster | Pool | VM size | Nodes | Zones |",
        "| --- | --- | --- | --- | --- |",
    ]
    for cluster in clusters:
        name = cluster.get("resourceName")
        lines.extend(_pool_row(str(name), pool) for pool in cluster.get("agentPoolProfiles") or [])
        lines.extend(_pool_row(str(name), pool) for pool in of(AGENT_POOL) if pool.get("resourceName") == name)
    lines += ["", "| Cluster | Control plane tier |", "| --- | --- |"]
    lines += [f"| `{c.get('resourceName')}` | {(c.get('sku') or {}).get('tier')} |" for c in clusters]
    lines += ["", "| Registry | SKU |", "| --- | --- |"]
    lines += [f"| `{r.get('registryName')}` | {(r.get('sku') or {}).get('name')} |" for r in of(REGISTRY)]
    budgets = of(BUDGET)
    if budgets:
        lines += [
            "",
            *(f"Monthly budget `{b.get('budgetName')}`: {b.get('amount')} (billing currency)." for b in budgets),
        ]
    return "\n".join(lines) + "\n"
