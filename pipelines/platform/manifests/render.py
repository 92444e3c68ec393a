"""The Kubernetes manifests of one service in one cluster, from the parameters its entry pipeline passes.

Shipped in the pipeline templates repository and run by CI's `Manifests` job with the agent's `python3`, so it uses
the standard library only (agent images need not carry PyYAML). Output: a YAML stream in block style, for a reader
of the published artifact; KubernetesManifest@1 parses it and substitutes images on the objects. The same module
renders the manifests the stack's tests validate (tests/test_pipeline_files.py), so what is checked offline is what
the pipeline deploys.

    SERVICE_MANIFEST='{"name": "orders", ...}' python3 manifests/render.py --stage staging \
        --registry crcontosoprodnonprod.azurecr.io --connection-string "..." --output staging.yaml
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any

# The UID/GID the container runs as; above 10000 so it maps to no user of the node (checkov CKV_K8S_40).
RUN_AS_ID = 10001
# A tag CI never pushes (CI tags images with the numeric build ID): applied outside the pipeline, the manifest fails
# to pull instead of running some other image. KubernetesManifest replaces the reference whose name equals its
# `containers` entry with `<repository>@<digest>`.
UNPINNED_IMAGE_TAG = "set-by-pipeline"
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
# The AKS application routing add-on (managed NGINX): its controllers run in this namespace, its default controller
# serves this class publicly, and the stack adds an internal-load-balancer controller of its own class
# (learn.microsoft.com/azure/aks/app-routing, app-routing-nginx-configuration).
INGRESS_NAMESPACE = "app-routing-system"
PUBLIC_INGRESS_CLASS = "webapprouting.kubernetes.azure.com"
INTERNAL_INGRESS_CLASS = "nginx-internal"
# The domain of a staging Ingress without a staging host of its own (`<service>.staging.internal`): ICANN reserves
# the top-level domain ".internal" for private use (Board resolution 2024.07.29.06), so no public name is claimed,
# and an Ingress host only has to be a DNS-1123 subdomain (kubernetes/kubernetes pkg/apis/networking/validation/
# validation.go validateIngressRules).
UNPAIRED_STAGING_DOMAIN = "staging.internal"
# The add-on reads a Key Vault certificate named by this annotation into the Ingress's TLS secret `keyvault-<name>`.
TLS_CERTIFICATE_ANNOTATION = "kubernetes.azure.com/tls-cert-keyvault-uri"
# AKS workload identity: the webhook injects AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE into
# pods with this label, taking the client ID from their service account's annotation
# (learn.microsoft.com/azure/aks/workload-identity-overview, "Service account labels and annotations").
WORKLOAD_IDENTITY_LABEL = "azure.workload.identity/use"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
STAGES = ("staging", "production")


def manifests(
    service: dict[str, Any],
    stage: str,
    registry: str,
    connection_string: str,
    private_https: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Every object CD applies for `service` in the `stage` cluster, whose images come from `registry`; HTTPS out may
    also reach `private_https`, the private endpoints telemetry goes through in a private estate."""
    if stage not in STAGES:
        raise ValueError(f"stage {stage!r} must be one of {STAGES}")
    name, port = str(service["name"]), int(service["port"])
    selector = {"app.kubernetes.io/name": name}
    labels = {**selector, "app.kubernetes.io/part-of": "aks-estate"}

    def metadata(resource_name: str, **extra: Any) -> dict[str, Any]:
        return {"name": resource_name, "namespace": name, "labels": labels, **extra}

    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": metadata(name, annotations={CLIENT_ID_ANNOTATION: service["telemetryClientIds"][stage]}),
            # The service never calls the Kubernetes API; the workload identity token is projected separately.
            "automountServiceAccountToken": False,
        },
        _deployment(service, registry, connection_string, metadata, stage=stage, selector=selector, labels=labels),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(name),
            "spec": {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
            },
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": metadata(name),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": int(service["replicas"]),
                "maxReplicas": int(service["maxReplicas"]),
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                    }
                ],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": metadata(name),
            # One pod at a time at any scale the HPA reaches, never a budget that blocks node drains (upgrades).
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
        },
        *_baseline_policies(name, port, metadata, selector, private_https),
        *_traffic_in(service, stage, metadata, selector),
        *_traffic_between_services(service, metadata, selector),
    ]


