"""Offline diff: what `pulumi up` would do to go from a previous inventory to the current one.

    python -m tools.offline_preview --stack S --previous DIR

compares DIR/resources.json with the run's inventory, resource by resource (by URN), and writes changes.json: a list of
`{urn, type, op, properties}` with `op` one of create, update, replace, delete and `properties` the provider-level
inputs that changed (`a.b[0].c` paths). An update of a property Azure accepts on create only, where the provider still
sends it as an update, also lists it under `azureRefuses`: `pulumi up` would fail there.

Which changes replace: none of the installed SDKs carries `replace_on_changes` (grep .venv: pulumi_azure_native,
pulumi_azuredevops, pulumi_kubernetes have none); each provider decides in its Diff from metadata compiled into its
plugin. So the rules are the table below, transcribed from the providers' sources:
- azure-native, provider/pkg/provider/diff.go (calculateDetailedDiff): every parameter of the resource's URL path
  (resourceGroupName, the resource's own name, a parent's name, an extension's scope) replaces; so does a body
  property marked ForceNew, which provider/pkg/gen/properties.go (forceNew) derives from an API spec
  `x-ms-mutability` without "update" (`location` of every tracked resource: common-types TrackedResource) and
  provider/pkg/gen/replacement.go (forceNewMap) adds by hand (AgentPool vmSize, RoleAssignment principalId, ...).
- kubernetes, pulumi-kubernetes provider/pkg/provider forceNew table: metadata.name and metadata.namespace for every
  kind; Secret type/data/stringData; RoleBinding roleRef.
- azuredevops (bridged from terraform-provider-azuredevops): `ForceNew: true` in the resource schema, e.g.
  azuredevops/internal/service/git/resource_git_repository_file.go (repository_id, file, branch).
A type missing from the table updates in place on any change: the table is what this tool knows, not the provider.
An azure-native replacement of an explicitly named resource deletes first (provider/pkg/provider/provider.go, Diff:
DeleteBeforeReplace whenever there are replaces): a "replace" here means a moment without the resource.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Op = Literal["create", "update", "replace", "delete"]
OPS: tuple[Op, ...] = ("create", "update", "replace", "delete")

_TRACKED = ("resourceGroupName", "location")
# Type token -> input paths whose change replaces the resource (`[]` stands for any array index).
REPLACE_ON_CHANGE: dict[str, tuple[str, ...]] = {
    "azure-native:resources:ResourceGroup": _TRACKED,
    "azure-native:operationalinsights:Workspace": (*_TRACKED, "workspaceName"),
    "azure-native:applicationinsights:Component": (*_TRACKED, "resourceName"),
    "azure-native:keyvault:Vault": (*_TRACKED, "vaultName"),
    "azure-native:keyvault:Secret": ("resourceGroupName", "vaultName", "secretName"),
    "azure-native:containerregistry:Registry": (*_TRACKED, "registryName"),
    "azure-native:containerservice:ManagedCluster": (
        *_TRACKED,
        "resourceName",
        "dnsPrefix",
        "fqdnSubdomain",
        "nodeResourceGroup",
        "diskEncryptionSetID",
        "linuxProfile",
        "windowsProfile",
        "networkProfile.serviceCidr",
        "networkProfile.serviceCidrs",
        "networkProfile.dnsServiceIP",
        "networkProfile.networkMode",
        "networkProfile.networkPlugin",
        "networkProfile.networkPluginMode",
        "networkProfile.podCidr",
        "networkProfile.networkDataplane",
        "networkProfile.networkPolicy",
        "networkProfile.outboundType",
    ),
    "azure-native:containerservice:AgentPool": (
        "resourceGroupName",
        "resourceName",
        "agentPoolName",
        "vmSize",
        "gpuInstanceProfile",
        "networkProfile.nodePublicIPTags",
    ),
    "azure-native:containerservice:ManagedNamespace": (*_TRACKED, "resourceName", "managedNamespaceName"),
    "azure-native:monitor:DataCollectionRule": (*_TRACKED, "dataCollectionRuleName"),
    "azure-native:monitor:DataCollectionRuleAssociation": ("resourceUri", "associationName"),
    "azure-native:monitor:DiagnosticSetting": ("resourceUri", "name"),
    "azure-native:monitor:ActionGroup": (*_TRACKED, "actionGroupName"),
    "azure-native:monitor:MetricAlert": ("resourceGroupName", "ruleName"),
    # The provider's own test program scheduledqueryrule-scopes-forcenew pins scopes as force-new.
    "azure-native:monitor:ScheduledQueryRule": ("resourceGroupName", "ruleName", "scopes"),
    "azure-native:monitor:ActivityLogAlert": ("resourceGroupName", "activityLogAlertName"),
    "azure-native:consumption:Budget": ("scope", "budgetName"),
    "azure-native:authorization:RoleAssignment": ("scope", "roleAssignmentName", "principalId"),
    "azure-native:managedidentity:UserAssignedIdentity": (*_TRACKED, "resourceName"),
    "azure-native:managedidentity:FederatedIdentityCredential": (
        "resourceGroupName",
        "resourceName",
        "federatedIdentityCredentialResourceName",
    ),
    "azure-native:security:Pricing": ("scopeId", "pricingName"),
    "azure-native:security:SecurityConnector": (*_TRACKED, "securityConnectorName"),
    "azuredevops:index/gitRepositoryFile:GitRepositoryFile": ("repositoryId", "file", "branch"),
    # resource_git_repository_branch.go: every argument is ForceNew.
    "azuredevops:index/gitRepositoryBranch:GitRepositoryBranch": (
        "repositoryId",
        "name",
        "refBranch",
        "refTag",
        "refCommitId",
    ),
    # resource_check_required_template.go / the provider docs: the project and the target force a new check.
    "azuredevops:index/checkRequiredTemplate:CheckRequiredTemplate": (
        "projectId",
        "targetResourceId",
        "targetResourceType",
    ),
    "kubernetes:core/v1:Secret": ("metadata.name", "metadata.namespace", "type", "data", "stringData"),
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": ("metadata.name", "metadata.namespace", "roleRef"),
}
_KUBERNETES_METADATA = ("metadata.name", "metadata.namespace")
# Properties the provider sends as an in-place update and Azure refuses (PropertyChangeNotAllowed and the like):
# AKS fixes a pool's machines at create (learn.microsoft.com/azure/aks/resize-node-pool), and a vault's soft-delete
# retention is fixed at create (learn.microsoft.com/azure/key-vault/general/soft-delete-overview). A pool's subnet is
# fixed too, and an existing cluster cannot become private (learn.microsoft.com/azure/aks/private-clusters,
# "Limitations": converting an existing cluster is not supported).
AZURE_REFUSES: dict[str, tuple[str, ...]] = {
    "azure-native:containerservice:ManagedCluster": (
        *(
            f"agentPoolProfiles[].{key}"
            for key in (
                "vmSize",
                "osDiskSizeGB",
                "osDiskType",
                "availabilityZones",
                "maxPods",
                "osSKU",
                "name",
                "vnetSubnetID",
            )
        ),
        "apiServerAccessProfile.enablePrivateCluster",
    ),
    "azure-native:containerservice:AgentPool": (
        "osDiskSizeGB",
        "osDiskType",
        "availabilityZones",
        "maxPods",
        "vnetSubnetID",
    ),
    "azure-native:keyvault:Vault": ("properties.softDeleteRetentionInDays",),
}


@dataclass(frozen=True)
class Change:
    urn: str
    type: str
    op: Op
    properties: tuple[str, ...]
    azure_refuses: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "urn": self.urn,
            "type": self.type,
            "op": self.op,
            "properties": list(self.properties),
        }
        if self.azure_refuses:
            document["azureRefuses"] = list(self.azure_refuses)
        return document


def changed_paths(old: Any, new: Any, path: str = "") -> Iterator[str]:
    """Every leaf path where `old` and `new` differ; an added or removed key or array element is one path."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            child = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                yield child
            else:
                yield from changed_paths(old[key], new[key], child)
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            child = f"{path}[{index}]"
            if index >= len(old) or index >= len(new):
                yield child
            else:
                yield from changed_paths(old[index], new[index], child)
    elif old != new:
        yield path


