"""Who talks to what: every data-plane call the estate causes, checked against the target's network rules.

Pure over a `capture.Capture`: the calls are derived from the inventory (role grants name who reads, pushes, pulls or
deploys where; a Key Vault-linked variable group names the vault Azure DevOps' servers list; the pipelines' YAML names
the pool their agents come from; a data collection rule names the workspace the monitoring agent sends to), and each
call is judged by the target's own network inputs (firewall, public access, private endpoints). A call the rules
would refuse fails the first real run, so `refused` rows are defects the tests report.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import yaml

from components.identity import BUILT_IN_ROLES
from tools.capture import Capture, Registration

ALLOWED, REFUSED = "allowed", "refused"
VAULT = "azure-native:keyvault:Vault"
REGISTRY = "azure-native:containerregistry:Registry"
CLUSTER = "azure-native:containerservice:ManagedCluster"
APP_INSIGHTS = "azure-native:applicationinsights:Component"
WORKSPACE = "azure-native:operationalinsights:Workspace"
MANAGED_POOL = "azure-native:devopsinfrastructure:Pool"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
SCOPED_RESOURCE = "azure-native:monitor:PrivateLinkScopedResource"
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"

IMPORTER = BUILT_IN_ROLES["Container Registry Data Importer and Data Reader"]
# Role definition GUID (the estate's built-in roles) -> the data-plane call its holder makes. Control-plane roles
# (Contributor, Reader...) reach only management.azure.com, which no target's network rules govern.
ROLE_CALLS = {
    BUILT_IN_ROLES["Key Vault Secrets User"]: "read secrets (Key Vault Secrets User)",
    BUILT_IN_ROLES["AcrPush"]: "push images (AcrPush)",
    BUILT_IN_ROLES["AcrPull"]: "pull images (AcrPull)",
    IMPORTER: "read image manifests (Container Registry Data Importer and Data Reader)",
    BUILT_IN_ROLES["Azure Kubernetes Service Cluster User Role"]: "kubectl with the fetched kubeconfig (Cluster User)",
    BUILT_IN_ROLES["Azure Kubernetes Service RBAC Writer"]: "deploy workloads (AKS RBAC Writer)",
    BUILT_IN_ROLES["Monitoring Metrics Publisher"]: "send telemetry with Entra ID (Monitoring Metrics Publisher)",
    BUILT_IN_ROLES["Key Vault Certificate User"]: "read ingress certificates (Key Vault Certificate User)",
}
# The private DNS zone a private endpoint's clients must resolve through, per target type (Azure's "Azure Private
# Endpoint private DNS zone values"); without it the name resolves to the public endpoint the rules refuse.
ZONES = {
    VAULT: "privatelink.vaultcore.azure.net",
    REGISTRY: "privatelink.azurecr.io",
    APP_INSIGHTS: "privatelink.monitor.azure.com",
    WORKSPACE: "privatelink.monitor.azure.com",
}


@dataclass(frozen=True)
class Source:
    """Where a caller's packets come from, as far as the inventory (and the caller's options) says."""

    name: str
    where: str
    # Public egress ranges known to cover the caller; None: a public address nothing in the estate names.
    addresses: tuple[str, ...] | None = None
    subnet: str | None = None  # ARM id of the estate subnet the caller runs in
    trusted: bool = False  # a "trusted Microsoft service" that the AzureServices bypass lets through


@dataclass(frozen=True)
class Path:
    source: str
    target: str
    purpose: str
    verdict: str
    reason: str


# Azure DevOps is not on Key Vault's trusted-services list ("Azure DevOps isn't on the trusted services list",
# learn.microsoft.com/azure/key-vault/general/network-security) and calls from its shared public ranges.
AZURE_DEVOPS = Source("Azure DevOps servers", "Azure DevOps' shared public addresses, not a trusted service")
PULUMI_RUNNER = Source("`pulumi up`", "the operator's or IaC pipeline's machine: any public address")
# `az acr import` is an ARM action; the registry service itself copies the image, as a trusted service: "Import to or
# from a network-restricted Azure container registry requires the restricted registry to allow access by trusted
# services" (learn.microsoft.com/azure/container-registry/container-registry-import-images, and the trusted-services
# table in .../allow-access-trusted-services).
ACR_IMPORT = Source("Azure Container Registry import", "the registry service (trusted service)", trusted=True)


def _get(document: Any, *path: str) -> Any:
    for key in path:
        document = document.get(key) if isinstance(document, dict) else None
    return document


def _vnet(subnet_id: str | None) -> str | None:
    return subnet_id.split("/subnets/")[0].lower() if subnet_id and "/subnets/" in subnet_id else None


def _short(arm_id: str) -> str:
    return arm_id.rstrip("/").rsplit("/", 1)[-1]


def _owner(capture: Capture, scope: str, types: Iterable[str]) -> Registration | None:
    """The resource a scope or resource id names, or lies under (e.g. a cluster's namespace scope)."""
    scope = scope.lower()
    for r in capture.resources:
        if r.type in types and (scope == r.id.lower() or scope.startswith(r.id.lower() + "/")):
            return r
    return None


def _covered(addresses: Sequence[str], rules: Sequence[str]) -> bool:
    """Every egress range lies inside one rule (a single address is a /32 or /128)."""
    networks = [ipaddress.ip_network(rule, strict=False) for rule in rules]
    ranges = [ipaddress.ip_network(address, strict=False) for address in addresses]
    return all(any(r.network_address in n and r.broadcast_address in n for n in networks) for r in ranges)


# --- sources -------------------------------------------------------------------------------------------------------


def _pool_specs(capture: Capture) -> list[dict[str, Any]]:
    """Every `pool:` the committed pipeline YAML names (root, stage, job), agentless `server` jobs excluded."""
    specs: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            pool = node.get("pool")
            if pool and pool != "server":
                specs.append(pool if isinstance(pool, dict) else {"name": pool})
            node = list(node.values())
        for value in node if isinstance(node, list) else []:
            walk(value)

    for r in capture.of_type("azuredevops:index/gitRepositoryFile:GitRepositoryFile"):
        if str(r.inputs.get("file", "")).endswith((".yml", ".yaml")) and "pipelines/" in str(r.inputs.get("file")):
            walk(yaml.safe_load(r.inputs.get("content") or "") or {})
    unique = {repr(sorted(s.items())): s for s in specs}
    return list(unique.values())


def agent_sources(capture: Capture, agent_egress: Mapping[str, Sequence[str]] | None = None) -> list[Source]:
    """The agents the pipelines run on, one source per pool their YAML names.

    Microsoft-hosted agents have no fixed public addresses ("Because Azure DevOps uses the Azure global network, IP
    ranges vary over time", learn.microsoft.com/azure/devops/pipelines/agents/hosted#agent-ip-ranges); a job whose
    YAML names no pool runs there too (the predefined "Azure Pipelines" pool). A Managed DevOps Pool in the
    inventory runs in the subnet its `fabricProfile.networkProfile.subnetId` names, else on Microsoft's network. A
    pool outside the inventory is known only by the egress ranges the caller passes, else those the stack declares.
    """
    if agent_egress is None:
        # The stack declares its pools' egress as the `agentPoolEgress` output (config `agentPoolEgressRanges`).
        agent_egress = capture.outputs.get("agentPoolEgress") or {}
    sources = []
    for spec in _pool_specs(capture) or [{"vmImage": "ubuntu-latest"}]:
        if "vmImage" in spec or spec.get("name", "Azure Pipelines") == "Azure Pipelines":
            image = spec.get("vmImage", "ubuntu-latest")
            sources.append(Source(f"Microsoft-hosted agents ({image})", "any public address (no fixed ranges)"))
            continue
        name = str(spec["name"])
        managed = [p for p in capture.of_type(MANAGED_POOL) if p.inputs.get("poolName") == name]
        if managed:
            subnet = _get(managed[0].inputs, "fabricProfile", "networkProfile", "subnetId")
            where = f"subnet {_short(subnet)} of {_short(_vnet(subnet) or '')}" if subnet else "Microsoft's network"
            sources.append(Source(f"Managed DevOps Pool `{name}`", where, subnet=subnet))
        elif agent_egress and name in agent_egress:
            egress = tuple(agent_egress[name])
            sources.append(Source(f"agents of pool `{name}`", f"egress {', '.join(egress)}", addresses=egress))
        else:
            sources.append(Source(f"agents of pool `{name}`", "a pool outside the estate with no declared egress"))
    return sources


def _cluster_subnet(cluster: Registration) -> str | None:
    pools = cluster.inputs.get("agentPoolProfiles") or []
    return next((p["vnetSubnetID"] for p in pools if isinstance(p, dict) and p.get("vnetSubnetID")), None)


def _cluster_source(cluster: Registration, who: str) -> Source:
    # Without an estate subnet the nodes sit in AKS' own VNet and leave through the cluster's outbound IP
    # (networkProfile.outboundType), allocated at create: an address the inventory cannot name.
    subnet = _cluster_subnet(cluster)
    outbound = _get(cluster.inputs, "networkProfile", "outboundType") or "loadBalancer"
    where = f"subnet {_short(subnet)}" if subnet else f"the cluster's outbound IP ({outbound}), not in the inventory"
    return Source(f"{who} of {cluster.inputs.get('resourceName', cluster.name)}", where, subnet=subnet)


# --- targets -------------------------------------------------------------------------------------------------------


def _private_route(capture: Capture, target: Registration, source: Source) -> tuple[bool, str] | None:
    """(reachable, how) through a private endpoint in the caller's VNet; None when there is no such endpoint."""
    vnet = _vnet(source.subnet)
    if vnet is None:
        return None
    # An Azure Monitor private link reaches its resources through the scope they are added to (AMPLS).
    scopes = {
        str(r.id.rsplit("/scopedResources/", 1)[0]).lower()
        for r in capture.of_type(SCOPED_RESOURCE)
        if str(r.inputs.get("linkedResourceId", "")).lower() == target.id.lower()
    }
    for endpoint in capture.of_type(PRIVATE_ENDPOINT):
        if _vnet(_get(endpoint.inputs, "subnet", "id")) != vnet:
            continue
        connections = (endpoint.inputs.get("privateLinkServiceConnections") or []) + (
            endpoint.inputs.get("manualPrivateLinkServiceConnections") or []
        )
        services = {str(c.get("privateLinkServiceId", "")).lower() for c in connections}
        if target.id.lower() in services or services & scopes:
            zone = ZONES.get(target.type)
            linked = any(
                link.inputs.get("privateZoneName") == zone
                and str(_get(link.inputs, "virtualNetwork", "id")).lower() == vnet
                for link in capture.of_type(ZONE_LINK)
            )
            if zone and not linked:
                return False, f"private endpoint `{endpoint.name}` exists but zone {zone} is not linked to the VNet"
            return True, f"private endpoint `{endpoint.name}` in the caller's VNet"
    return None


def _firewall(source: Source, ip_rules: Sequence[str], subnet_rules: Sequence[str], bypass: bool) -> tuple[bool, str]:
    """A public endpoint that denies by default: trusted bypass, a VNet rule for the caller's subnet, or IP rules."""
    if source.trusted and bypass:
        return True, "default Deny, but trusted Microsoft services bypass the firewall"
    if source.subnet and source.subnet.lower() in {s.lower() for s in subnet_rules}:
        return True, "default Deny; a virtual network rule allows the caller's subnet"
    if source.addresses and ip_rules and _covered(source.addresses, ip_rules):
        return True, f"default Deny; the caller's egress lies within ipRules {', '.join(ip_rules)}"
    rules = ", ".join(ip_rules) or "none"
    return False, f"default Deny; the caller ({source.where}) is not within ipRules ({rules}) nor a VNet rule"


def _vault(vault: Registration, source: Source) -> tuple[bool, str]:
    # learn.microsoft.com/azure/key-vault/general/network-security: publicNetworkAccess Disabled leaves only private
    # endpoints; networkAcls.defaultAction Deny admits ipRules, virtualNetworkRules and (bypass AzureServices) the
    # trusted services, a list Azure DevOps is not on.
    props = vault.inputs.get("properties") or {}
    if props.get("publicNetworkAccess", "Enabled") == "Disabled":
        return False, "publicNetworkAccess Disabled and no private endpoint in the caller's VNet"
    acls = props.get("networkAcls") or {}
    if acls.get("defaultAction", "Allow") == "Allow":
        return True, "firewall default Allow"
    return _firewall(
        source,
        [str(rule.get("value")) for rule in acls.get("ipRules") or []],
        [str(rule.get("id")) for rule in acls.get("virtualNetworkRules") or []],
        acls.get("bypass", "AzureServices") == "AzureServices",
    )


def _registry(registry: Registration, source: Source) -> tuple[bool, str]:
    # Trusted services pass "a registry restricted with a private endpoint or public IP access rules"
    # (learn.microsoft.com/azure/container-registry/allow-access-trusted-services), so the bypass comes first. A client
    # also fetches layers from the data endpoint (<registry>.<region>.data.azurecr.io with dedicated data endpoints),
    # governed by the same rules (.../container-registry-firewall-rules#about-registry-endpoints).
    bypass = registry.inputs.get("networkRuleBypassOptions", "AzureServices") == "AzureServices"
    if source.trusted and bypass:
        return True, "trusted Microsoft services bypass the registry's network rules"
    if registry.inputs.get("publicNetworkAccess", "Enabled") == "Disabled":
        return False, "publicNetworkAccess Disabled and no private endpoint in the caller's VNet"
    rules = registry.inputs.get("networkRuleSet") or {}
    if rules.get("defaultAction", "Allow") == "Allow":
        return True, "public endpoint, network rules default Allow"
    return _firewall(source, [str(r.get("iPAddressOrRange")) for r in rules.get("ipRules") or []], [], bypass)


def _api_server(cluster: Registration, source: Source) -> tuple[bool, str]:
    # learn.microsoft.com/azure/aks/private-clusters: a private cluster's API server has only a private IP in the
    # cluster's VNet (peered networks need a link to its private DNS zone: not modelled, so they count as outside);
    # learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges: a public one admits only the authorized ranges.
    profile = cluster.inputs.get("apiServerAccessProfile") or {}
    if profile.get("enablePrivateCluster"):
        cluster_vnet = _vnet(_cluster_subnet(cluster) or profile.get("subnetId"))
        if cluster_vnet and _vnet(source.subnet) == cluster_vnet:
            return True, "private cluster, reached from its own VNet"
        return False, "private cluster; the caller is not in the cluster's VNet"
    ranges = [str(r) for r in profile.get("authorizedIPRanges") or []]
    if not ranges:
        return True, "public API server, no authorized IP ranges"
    if source.addresses and _covered(source.addresses, ranges):
        return True, f"the caller's egress lies within authorizedIPRanges {', '.join(ranges)}"
    return False, f"authorizedIPRanges ({', '.join(ranges)}) do not cover the caller ({source.where})"


def _ingestion(resource: Registration, source: Source) -> tuple[bool, str]:
    # learn.microsoft.com/azure/azure-monitor/logs/private-link-security: with publicNetworkAccessForIngestion
    # Disabled, ingestion is accepted only through an Azure Monitor Private Link Scope the resource belongs to.
    if resource.inputs.get("publicNetworkAccessForIngestion", "Enabled") == "Disabled":
        return False, "publicNetworkAccessForIngestion Disabled and no private link scope endpoint in the caller's VNet"
    return True, "public ingestion enabled"


RULES = {VAULT: _vault, REGISTRY: _registry, CLUSTER: _api_server, APP_INSIGHTS: _ingestion, WORKSPACE: _ingestion}


def judge(capture: Capture, source: Source, target: Registration, purpose: str) -> Path:
    route = _private_route(capture, target, source)
    allowed, reason = route if route and route[0] else RULES[target.type](target, source)
    if route and not route[0]:
        reason = f"{route[1]}; {reason}"
    name = str(target.id.rsplit("/", 1)[-1]) if target.id.startswith("/") else target.name
    return Path(
        source.name, f"{name} ({target.type.rsplit(':', 1)[-1]})", purpose, ALLOWED if allowed else REFUSED, reason
    )


# --- calls ---------------------------------------------------------------------------------------------------------


def _principals(capture: Capture, agents: list[Source]) -> dict[str, list[Source]]:
    """principalId -> the callers acting as it: agents (an identity federated to an Azure DevOps service connection),
    a cluster's kubelet, or a cluster's pods (an identity federated to the cluster's OIDC issuer)."""
    clusters = capture.of_type(CLUSTER)
    issuers = {str(_get(c.outputs, "oidcIssuerProfile", "issuerURL")): c for c in clusters}
    found: dict[str, list[Source]] = {}
    for cluster in clusters:
        kubelet = _get(cluster.outputs, "identityProfile", "kubeletidentity", "objectId")
        if kubelet:
            found[str(kubelet)] = [_cluster_source(cluster, "kubelets")]
        # The application routing add-on reads ingress certificates from its pods on the nodes, as its own identity.
        routing = _get(cluster.outputs, "ingressProfile", "webAppRouting", "identity", "objectId")
        if routing:
            found[str(routing)] = [_cluster_source(cluster, "application routing add-on")]
    identities = {
        str(i.inputs.get("resourceName")): i
        for i in capture.of_type("azure-native:managedidentity:UserAssignedIdentity")
    }
    for credential in capture.of_type("azure-native:managedidentity:FederatedIdentityCredential"):
        identity = identities.get(str(credential.inputs.get("resourceName")))
        principal = identity and identity.outputs.get("principalId")
        subject = str(credential.inputs.get("subject", ""))
        if not principal:
            continue
        if subject.startswith("sc://"):
            found[str(principal)] = agents
        elif subject.startswith("system:serviceaccount:") and credential.inputs.get("issuer") in issuers:
            found[str(principal)] = [_cluster_source(issuers[str(credential.inputs["issuer"])], "pods")]
    return found


Call = tuple[Source, Registration, str]


def _variable_group_calls(capture: Capture, agents: list[Source]) -> Iterator[Call]:
    # A Key Vault-linked variable group: the provider lists the vault's secrets through Azure DevOps' service-endpoint
    # proxy on create and update (terraform-provider-azuredevops resource_variable_group.go, searchAzureKVSecrets),
    # and "when pipelines run, they ... fetch the latest secret values from the vault at runtime" (learn.microsoft.com/
    # azure/devops/pipelines/library/link-variable-groups-to-key-vaults): a job step on the agent.
    vaults = {str(v.inputs.get("vaultName")): v for v in capture.of_type(VAULT)}
    for group in capture.of_type("azuredevops:index/variableGroup:VariableGroup"):
        vault = vaults.get(str(_get(group.inputs, "keyVault", "name")))
        if vault:
            name = group.inputs.get("name")
            yield AZURE_DEVOPS, vault, f"list secrets when variable group `{name}` is saved"
            for agent in agents:
                yield agent, vault, f"download secrets of variable group `{name}`"


def _grant_calls(capture: Capture, agents: list[Source]) -> Iterator[Call]:
    principals = _principals(capture, agents)
    for grant in capture.of_type("azure-native:authorization:RoleAssignment"):
        role = _short(str(grant.inputs.get("roleDefinitionId", "")))
        target = _owner(capture, str(grant.inputs.get("scope", "")), RULES)
        callers = principals.get(str(grant.inputs.get("principalId")), [])
        if role not in ROLE_CALLS or target is None:
            continue
        for caller in callers:
            yield caller, target, ROLE_CALLS[role]
        if role == IMPORTER and callers:
            yield ACR_IMPORT, target, "copy images for `az acr import` (source or target registry)"


def _monitoring_calls(capture: Capture) -> Iterator[Call]:
    # The monitoring agent (ama-logs on the nodes) sends to the workspaces its data collection rule names.
    for association in capture.of_type("azure-native:monitor:DataCollectionRuleAssociation"):
        cluster = _owner(capture, str(association.inputs.get("resourceUri", "")), [CLUSTER])
        rule_id = str(association.inputs.get("dataCollectionRuleId", ""))
        rule = _owner(capture, rule_id, ["azure-native:monitor:DataCollectionRule"])
        if cluster is None or rule is None:
            continue
        for destination in _get(rule.inputs, "destinations", "logAnalytics") or []:
            workspace = _owner(capture, str(destination.get("workspaceResourceId", "")), [WORKSPACE])
            if workspace:
                yield _cluster_source(cluster, "monitoring agent"), workspace, "send container logs and metrics (DCR)"


def _kubernetes_calls(capture: Capture, runner: Source) -> Iterator[Call]:
    by_urn = {r.urn: r for r in capture.resources}

    def of_type(urns: Iterable[str], token: str) -> list[Registration]:
        return [by_urn[u] for u in urns if u in by_urn and by_urn[u].type == token]

    for resource in capture.resources:
        providers = of_type(resource.dependencies, "pulumi:providers:kubernetes")
        for cluster in [c for p in providers for c in of_type(p.dependencies, CLUSTER)]:
            # The Kubernetes provider creates the stack's in-cluster objects through the API server (namespaces are
            # ARM resources, so only the internal ingress controller is left).
            yield runner, cluster, "create in-cluster objects (Kubernetes provider)"
            # An object carrying Application Insights' connection string: the cluster's pods send telemetry.
            for component in of_type(resource.dependencies, APP_INSIGHTS):
                purpose = f"send telemetry (connection string in `{resource.name}`)"
                yield _cluster_source(cluster, "pods"), component, purpose


def pulumi_runner(capture: Capture) -> Source:
    """Where `pulumi up` runs: the IaC pipeline runs on the stack's Managed DevOps Pool when the inventory has one
    (issue 11: "the IaC pipeline runs on the same pool"), so it reaches private API servers from the agents' subnet;
    without one, from any public address."""
    managed = capture.of_type(MANAGED_POOL)
    subnet = _get(managed[0].inputs, "fabricProfile", "networkProfile", "subnetId") if managed else None
    if not subnet:
        return PULUMI_RUNNER
    name = managed[0].inputs.get("poolName")
    return Source(f"`pulumi up` (IaC pipeline on `{name}`)", f"subnet {_short(subnet)}", subnet=subnet)


def paths(
    capture: Capture, agent_egress: Mapping[str, Sequence[str]] | None = None, runner: Source | None = None
) -> list[Path]:
    """The table: one row per (caller, target, purpose), judged by the target's network rules in the inventory."""
    agents = agent_sources(capture, agent_egress)
    runner = runner or pulumi_runner(capture)
    calls = chain(
        _variable_group_calls(capture, agents),
        _grant_calls(capture, agents),
        _monitoring_calls(capture),
        _kubernetes_calls(capture, runner),
    )
    rows = {(p.source, p.target, p.purpose): p for p in (judge(capture, *call) for call in calls)}
    # azure-native:keyvault:Secret is the ARM resource Microsoft.KeyVault/vaults/secrets: a control-plane PUT to
    # management.azure.com, and "Key Vault firewalls and virtual network rules only apply to the data plane"
    # (learn.microsoft.com/azure/key-vault/general/overview-vnet-service-endpoints); MicrosoftDocs/azure-docs#68668
    # records ARM writing secrets into a vault set to Deny with bypass None. Listed so the table says so.
    vaults = {str(v.inputs.get("vaultName")): v for v in capture.of_type(VAULT)}
    for secret in capture.of_type("azure-native:keyvault:Secret"):
        vault = vaults.get(str(secret.inputs.get("vaultName")))
        if vault:
            purpose = f"write secret `{secret.inputs.get('secretName')}` through ARM (control plane)"
            reason = "control plane (Microsoft.KeyVault/vaults/secrets via ARM): the vault firewall does not apply"
            target = f"{vault.inputs.get('vaultName')} (Vault)"
            rows[(runner.name, target, purpose)] = Path(runner.name, target, purpose, ALLOWED, reason)
    return sorted(rows.values(), key=lambda p: (p.source, p.target, p.purpose))


def refused(rows: Iterable[Path]) -> list[Path]:
    return [row for row in rows if row.verdict == REFUSED]


def section(capture: Capture) -> list[str]:
    """The "who talks to what" section of summary.md."""
    rows = paths(capture)
    blocked = refused(rows)
    verdict = f"**{len(blocked)} refused**: the first real run breaks there." if blocked else "Every call is allowed."
    return [
        "## Who talks to what",
        "",
        "Every data-plane call the estate causes, derived from the inventory and judged by the target's network rules "
        f"in it (`tools/network_paths.py`). {verdict}",
        "",
        "| From | To | Why | Verdict | Because |",
        "| --- | --- | --- | --- | --- |",
        *(
            f"| {p.source} | `{p.target}` | {p.purpose} | {'**refused**' if p.verdict == REFUSED else ALLOWED} "
            f"| {p.reason} |"
            for p in rows
        ),
    ]
