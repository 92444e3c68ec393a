"""Every Ingress the services' manifests draw is served, by its own route, and staging publishes nothing of its own
accord: the ingress half of the link checks.

The manifests are what CI's `Manifests` job renders: the renderer of this checkout (CI runs it once
`templatesRelease` moves to these templates) with the `manifest` parameter the stack commits into each service's CI
entry. Three links, each of which fails nowhere when broken:

- an Ingress whose class no controller in its cluster serves is never served: the application routing add-on serves
  its public class itself, and the internal class only through the stack's NginxIngressController in that cluster
  (learn.microsoft.com/azure/aks/app-routing-nginx-configuration);
- ingress-nginx keeps the oldest Ingress's location for a host, path and path type and routes every later
  claimant's requests to it (kubernetes/ingress-nginx internal/ingress/controller/store/store.go sortIngressSlice;
  controller.go getBackendServers), and the add-on runs it without the admission webhook that would refuse the
  second (Azure/aks-app-routing-operator pkg/manifests/nginx.go);
- the acceptance tests port-forward (pipelines/platform/steps/acceptance-tests.yml): a staging service is published
  on the public class, and the staging node subnet opened to the internet, only for a staging host of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from components.network import NODE_SUBNETS
from components.service_files.layout import CI_PIPELINE_PATH
from components.service_files.manifests import kubernetes_manifest, renderer
from components.service_files.spec import MANIFEST_PARAMETER
from tools.capture import Capture, Registration
from tools.devops_index import build_index
from tools.pipeline_links import Finding

NSG = "azure-native:network:NetworkSecurityGroup"
CLUSTER = "azure-native:containerservice:ManagedCluster"
NGINX_CONTROLLER = "kubernetes:approuting.kubernetes.azure.com/v1alpha1:NginxIngressController"
KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"


def manifest_parameters(capture: Capture) -> Iterator[tuple[str, dict[str, Any]]]:
    """(service, the `manifest` parameter of its committed CI entry) for every service repository."""
    estate = build_index(capture, {})
    for repository_id, files in sorted(estate.files.items()):
        if CI_PIPELINE_PATH in files:
            entry = yaml.safe_load(files[CI_PIPELINE_PATH])
            yield estate.repositories[repository_id][1], dict(entry["extends"]["parameters"][MANIFEST_PARAMETER])


def ingresses(capture: Capture) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Stage -> service -> the Ingresses CI renders for that service in that stage's cluster."""
    # The registry and the telemetry endpoint shape the Deployment only, never an Ingress.
    return {
        stage: {
            service: [d for d in kubernetes_manifest(parameters, stage, "", "") if d.get("kind") == "Ingress"]
            for service, parameters in manifest_parameters(capture)
        }
        for stage in renderer().STAGES
    }


def route_clashes(capture: Capture) -> list[Finding]:
    """Each (class, host, path, path type) in one cluster that Ingresses of more than one service claim."""
    findings: list[Finding] = []
    for stage, by_service in ingresses(capture).items():
        claims: dict[tuple[str, str, str, str], list[str]] = {}
        for service, found in by_service.items():
            for ingress in found:
                for rule in ingress["spec"]["rules"]:
                    for path in rule["http"]["paths"]:
                        route = (
                            ingress["spec"]["ingressClassName"],
                            rule.get("host", ""),
                            path["path"],
                            path["pathType"],
                        )
                        claims.setdefault(route, []).append(service)
        for (ingress_class, host, path, path_type), services in claims.items():
            if len(services) > 1:
                findings.append(
                    Finding(
                        f"{stage} manifests",
                        f"{ingress_class} {host or '(any host)'}{path} ({path_type})",
                        f"claimed by {', '.join(services)}: ingress-nginx routes all of them to the oldest",
                    )
                )
    return findings


def _kubeconfig_cluster(provider: Registration) -> str:
    """The cluster a Kubernetes provider writes to: its kubeconfig's current context, which AKS names after the
    cluster its credentials were listed for (listClusterUserCredential; components/devops/kubernetes.py)."""
    kubeconfig = provider.wire_inputs.get("kubeconfig")
    if isinstance(kubeconfig, dict):  # a secret, as the engine receives it: {<secret signature>: ..., "value": ...}
        kubeconfig = kubeconfig.get("value")
    document = yaml.safe_load(str(kubeconfig or "")) or {}
    return str(document.get("current-context", "")) if isinstance(document, dict) else ""