def _matches(path: str, keys: Sequence[str], *, added_parent: bool = False) -> bool:
    """`path` is one of `keys` or lies under one; with `added_parent`, also an object added or removed as a whole that
    holds one of them (a profile that did not exist before carries its refused setting with it)."""
    general = re.sub(r"\[\d+\]", "[]", path)
    return any(
        general == key
        or general.startswith((f"{key}.", f"{key}["))
        or (added_parent and key.startswith((f"{general}.", f"{general}[")))
        for key in keys
    )


def _replace_keys(token: str) -> tuple[str, ...]:
    if token.startswith("kubernetes:"):
        return REPLACE_ON_CHANGE.get(token, _KUBERNETES_METADATA)
    return REPLACE_ON_CHANGE.get(token, ())


def diff(previous: Sequence[Mapping[str, Any]], current: Sequence[Mapping[str, Any]]) -> list[Change]:
    """The changes from `previous` to `current` (inventory entries as in resources.json), custom resources only."""
    before = {entry["urn"]: entry for entry in previous if entry.get("custom")}
    after = {entry["urn"]: entry for entry in current if entry.get("custom")}
    changes: list[Change] = []
    for urn, entry in after.items():
        if urn not in before:
            changes.append(Change(urn, entry["type"], "create", tuple(sorted(entry.get("inputs", {})))))
            continue
        paths = tuple(changed_paths(before[urn].get("inputs", {}), entry.get("inputs", {})))
        if not paths:
            continue
        token = entry["type"]
        replaces = any(_matches(path, _replace_keys(token)) for path in paths)
        # A path is a leaf, or an object present on one side only (changed_paths): such an object carries the
        # refused settings inside it.
        refused = (
            () if replaces else tuple(p for p in paths if _matches(p, AZURE_REFUSES.get(token, ()), added_parent=True))
        )
        changes.append(Change(urn, token, "replace" if replaces else "update", paths, refused))
    changes.extend(
        Change(urn, entry["type"], "delete", tuple(sorted(entry.get("inputs", {}))))
        for urn, entry in before.items()
        if urn not in after
    )
    return changes