def _deployment(
    service: dict[str, Any],
    registry: str,
    connection_string: str,
    metadata: Any,
    *,
    stage: str,
    selector: dict[str, str],
    labels: dict[str, str],
) -> dict[str, Any]:
    name, port = str(service["name"]), int(service["port"])
    non_root = {"runAsNonRoot": True, "runAsUser": RUN_AS_ID, "runAsGroup": RUN_AS_ID}
    runtime_default_seccomp = {"seccompProfile": {"type": "RuntimeDefault"}}
    resources = service["resources"]
    container = {
        "name": name,
        "image": f"{registry}/{name}:{UNPINNED_IMAGE_TAG}",
        # With a digest reference `Always` costs only a manifest check, and the kubelet re-checks pull access.
        "imagePullPolicy": "Always",
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "env": [
            {"name": "SERVICE_NAME", "value": name},
            {"name": "PORT", "value": str(port)},
            # Not a credential: ingestion authenticates with the pod's workload identity (Application Insights
            # refuses keys in prod), and the string only says where to send.
            {"name": "APPLICATIONINSIGHTS_CONNECTION_STRING", "value": connection_string},
            {"name": "TELEMETRY_AUTHENTICATION", "value": "entra"},
            # The stage as OpenTelemetry's service.namespace, read by every OTel SDK's environment resource detector:
            # the Azure Monitor exporter then names the cloud role "<stage>.<service>", and the Application Insights
            # alerts leave staging's out (components/alerts.py).
            {"name": "OTEL_RESOURCE_ATTRIBUTES", "value": f"service.namespace={stage}"},
        ],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "http"},
            "initialDelaySeconds": 5,
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "resources": {
            "requests": {"cpu": resources["cpuRequest"], "memory": resources["memoryRequest"]},
            "limits": {"cpu": resources["cpuLimit"], "memory": resources["memoryLimit"]},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            **non_root,
            "capabilities": {"drop": ["ALL"]},
            **runtime_default_seccomp,
        },
        # The root filesystem is read-only; Python and its libraries still want a scratch directory.
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(
            name,
            annotations={
                # The value is `ID=reason`, split at '=' by checkov: the reason must not contain one.
                "checkov.io/skip1": (
                    "CKV_K8S_43=The Azure Pipelines CD deploy pins this image to the digest CI pushed; "
                    "the digest does not exist before CI has pushed the image"
                ),
            },
        ),
        "spec": {
            # No `replicas`: the HorizontalPodAutoscaler owns the count; re-applying one would undo its scaling.
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {**labels, WORKLOAD_IDENTITY_LABEL: "true"}},
                "spec": {
                    "serviceAccountName": name,
                    "automountServiceAccountToken": False,
                    # The kubelet hands projected token files to the pod's user when every container runs as the same
                    # one (kubernetes pkg/volume/projected/projected.go, collectData: mode 0600 and owner fsUser for a
                    # serviceAccountToken source), and group-owns other volume files by fsGroup (pkg/volume/
                    # volume_linux.go, SetVolumeOwnership): both readable by the non-root process.
                    "securityContext": {**non_root, "fsGroup": RUN_AS_ID, **runtime_default_seccomp},
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": selector},
                        }
                    ],
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def _baseline_policies(
    name: str, port: int, metadata: Any, selector: dict[str, str], private_https: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Deny everything, then admit the namespace's own pods, DNS, and HTTPS out to public addresses (Entra ID token
    exchange, telemetry in a public estate) and to the private endpoints a private estate's telemetry resolves to
    (an Azure Monitor private link scope answers ingestion from its endpoint's private addresses)."""
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata("default-deny"),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(f"{name}-allow-ingress"),
            "spec": {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": port}]}],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata("allow-dns-egress"),
            "spec": {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(f"{name}-allow-telemetry-egress"),
            "spec": {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}},
                            *({"ipBlock": {"cidr": cidr}} for cidr in private_https),
                        ],
                        "ports": [{"protocol": "TCP", "port": 443}],
                    }
                ],
            },
        },
    ]


def _namespace_pods(namespace: str) -> dict[str, Any]:
    """Pods of a service in its own namespace: the namespace by its immutable name label, the pods by their name."""
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": namespace}},
    }


def served(service: dict[str, Any], stage: str) -> tuple[str, str | None, str]:
    """The host, Key Vault certificate URI and ingress class of the `stage` cluster's Ingress. Staging gets its own
    pair only, never production's: the add-on copies the certificate, private key included, into the Secret
    `keyvault-<name>` of the service's namespace, where in staging a service's own tests may read it. Without a
    staging pair, staging answers only inside the network, on the internal controller, for a host of its own: no
    pipeline reaches the service through it (acceptance tests port-forward), so nothing pre-release is published,
    and no two services' Ingresses of one class claim the same host and path, which ingress-nginx would resolve
    silently by routing every one to the oldest (kubernetes/ingress-nginx internal/ingress/controller/controller.go
    getBackendServers keeps the first Ingress's location, store.go sortIngressSlice orders them oldest first)."""
    name, expose = str(service["name"]), service.get("expose")
    exposed_class = PUBLIC_INGRESS_CLASS if expose == "public" else INTERNAL_INGRESS_CLASS
    if stage == "production":
        return service.get("host") or "", service.get("tlsCertificateUri"), exposed_class
    if service.get("stagingHost"):
        return service["stagingHost"], service.get("stagingTlsCertificateUri"), exposed_class
    return f"{name}.{UNPAIRED_STAGING_DOMAIN}", None, INTERNAL_INGRESS_CLASS


