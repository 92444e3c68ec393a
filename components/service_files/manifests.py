"""The Kubernetes manifests CD applies to each cluster: a hardened Deployment and its Service, autoscaler, disruption
budget, and network policies that open exactly the declared paths."""

from __future__ import annotations

from typing import Any

from components.service_files.ci import image_repository
from components.service_files.layout import (
    APPINSIGHTS_KEY,
    APPINSIGHTS_MOUNT,
    APPINSIGHTS_SECRET_NAME,
    INGRESS_NAMESPACE,
    INTERNAL_INGRESS_CLASS,
    PRIVATE_RANGES,
    PUBLIC_INGRESS_CLASS,
    RUN_AS_ID,
    TLS_CERTIFICATE_ANNOTATION,
    UNPINNED_IMAGE_TAG,
)
from components.service_files.spec import ServiceSpec


def kubernetes_manifest(service: ServiceSpec, login_server: str) -> list[dict[str, Any]]:
    name = service.name
    selector = {"app.kubernetes.io/name": name}
    labels = {**selector, "app.kubernetes.io/part-of": "aks-estate"}

    def metadata(resource_name: str, **extra: Any) -> dict[str, Any]:
        return {"name": resource_name, "namespace": name, "labels": labels, **extra}

    non_root = {"runAsNonRoot": True, "runAsUser": RUN_AS_ID, "runAsGroup": RUN_AS_ID}
    runtime_default_seccomp = {"seccompProfile": {"type": "RuntimeDefault"}}
    container = {
        # `name` first, the order Kubernetes itself writes and readers expect.
        "name": name,
        "image": f"{image_repository(login_server, service)}:{UNPINNED_IMAGE_TAG}",
        # With a digest reference `Always` costs only a manifest check, and the kubelet re-checks pull access.
        "imagePullPolicy": "Always",
        "ports": [{"name": "http", "containerPort": service.port, "protocol": "TCP"}],
        "env": [
            {"name": "SERVICE_NAME", "value": name},
            {"name": "PORT", "value": str(service.port)},
            {"name": "APPLICATIONINSIGHTS_CONNECTION_STRING_FILE", "value": f"{APPINSIGHTS_MOUNT}/{APPINSIGHTS_KEY}"},
        ],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "http"},
            "initialDelaySeconds": 5,
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "resources": {
            "requests": {"cpu": service.cpu_request, "memory": service.memory_request},
            "limits": {"cpu": service.cpu_limit, "memory": service.memory_limit},
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
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108
            {"name": "appinsights", "mountPath": APPINSIGHTS_MOUNT, "readOnly": True},
        ],
    }
    deployment = {
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
            # No `replicas`: the HorizontalPodAutoscaler owns the count, and re-applying a fixed number on every
            # deployment would undo its scaling.
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": name,
                    "automountServiceAccountToken": False,
                    # The kubelet hands secret-volume files to the pod's fsGroup (group-owned, group-readable); with
                    # no fsGroup it leaves them root:root and the non-root process cannot read them (kubernetes
                    # pkg/volume/volume_linux.go, SetVolumeOwnership: "If fsGroup is nil nothing is done").
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
                    "volumes": [
                        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                        # The stack writes this secret into every service namespace; a file, not an env var, keeps
                        # it out of the pod spec. Optional: without it the service runs, without telemetry.
                        {
                            "name": "appinsights",
                            "secret": {"secretName": APPINSIGHTS_SECRET_NAME, "optional": True, "defaultMode": 0o440},
                        },
                    ],
                },
            },
        },
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": metadata(name),
            # The service never calls the Kubernetes API.
            "automountServiceAccountToken": False,
        },
        deployment,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(name),
            "spec": {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": service.port, "targetPort": "http", "protocol": "TCP"}],
            },
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": metadata(name),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": service.replicas,
                "maxReplicas": service.max_replicas,
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
            "spec": {
                # One pod at a time at any scale the HPA reaches, and never a budget that blocks node drains (cluster
                # upgrades) the way `minAvailable: <replicas>` would.
                "maxUnavailable": 1,
                "selector": {"matchLabels": selector},
            },
        },
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
                "ingress": [{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": service.port}]}],
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
                # Application Insights ingestion is a public HTTPS endpoint; nothing else leaves, and nothing inside
                # the private ranges is reachable this way.
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}}],
                        "ports": [{"protocol": "TCP", "port": 443}],
                    }
                ],
            },
        },
        *_traffic_in(service, metadata, selector),
        *_traffic_between_services(service, metadata, selector),
    ]


def _namespace_pods(namespace: str) -> dict[str, Any]:
    """Pods of a service in its own namespace: the namespace by its immutable name label, the pods by their name."""
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": namespace}},
    }


def _traffic_in(service: ServiceSpec, metadata: Any, selector: dict[str, str]) -> list[dict[str, Any]]:
    if service.expose is None:
        return []
    rule: dict[str, Any] = {
        "http": {
            "paths": [
                {
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": {"service": {"name": service.name, "port": {"name": "http"}}},
                }
            ]
        }
    }
    ingress: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata(
            service.name,
            **(
                {"annotations": {TLS_CERTIFICATE_ANNOTATION: service.tls_certificate_uri}}
                if service.tls_certificate_uri
                else {}
            ),
        ),
        "spec": {
            "ingressClassName": PUBLIC_INGRESS_CLASS if service.expose == "public" else INTERNAL_INGRESS_CLASS,
            **(
                {"tls": [{"hosts": [service.host], "secretName": f"keyvault-{service.name}"}]}
                if service.tls_certificate_uri
                else {}
            ),
            "rules": [{**({"host": service.host} if service.host else {}), **rule}],
        },
    }
    return [
        ingress,
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(f"{service.name}-allow-ingress-controller"),
            "spec": {
                # The controllers of both classes run in the add-on's namespace; nothing else outside may come in.
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": INGRESS_NAMESPACE}}}
                        ],
                        "ports": [{"protocol": "TCP", "port": service.port}],
                    }
                ],
            },
        },
    ]


def _traffic_between_services(service: ServiceSpec, metadata: Any, selector: dict[str, str]) -> list[dict[str, Any]]:
    """Both ends of every declared call: the callee admits exactly the caller's pods, the caller may reach exactly
    the callee's pods on its port; every other path stays closed by `default-deny`."""
    admitted = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(f"{service.name}-allow-from-{caller}"),
            "spec": {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [_namespace_pods(caller)], "ports": [{"protocol": "TCP", "port": service.port}]}],
            },
        }
        for caller in service.callers
    ]
    reaching = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(f"{service.name}-allow-egress-to-{callee}"),
            "spec": {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Egress"],
                "egress": [{"to": [_namespace_pods(callee)], "ports": [{"protocol": "TCP", "port": port}]}],
            },
        }
        for callee, port in service.calls
    ]
    return [*admitted, *reaching]