def load_previous(directory: Path) -> list[dict[str, Any]]:
    """DIR/resources.json of an earlier offline preview; ValueError naming the file when it is missing or not one."""
    path = directory / "resources.json"
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"--previous {directory}: cannot read {path} ({exc})") from None
    if not isinstance(document, list) or not all(isinstance(e, dict) and "urn" in e for e in document):
        raise ValueError(f"--previous {directory}: {path} is not an inventory (a list of resources with a urn)")
    return document


def render(changes: Sequence[Change], previous: Path) -> str:
    """The "Changes" section of summary.md."""
    counts = Counter(change.op for change in changes)
    lines = [
        "## Changes",
        "",
        f"Against `{previous / 'resources.json'}`: "
        + (", ".join(f"{counts[op]} to {op}" for op in OPS if counts[op]) or "no changes")
        + ".",
    ]
    if changes:
        lines += ["", "| Op | Resource type | Name | Changed inputs |", "| --- | --- | --- | --- |"]
        for change in sorted(changes, key=lambda c: (OPS.index(c.op), c.type, c.urn)):
            shown = ", ".join(f"`{p}`" for p in change.properties[:6])
            more = f" and {len(change.properties) - 6} more" if len(change.properties) > 6 else ""
            refused = f" **Azure refuses:** {', '.join(change.azure_refuses)}" if change.azure_refuses else ""
            name = change.urn.rsplit("::", 1)[-1]
            lines.append(f"| {change.op} | `{change.type}` | `{name}` | {shown}{more}{refused} |")
    return "\n".join(lines) + "\n"
