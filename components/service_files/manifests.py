"""A service's Kubernetes manifests: the parameters its CI entry pipeline passes, and the templates repository's own
renderer (pipelines/platform/manifests/render.py, standard library only) loaded from this checkout, so the stack, the
tests and CI's `Manifests` job render with the same code."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from functools import cache
from types import ModuleType
from typing import Any

from components.service_files.layout import MANIFEST_RENDERER, PLATFORM_SOURCE_DIR
from components.service_files.spec import ServiceSpec


@cache
def renderer() -> ModuleType:
    path = PLATFORM_SOURCE_DIR / MANIFEST_RENDERER
    spec = importlib.util.spec_from_file_location("aks_estate_manifest_renderer", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the manifest renderer at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def manifest_parameters(service: ServiceSpec, telemetry_client_ids: Mapping[str, str]) -> dict[str, Any]:
    """The `manifest` parameter of the service's CI entry pipeline: everything its manifests are made of."""
    return {
        "name": service.name,
        "port": service.port,
        "replicas": service.replicas,
        "maxReplicas": service.max_replicas,
        "resources": {
            "cpuRequest": service.cpu_request,
            "cpuLimit": service.cpu_limit,
            "memoryRequest": service.memory_request,
            "memoryLimit": service.memory_limit,
        },
        **({"expose": service.expose} if service.expose else {}),
        **({"host": service.host} if service.host else {}),
        **({"tlsCertificateUri": service.tls_certificate_uri} if service.tls_certificate_uri else {}),
        # Beside production's keys, not in their place: until `templatesRelease` moves, CI renders with the previous
        # renderer, which reads `host` and `tlsCertificateUri` only.
        **({"stagingHost": service.staging_host} if service.staging_host else {}),
        **(
            {"stagingTlsCertificateUri": service.staging_tls_certificate_uri}
            if service.staging_tls_certificate_uri
            else {}
        ),
        "calls": [{"service": callee, "port": port} for callee, port in service.calls],
        "callers": list(service.callers),
        "telemetryClientIds": dict(telemetry_client_ids),
    }


def ingress_class(service: ServiceSpec, stage: str) -> str | None:
    """The class the renderer gives the service's Ingress in `stage`; None for a service without one."""
    if service.expose is None:
        return None
    return str(renderer().served(manifest_parameters(service, {}), stage)[2])


def kubernetes_manifest(
    parameters: Mapping[str, Any],
    stage: str,
    login_server: str,
    connection_string: str,
    private_https: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """What CI's `Manifests` job writes for `stage`, as objects."""
    documents: list[dict[str, Any]] = renderer().manifests(
        dict(parameters), stage, login_server, connection_string, private_https
    )
    return documents