def _providers(capture: Capture) -> tuple[dict[str, str], list[Finding]]:
    """Provider URN -> the stage whose cluster it writes to, as the stack's outputs name each stage's cluster; and
    each provider whose `clusterIdentifier` (what decides its replacement) names another cluster than it writes to."""
    by_name = {name: stage for stage, name in capture.outputs["clusters"].items()}
    names = {r.id: str(r.inputs.get("resourceName")) for r in capture.of_type(CLUSTER)}
    stages, findings = {}, []
    for provider in capture.of_type(KUBERNETES_PROVIDER):
        cluster = _kubeconfig_cluster(provider)
        stages[provider.urn] = by_name.get(cluster, "")
        identified = names.get(str(provider.inputs.get("clusterIdentifier")), "")
        if identified != cluster:
            problem = f"writes to {cluster or '(no cluster)'} but is identified as {identified or '(no cluster)'}"
            findings.append(Finding(provider.name, "clusterIdentifier", problem))
    return stages, findings


def internal_controllers_out_of_step(capture: Capture) -> list[Finding]:
    """Each cluster with an internal-class Ingress and no internal controller, or a controller no Ingress needs,
    judged by the cluster each controller's provider writes to; and each provider identified as another cluster."""
    internal = renderer().INTERNAL_INGRESS_CLASS
    stages, findings = _providers(capture)
    controllers = capture.of_type(NGINX_CONTROLLER)
    present = {stages[urn] for controller in controllers for urn in controller.dependencies if urn in stages}
    for stage, by_service in ingresses(capture).items():
        needing = sorted(
            service
            for service, found in by_service.items()
            if any(ingress["spec"]["ingressClassName"] == internal for ingress in found)
        )
        if needing and stage not in present:
            findings.append(
                Finding(f"{stage} cluster", internal, f"Ingresses of {', '.join(needing)} and no controller serves it")
            )
        if stage in present and not needing:
            findings.append(Finding(f"{stage} cluster", internal, "a controller that no Ingress needs"))
    return findings


def internet_ports(capture: Capture, stage: str) -> list[str]:
    """The ports `stage`'s node subnet admits from the internet."""
    # components/naming.py names each node subnet's security group `nsg-<prefix>-<env>-<subnet role>`.
    return [
        str(port)
        for group in capture.of_type(NSG)
        if str(group.inputs.get("networkSecurityGroupName", "")).endswith(f"-{NODE_SUBNETS[stage]}")
        for rule in group.inputs.get("securityRules") or []
        if (rule.get("sourceAddressPrefix"), rule.get("access"), rule.get("direction"))
        == ("Internet", "Allow", "Inbound")
        for port in rule.get("destinationPortRanges") or [rule.get("destinationPortRange")]
    ]


def published_in_staging(capture: Capture) -> list[Finding]:
    """A staging Ingress on the public class for a service without a staging host of its own, and internet ports on
    the staging node subnet that no such host asks for."""
    staged = {service for service, parameters in manifest_parameters(capture) if parameters.get("stagingHost")}
    public = [
        (service, ingress)
        for service, found in ingresses(capture)["staging"].items()
        for ingress in found
        if ingress["spec"]["ingressClassName"] == renderer().PUBLIC_INGRESS_CLASS
    ]
    findings = [
        Finding(
            f"{service} staging manifest",
            f"Ingress {ingress['metadata']['name']}",
            "is on the public class without a staging host of its own: pre-release code on the internet, which no "
            "pipeline reaches",
        )
        for service, ingress in public
        if service not in staged
    ]
    ports = internet_ports(capture, "staging")
    if ports and not any(service in staged for service, _ in public):
        findings.append(
            Finding(
                "staging node subnet",
                ", ".join(ports),
                "admits the internet, and no public staging Ingress has a staging host",
            )
        )
    return findings