def _traffic_in(service: dict[str, Any], stage: str, metadata: Any, selector: dict[str, str]) -> list[dict[str, Any]]:
    if not service.get("expose"):
        return []
    host, certificate, ingress_class = served(service, stage)
    name, port = str(service["name"]), int(service["port"])
    rule: dict[str, Any] = {
        "http": {
            "paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": name, "port": {"name": "http"}}}}
            ]
        }
    }
    annotations = {"annotations": {TLS_CERTIFICATE_ANNOTATION: certificate}} if certificate else {}
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": metadata(name, **annotations),
            "spec": {
                "ingressClassName": ingress_class,
                **({"tls": [{"hosts": [host], "secretName": f"keyvault-{name}"}]} if certificate else {}),
                "rules": [{**({"host": host} if host else {}), **rule}],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(f"{name}-allow-ingress-controller"),
            "spec": {
                # The controllers of both classes run in the add-on's namespace; nothing else outside may come in.
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": INGRESS_NAMESPACE}}}
                        ],
                        "ports": [{"protocol": "TCP", "port": port}],
                    }
                ],
            },
        },
    ]


def _one_way(
    policy_name: str, metadata: Any, selector: dict[str, str], *, direction: str, peer: str, port: int
) -> dict[str, Any]:
    """A policy opening one path for the service's pods: from (Ingress) or to (Egress) `peer`'s pods on `port`."""
    rule = {"from" if direction == "Ingress" else "to": [_namespace_pods(peer)]}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(policy_name),
        "spec": {
            "podSelector": {"matchLabels": selector},
            "policyTypes": [direction],
            direction.lower(): [{**rule, "ports": [{"protocol": "TCP", "port": port}]}],
        },
    }


def _traffic_between_services(service: dict[str, Any], metadata: Any, selector: dict[str, str]) -> list[dict[str, Any]]:
    """Both ends of every declared call: the callee admits exactly the caller's pods, the caller may reach exactly
    the callee's pods on its port; every other path stays closed by `default-deny`."""
    name, port = str(service["name"]), int(service["port"])
    admitted = [
        _one_way(f"{name}-allow-from-{caller}", metadata, selector, direction="Ingress", peer=caller, port=port)
        for caller in service.get("callers", [])
    ]
    reaching = [
        _one_way(
            f"{name}-allow-egress-to-{call['service']}",
            metadata,
            selector,
            direction="Egress",
            peer=call["service"],
            port=int(call["port"]),
        )
        for call in service.get("calls", [])
    ]
    return [*admitted, *reaching]


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    # A JSON string is a YAML double-quoted scalar: every value keeps its type and no string reads as a number.
    return json.dumps(str(value))


def _key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) else json.dumps(key)


def _yaml(node: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, (dict, list)) and value:
                lines.append(f"{pad}{_key(key)}:")
                lines.extend(_yaml(value, indent + 2))
            else:
                empty = "{}" if isinstance(value, dict) else "[]"
                lines.append(f"{pad}{_key(key)}: {empty if isinstance(value, (dict, list)) else _scalar(value)}")
    else:
        for item in node:
            if isinstance(item, (dict, list)) and item:
                nested = _yaml(item, indent + 2)
                lines.append(f"{pad}- {nested[0].lstrip()}")
                lines.extend(nested[1:])
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    return lines


def document_stream(objects: list[dict[str, Any]]) -> str:
    """The objects as one YAML stream in block style. KubernetesManifest@1 reads any YAML: its deploy parses the
    stream and pins images on the parsed workload objects (azure-pipelines-tasks Tasks/KubernetesManifestV1/src/utils/
    DeploymentHelper.ts `updateResourceObjects`, KubernetesObjectUtility.ts `updateImageDetails`), so block style is
    for the reviewer of the artifact, and every scalar is typed explicitly so the parse yields these objects."""
    return "".join("---\n" + "\n".join(_yaml(item, 0)) + "\n" for item in objects)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=STAGES)
    parser.add_argument("--registry", required=True, help="the login server the stage's cluster pulls from")
    parser.add_argument("--connection-string", required=True, help="the Application Insights connection string")
    parser.add_argument("--output", required=True)
    parser.add_argument(
        "--private-https", action="append", default=[], help="a private range HTTPS out may reach (repeatable)"
    )
    arguments = parser.parse_args(argv)
    service = json.loads(os.environ["SERVICE_MANIFEST"])
    objects = manifests(
        service, arguments.stage, arguments.registry, arguments.connection_string, tuple(arguments.private_https)
    )
    text = document_stream(objects)
    with open(arguments.output, "w", encoding="utf-8") as output:
        output.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
