"""One microservice as its files need it, validated on construction: the rules Kubernetes and the pipelines impose."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_LABEL_MAX = 63
_MIN_UNPRIVILEGED_PORT = 1024
_MAX_PORT = 65535
_QUANTITY = re.compile(r"^(?P<number>[0-9]+(\.[0-9]+)?)(?P<suffix>m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_QUANTITY_FACTORS: dict[str, Decimal] = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    **{suffix: Decimal(1000) ** power for power, suffix in enumerate("kMGTPE", start=1)},
    **{f"{suffix}i": Decimal(1024) ** power for power, suffix in enumerate("KMGTPE", start=1)},
}
# Key Vault secret names: alphanumerics and '-'; a leading letter keeps the derived environment variable name valid.


SERVICE_PARAMETER = "${{ parameters.service }}"
PORT_PARAMETER = "${{ parameters.port }}"
MANIFEST_PARAMETER = "manifest"


@dataclass(frozen=True)
class TemplateService:
    """A service as the shared templates see it: the entry pipeline's parameters, one template per build kind."""

    build: Literal["python", "container"]
    name: str = SERVICE_PARAMETER
    port: str = PORT_PARAMETER


@dataclass(frozen=True)
class ServiceSpec:
    """One microservice: its name is also its repository, its Kubernetes namespace and its image repository."""

    name: str
    port: int = 8080
    replicas: int = 2
    max_replicas: int = 5
    cpu_request: str = "100m"
    cpu_limit: str = "500m"
    memory_request: str = "128Mi"
    memory_limit: str = "256Mi"
    # How CI builds and tests it: the Python toolchain on the agent, or the Dockerfile's own stages (any language).
    build: Literal["python", "container"] = "python"
    # Traffic in: through the application routing add-on's public or internal controller; None keeps it in-cluster.
    expose: Literal["public", "internal"] | None = None
    # Production's host, and a Key Vault certificate's URI (`https://<vault>.vault.azure.net/certificates/<name>`)
    # served for it; staging's own pair, never production's (the add-on copies a served certificate into the
    # namespace, which in staging a service's own tests may read).
    host: str | None = None
    tls_certificate_uri: str | None = None
    staging_host: str | None = None
    staging_tls_certificate_uri: str | None = None
    # Traffic between services: the (name, port) of each service this one calls, and the names of those calling it.
    calls: tuple[tuple[str, int], ...] = ()
    callers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.name) > _DNS_LABEL_MAX or not _DNS_LABEL.match(self.name):
            raise ValueError(
                f"ServiceSpec.name: {self.name!r} must be a DNS-1123 label (1-63 lowercase alphanumerics and '-', "
                "starting and ending with an alphanumeric): it names the Kubernetes namespace"
            )
        if not _MIN_UNPRIVILEGED_PORT <= self.port <= _MAX_PORT:
            raise ValueError(
                f"ServiceSpec.port: {self.port} must be between {_MIN_UNPRIVILEGED_PORT} and {_MAX_PORT}: the "
                "container runs as non-root with every capability dropped, so it cannot bind a privileged port"
            )
        if self.replicas < 1:
            raise ValueError(f"ServiceSpec.replicas: {self.replicas} must be at least 1")
        if self.max_replicas < self.replicas:
            raise ValueError(
                f"ServiceSpec.max_replicas: {self.max_replicas} must be at least replicas ({self.replicas})"
            )
        self._check_ingress()
        for peer in (*(name for name, _ in self.calls), *self.callers):
            if not _DNS_LABEL.match(peer) or peer == self.name:
                raise ValueError(f"ServiceSpec.calls/callers: {peer!r} must be another service's name")
        for request, limit in (("cpu_request", "cpu_limit"), ("memory_request", "memory_limit")):
            if _quantity(self, request) > _quantity(self, limit):
                raise ValueError(
                    f"ServiceSpec.{request}: {getattr(self, request)!r} must not exceed {limit} "
                    f"({getattr(self, limit)!r}); Kubernetes rejects such a pod"
                )

    def _check_ingress(self) -> None:
        pairs = {
            "": (self.host, self.tls_certificate_uri),
            "staging_": (self.staging_host, self.staging_tls_certificate_uri),
        }
        for prefix, (host, certificate) in pairs.items():
            if (host or certificate) and self.expose is None:
                raise ValueError(f"ServiceSpec.{prefix}host: {host!r} needs expose: only an exposed service has one")
            if certificate and not host:
                raise ValueError(
                    f"ServiceSpec.{prefix}tls_certificate_uri: a certificate is served for a host; set {prefix}host"
                )
        if self.staging_tls_certificate_uri and self.staging_tls_certificate_uri == self.tls_certificate_uri:
            raise ValueError(
                "ServiceSpec.staging_tls_certificate_uri: production's certificate; staging serves one of its own"
            )


def _quantity(service: ServiceSpec, field_name: str) -> Decimal:
    value: str = getattr(service, field_name)
    match = _QUANTITY.match(value)
    if match is None or Decimal(match["number"]) == 0:
        raise ValueError(
            f"ServiceSpec.{field_name}: {value!r} must be a positive Kubernetes quantity such as '250m', '1', '128Mi'"
        )
    return Decimal(match["number"]) * _QUANTITY_FACTORS[match["suffix"] or ""]
