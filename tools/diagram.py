"""A diagram of the estate, drawn from the captured inventory, grouped like the reference architecture's diagram.

Nodes and edges come only from what the program registered: a relation is drawn because an input of one resource
references another (a scope, a resource URI, a principal, a repository). Graphviz lays it out; `dot` (Debian's
`graphviz` package) renders the SVG.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import graphviz

from components.identity import BUILT_IN_ROLES
from tools.capture import Capture, Registration

ROLE_NAMES = {guid: name for name, guid in BUILT_IN_ROLES.items()}
# Roles drawn as their own edge; the AKS roles are summarised as one "deploys" edge per cluster.
DRAWN_ROLES = {"AcrPull", "AcrPush", "Container Registry Data Importer and Data Reader", "Key Vault Secrets User"}

CLUSTER = "azure-native:containerservice:ManagedCluster"
REGISTRY = "azure-native:containerregistry:Registry"
VAULT = "azure-native:keyvault:Vault"
WORKSPACE = "azure-native:operationalinsights:Workspace"
APP_INSIGHTS = "azure-native:applicationinsights:Component"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
DCR_ASSOCIATION = "azure-native:monitor:DataCollectionRuleAssociation"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
CONNECTOR = "azure-native:security:SecurityConnector"
NAMESPACE = "azure-native:containerservice:ManagedNamespace"
PROJECT = "azuredevops:index/project:Project"
REPOSITORY = "azuredevops:index/git:Git"
PIPELINE = "azuredevops:index/buildDefinition:BuildDefinition"
ENVIRONMENT = "azuredevops:index/environment:Environment"
AUTHORIZATION = "azuredevops:index/pipelineAuthorization:PipelineAuthorization"
CONNECTION_PREFIX = "azuredevops:index/serviceEndpoint"
KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"
STAGES = ("staging", "production")

STYLE = {
    CLUSTER: ("box3d", "#cfe2ff"),
    REGISTRY: ("cylinder", "#d1e7dd"),
    VAULT: ("folder", "#fff3cd"),
    WORKSPACE: ("cylinder", "#e2e3e5"),
    APP_INSIGHTS: ("ellipse", "#e2e3e5"),
    IDENTITY: ("hexagon", "#f8d7da"),
    CONNECTOR: ("octagon", "#f8d7da"),
    NAMESPACE: ("tab", "#ffffff"),
    PROJECT: ("component", "#e0cffc"),
    REPOSITORY: ("note", "#ffffff"),
    PIPELINE: ("cds", "#e0cffc"),
    ENVIRONMENT: ("doubleoctagon", "#e0cffc"),
}


def _node_id(registration: Registration) -> str:
    # Logical names are unique across the estate: every child's name starts with its component's.
    return registration.name


def _label(registration: Registration) -> str:
    inputs = registration.inputs
    for key in (
        "resourceName",
        "registryName",
        "vaultName",
        "workspaceName",
        "securityConnectorName",
        "serviceEndpointName",
        "name",
    ):
        value = inputs.get(key)
        if isinstance(value, str):
            return value
    metadata = inputs.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("name"), str):
        return str(metadata["name"])
    return registration.name


def _stage_of(registration: Registration, capture: Capture) -> str | None:
    """The cluster a resource belongs to: a cluster by its name's suffix (components/naming.py), a managed namespace
    by its cluster's, an in-cluster object by the Kubernetes provider it waits on, whose component is named after the
    stage."""
    if registration.type in (CLUSTER, NAMESPACE):
        name = str(registration.inputs.get("resourceName", ""))
        return next((stage for stage in STAGES if name.endswith(f"-{stage}")), None)
    for urn in registration.dependencies:
        provider = capture.by_urn(urn)
        if provider.type == KUBERNETES_PROVIDER and provider.parent:
            component = capture.by_urn(provider.parent).name
            return next((stage for stage in STAGES if component.endswith(f"-{stage}")), None)
    return None


class _Diagram:
    def __init__(self, capture: Capture) -> None:
        self.capture = capture
        self.graph = graphviz.Digraph(
            "estate",
            graph_attr={
                "rankdir": "LR",
                "fontname": "Helvetica",
                "fontsize": "12",
                "label": f"aks-estate: stack {capture.stack}",
                "labelloc": "t",
                "compound": "true",
                "newrank": "true",
            },
            node_attr={"fontname": "Helvetica", "fontsize": "10", "style": "filled"},
            edge_attr={"fontname": "Helvetica", "fontsize": "9"},
        )
        self.by_id = {r.id: r for r in capture.resources if r.custom and r.id}
        self.drawn: set[str] = set()

    def of(self, token: str) -> list[Registration]:
        return [r for r in self.capture.resources if r.type == token]

    def node(self, graph: graphviz.Digraph, registration: Registration, label: str | None = None) -> None:
        shape, colour = STYLE.get(registration.type, ("box", "#ffffff"))
        kind = registration.type.rsplit(":", 1)[-1]
        graph.node(_node_id(registration), f"{label or _label(registration)}\n<{kind}>", shape=shape, fillcolor=colour)
        self.drawn.add(registration.urn)

    def group(self, name: str, label: str, members: Iterable[Registration], colour: str) -> None:
        members = list(members)
        if not members:
            return
        with self.graph.subgraph(name=f"cluster_{name}") as sub:
            sub.attr(label=label, style="rounded,filled", fillcolor=colour, color="#6c757d")
            for member in members:
                self.node(sub, member)

    def edge(self, source: Registration, target: Registration, label: str, **attributes: str) -> None:
        if source.urn in self.drawn and target.urn in self.drawn:
            self.graph.edge(_node_id(source), _node_id(target), label=label, **attributes)

    def resolve(self, value: Any) -> Registration | None:
        """The registration an ARM ID (or a path below one, such as a namespace scope) points at."""
        if not isinstance(value, str):
            return None
        while value:
            if value in self.by_id:
                return self.by_id[value]
            value = value.rsplit("/", 2)[0] if value.count("/") > 2 else ""
        return None

    def resolve_drawn(self, value: Any) -> Registration | None:
        """The drawn registration an ARM ID points at, or holds it: a grant on one secret is drawn on its vault."""
        found = self.resolve(value)
        while found is not None and found.urn not in self.drawn:
            found = self.resolve(found.id.rsplit("/", 2)[0]) if found.id.count("/") > 2 else None
        return found

    def principal(self, principal_id: Any) -> Registration | None:
        for registration in self.capture.resources:
            outputs = registration.outputs
            if registration.type == IDENTITY and outputs.get("principalId") == principal_id:
                return registration
            # Under --unknowns a computed output is the string "[unknown]", not the object it becomes.
            profile = outputs.get("identityProfile")
            kubelet = profile.get("kubeletidentity") if isinstance(profile, dict) else None
            if registration.type == CLUSTER and isinstance(kubelet, dict) and kubelet.get("objectId") == principal_id:
                return registration
        return None

    def draw(self) -> graphviz.Digraph:
        connections = [r for r in self.capture.resources if r.type.startswith(CONNECTION_PREFIX)]
        self.group(
            "devops",
            "Azure DevOps",
            [
                *self.of(PROJECT),
                *self.of(REPOSITORY),
                *self.of(PIPELINE),
                *self.of(ENVIRONMENT),
                *connections,
            ],
            "#f3eefe",
        )
        self.group("registries", "Container registries", self.of(REGISTRY), "#eef7f1")
        for stage in ("staging", "production"):
            members = [r for r in [*self.of(CLUSTER), *self.of(NAMESPACE)] if _stage_of(r, self.capture) == stage]
            self.group(stage, f"AKS {stage}", members, "#eef4ff")
        self.group("secrets", "Secrets", self.of(VAULT), "#fffaeb")
        self.group("monitoring", "Monitoring", [*self.of(WORKSPACE), *self.of(APP_INSIGHTS)], "#f4f5f6")
        self.group("identity", "Identity and security", [*self.of(IDENTITY), *self.of(CONNECTOR)], "#fdf0f1")
        self._relations()
        return self.graph

    def _relations(self) -> None:
        for setting in self.of(DIAGNOSTICS):
            source, workspace = (
                self.resolve(setting.inputs.get("resourceUri")),
                self.resolve(setting.inputs.get("workspaceId")),
            )
            if source and workspace:
                self.edge(source, workspace, "logs", style="dotted", color="#6c757d")
        for association in self.of(DCR_ASSOCIATION):
            cluster = self.resolve(association.inputs.get("resourceUri"))
            rule = self.resolve(association.inputs.get("dataCollectionRuleId"))
            destinations = rule.inputs.get("destinations", {}).get("logAnalytics", []) if rule else []
            for destination in destinations:
                target = self.resolve(destination.get("workspaceResourceId"))
                if cluster and target:
                    self.edge(cluster, target, "Container Insights", style="dashed", color="#0d6efd")
        for app_insights in self.of(APP_INSIGHTS):
            backing = self.resolve(app_insights.inputs.get("workspaceResourceId"))
            if backing:
                self.edge(app_insights, backing, "workspace-based", style="dotted")
        self._role_edges()
        self._devops_edges()

    def _role_edges(self) -> None:
        deploy_targets: set[tuple[str, str]] = set()
        pushes: set[str] = set()
        imports: set[str] = set()
        for assignment in self.of(ROLE_ASSIGNMENT):
            role = ROLE_NAMES.get(str(assignment.inputs.get("roleDefinitionId", "")).rsplit("/", 1)[-1], "")
            principal, target = (
                self.principal(assignment.inputs.get("principalId")),
                self.resolve_drawn(assignment.inputs.get("scope")),
            )
            if not principal or not target:
                continue
            if role in DRAWN_ROLES:
                self.edge(principal, target, role, color="#198754" if role == "AcrPull" else "#dc3545")
            elif role == "Monitoring Metrics Publisher":
                self.edge(principal, target, "sends telemetry (Entra ID)", style="dashed", color="#6c757d")
            else:
                deploy_targets.add((principal.urn, target.urn))
            if role == "AcrPush":
                pushes.add(target.urn)
            if role == "Container Registry Data Importer and Data Reader":
                imports.add(target.urn)
        for principal_urn, target_urn in sorted(deploy_targets):
            self.edge(self.capture.by_urn(principal_urn), self.capture.by_urn(target_urn), "deploys (namespace RBAC)")
        # The importer role sits on both registries (the import reads its source through Entra ID): the promotion
        # runs from where CI pushes to every other registry the identity imports into.
        for pushed in sorted(pushes):
            for imported in sorted(imports - pushes):
                self.edge(
                    self.capture.by_urn(pushed),
                    self.capture.by_urn(imported),
                    "promote: az acr import, same digest",
                    style="bold",
                    color="#fd7e14",
                )

    def _devops_edges(self) -> None:
        by_devops_id = {r.id: r for r in self.capture.resources if r.type.startswith("azuredevops:")}
        for pipeline in self.of(PIPELINE):
            repository = by_devops_id.get(str(pipeline.inputs.get("repository", {}).get("repoId")))
            if repository:
                self.edge(repository, pipeline, "YAML", style="dotted")
        for authorization in self.of(AUTHORIZATION):
            authorized = by_devops_id.get(str(authorization.inputs.get("pipelineId")))
            resource = by_devops_id.get(str(authorization.inputs.get("resourceId")))
            if authorized and resource:
                label = "deploys" if resource.type == ENVIRONMENT else "uses"
                self.edge(authorized, resource, label, color="#6f42c1")
        # An environment deploys into the namespaces of the cluster of its stage (CD's deploy job for that stage).
        for environment in self.of(ENVIRONMENT):
            for namespace in self.of(NAMESPACE):
                if str(namespace.inputs.get("resourceName", "")).endswith(f"-{environment.inputs.get('name')}"):
                    self.edge(environment, namespace, "deploys into", color="#6f42c1")
        for connection in (r for r in self.capture.resources if r.type.startswith(CONNECTION_PREFIX)):
            client_id = connection.inputs.get("credentials", {}).get("serviceprincipalid")
            for identity in self.of(IDENTITY):
                if client_id and identity.outputs.get("clientId") == client_id:
                    self.edge(connection, identity, "workload identity federation", style="dashed", color="#dc3545")


def build(capture: Capture) -> graphviz.Digraph:
    return _Diagram(capture).draw()


def write(capture: Capture, out: Path) -> list[Path]:
    """Write diagram.dot always and diagram.svg when Graphviz's `dot` is installed; return what was written."""
    graph = build(capture)
    source = out / "diagram.dot"
    source.write_text(graph.source)
    written = [source]
    if shutil.which("dot"):
        svg = out / "diagram.svg"
        svg.write_bytes(graph.pipe(format="svg"))
        written.append(svg)
    return written
