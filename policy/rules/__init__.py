"""Every policy of the pack, in the order `pulumi preview` lists them."""

from __future__ import annotations

from typing import Any

from . import bootstrap, clusters, devops, identity, monitoring, pool, registries, vault

# Estate rules the bootstrap breaks by design (policy/rules/bootstrap.py says why and what replaces them).
ESTATE_ONLY = {
    "azure-environment-tag",
    "role-assignment-no-privileged-roles",
    "role-assignment-resource-scope",
    "diagnostics-on-monitored-resources",
    "devops-production-environment-checks",
    "devops-min-reviewers",
}
POLICIES: list[Any] = [
    *(
        bootstrap.estate_only(policy) if policy.name in ESTATE_ONLY else policy
        for area in (clusters, registries, vault, identity, monitoring, pool)
        for policy in area.POLICIES
    ),
    *(bootstrap.estate_only(policy) if policy.name in ESTATE_ONLY else policy for policy in devops.POLICIES),
    *bootstrap.POLICIES,
]
